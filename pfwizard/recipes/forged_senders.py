"""Recipe 5: stop outgoing mail whose From: is a local address nobody owns.

A pcre ``header_checks`` table, one line per local domain, refusing ``From:`` headers with an
address in that domain that is not one of the box's real mailboxes or aliases. Tested the way
the seed does, with sample headers through ``postmap -q - pcre:FILE``.

Where it is hooked matters, and is why the seed's table "worked with postmap but Postfix was
not filtering": ``header_checks`` in main.cf applies to the default ``cleanup`` service (port
25 and local ``sendmail``/pickup: a forum admin's infected PHP scripts). On MiaB, mail from
logged-in users (submission/smtps) goes through the ``authclean`` cleanup, whose master.cf
``-o header_checks=pcre:/etc/postfix/outgoing_mail_header_filters`` replaces main.cf's value:
the ``authclean`` placement adds the table there too, after MiaB's own filter, as a master.cf
edit that goes through the engine like the rest (MiaB resets it on upgrade; ``pfwizard
restore`` puts it back).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from pfwizard import postfix
from pfwizard.allowlist import postmap_query
from pfwizard.engine import TableChange
from pfwizard.explain.causes import RECIPE_FORGED_LOCAL
from pfwizard.findings import Severity
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf
from pfwizard.recipes.model import PlacementOption, Proposal, RecipeRefused, own_table
from pfwizard.recipes.own_domains import sqlite_addresses

TABLE_NAME = "forged_local_senders"
REPLY = "REJECT forged local sender"
AUTHCLEAN = ("authclean", "unix")
"""MiaB's cleanup service for mail from logged-in users (submission and smtps)."""
# What may sit right before an address in a From: header.
_DELIM = r"""[\s<"',:;(]"""
_LOCAL_CHARS = r"""[^\s<>"',:;()@]"""
# Tables ``postmap -s`` can list (indexed ones and texthash).
_LISTABLE = ("texthash", "hash", "btree", "lmdb", "cdb", "dbm")
MAILBOX_PARAMS = ("virtual_mailbox_maps", "virtual_alias_maps")


def box_mailboxes(config_dir: Path | str) -> list[str]:
    """The box's real addresses: keys of ``virtual_mailbox_maps`` and ``virtual_alias_maps``.

    Listable tables are read with ``postmap -s`` (Postfix's own reading of them); MiaB's
    sqlite lookups are read from the database their .cf file names. Catch-alls (``@domain``)
    and other keys without a local part are left out: they name no one to allow.
    """
    res = postfix.postconf(config_dir, "-x", "-h", *MAILBOX_PARAMS)
    refs = [w for w in re.split(r"[\s,]+", res.stdout) if ":" in w] if res.ok else []
    found: set[str] = set()
    for ref in refs:
        kind = ref.split(":", 1)[0]
        if kind in _LISTABLE:
            listed = postfix.postmap(config_dir, "-s", ref, timeout=15)
            keys = (
                [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
                if listed.ok
                else []
            )
        elif kind == "sqlite":
            keys = sqlite_addresses(ref)
        else:
            continue
        found.update(k.lower() for k in keys if re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", k))
    return sorted(found)


def _pcre_escape(text: str) -> str:
    return re.sub(r"([^A-Za-z0-9_-])", r"\\\1", text)


def table_lines(addresses: Iterable[str]) -> list[str]:
    """One pcre line per domain: a From: address in that domain that is not one of ours."""
    by_domain: dict[str, set[str]] = {}
    for addr in addresses:
        local, _, domain = addr.strip().strip("<>").lower().rpartition("@")
        if local and domain:
            by_domain.setdefault(domain, set()).add(local)
    lines = []
    for domain in sorted(by_domain):
        dom = _pcre_escape(domain)
        users = "|".join(_pcre_escape(u) for u in sorted(by_domain[domain]))
        # The address starts after a delimiter (so "xmick" is not "mick"); "+ext" is allowed;
        # the domain must end there (so box.example.com.evil is another domain).
        lines.append(
            f"/^From:(?:.*{_DELIM})?(?!(?:{users})(?:\\+{_LOCAL_CHARS}*)?@{dom}(?![\\w.-]))"
            f"{_LOCAL_CHARS}+@{dom}(?![\\w.-])/ {REPLY}"
        )
    return lines


def try_headers(table_text: str, headers: list[str]) -> dict[str, str]:
    """``postmap -q - pcre:FILE`` with sample header lines: {header: action} for matches."""
    answers, errors = postmap_query(table_text, headers, map_type="pcre")
    if errors:
        raise ValueError("; ".join(errors))
    return answers


def authclean_edit(config_dir: Path | str, ref: str) -> dict[str, str | None]:
    """``master_params`` adding ``ref`` to authclean's own header_checks, after what is
    there (MiaB's filter); empty if it is there already or authclean has none of its own
    (then main.cf's header_checks, which the recipe sets, applies to it too)."""
    path = Path(config_dir) / "master.cf"
    master = MasterCf.of_config_dir(config_dir)
    if master.find(*AUTHCLEAN) is None:
        raise RecipeRefused(
            f"{path} has no authclean cleanup service: that is Mail-in-a-Box's path for "
            "mail from logged-in users, and this box does not have it. Use the main-cf "
            "placement: it covers every path through the default cleanup."
        )
    current = master.get_option(*AUTHCLEAN, "header_checks")
    if current is None or ref in re.split(r"[\s,]+", current):
        return {}
    key = "/".join((*AUTHCLEAN, "header_checks"))
    return {key: f"{current},{ref}" if current.strip() else ref}


def forged_local_senders(
    cf: MainCf,
    config_dir: Path | str,
    addresses: Iterable[str] | None = None,
    hook: str = "main-cf",
) -> Proposal:
    """``addresses`` default to the box's own (``box_mailboxes``), so nobody types them."""
    if addresses is None:
        addresses = box_mailboxes(config_dir)
        if not addresses:
            raise RecipeRefused(
                "no mailboxes found in virtual_mailbox_maps or "
                "virtual_alias_maps; give the addresses"
            )
    addresses = list(addresses)
    lines = table_lines(addresses)
    if not lines:
        raise ValueError("no local addresses given: the table would refuse nobody")
    table = own_table(config_dir, TABLE_NAME)
    text = (
        "# pfwizard: From: addresses in local domains that are not real mailboxes or "
        "aliases\n" + "\n".join(lines) + "\n"
    )
    params: dict[str, str | None] = {}
    current = cf.get("header_checks") or ""
    ref = f"pcre:{table}"
    if ref not in current:
        params["header_checks"] = f"{current}, {ref}" if current.strip() else ref
    if hook == "authclean":
        master = authclean_edit(config_dir, ref)
    elif hook == "main-cf":
        master = {}
    else:
        raise ValueError(f"unknown hook {hook!r}")
    options = [
        PlacementOption(
            "main-cf",
            "header_checks in main.cf (cleanup: port 25 and local sendmail)",
            "Catches scripts on the box sending through sendmail and outsiders "
            "forging your users in From:. Does NOT apply to logged-in users on MiaB: their "
            "mail goes through authclean, whose own header_checks replace this one. A "
            "REJECT here comes after DATA: local scripts' mail bounces to their sender.",
            Severity.CAUTION,
        ),
        PlacementOption(
            "authclean",
            "also in MiaB's authclean service (master.cf, submission path)",
            "Also stops logged-in users (or a stolen password) sending with a made-up local "
            "From:. master.cf's authclean entry is MiaB-managed: every MiaB upgrade (or "
            "setup run) resets it and the filter silently stops for logged-in users until "
            "`pfwizard restore` puts it back.",
            Severity.CAUTION,
        ),
    ]
    notes = [
        "pcre tables ignore case by default (the i flag turns that off).",
        "Add every alias users send as: an address missing from the list is refused.",
    ]
    return Proposal(
        RECIPE_FORGED_LOCAL,
        "Stop outgoing mail with forged local senders",
        f"header_checks refusing From: addresses not among {len(addresses)} "
        f"local mailboxes/aliases ({hook})",
        params=params,
        tables=[TableChange(table, text, "pcre")],
        placements=options,
        placement=hook,
        notes=notes,
        master_params=master,
    )
