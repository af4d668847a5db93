"""Which list and restriction produced a reject on THIS box's config, in plain words.

The reply text says which check fired (causes.py); the box's restriction lists say where that
check sits. Postfix evaluates, at RCPT TO with ``smtpd_delay_reject = yes``: client, HELO,
sender, relay, recipient lists, left to right; the first place in that order holding the
restriction is the one that answered.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from pfwizard import postfix
from pfwizard.explain.box import LISTS, BoxConfig, Placement
from pfwizard.explain.causes import (
    HEADER,
    MILTER,
    RECIPE_HELO_DNSBL,
    Cause,
    classify,
)
from pfwizard.explain.logline import RejectLine

# Which lists can have answered, by the SMTP command the reject answers.
_STAGE_LISTS = {
    "CONNECT": LISTS[:1],
    "HELO": LISTS[:2],
    "EHLO": LISTS[:2],
    "MAIL": LISTS[:3],
    "RCPT": LISTS[:5],
    "DATA": LISTS[5:6],
    "END-OF-MESSAGE": LISTS[6:7],
    "BDAT": LISTS[5:7],
}
_EARLY_LISTS = LISTS[:3]
# Refusals of an outside sender an admin may try to "whitelist" in postgrey.
_OUTSIDE_SENDER_CAUSES = frozenset(
    {
        "unknown-sender-domain",
        "non-fqdn-sender",
        "unverified-sender",
        "rhsbl-sender",
        "rhsbl-reverse-client",
        "rbl-client",
        "rhsbl-helo",
        "unknown-client-hostname",
        "unknown-reverse-client-hostname",
        "non-fqdn-helo",
        "invalid-helo",
        "unknown-helo",
        "sender-access",
        "client-access",
        "helo-access",
    }
)
_GREYLIST_RE = re.compile(r"postgrey|:10023\b", re.IGNORECASE)
_REJECTING_ACTION_RE = re.compile(
    r"^\s*(REJECT|DEFER|[45]\d\d\b|DEFER_IF_PERMIT|"
    r"DEFER_IF_REJECT|BCC_REJECT)",
    re.IGNORECASE,
)


@dataclass
class Explanation:
    """One reject, explained. ``placement`` is None when the box's config has no restriction
    that writes this text (then ``words`` says so)."""

    line: RejectLine
    cause: Cause
    placement: Placement | None
    words: str
    fix: str
    recipe: str | None
    notes: list[str] = field(default_factory=list)
    also: list[Placement] = field(default_factory=list)
    """Other places on this box holding the same restriction (not reached, or reached later)."""
    setting: str | None = None
    """For rejects that come from a parameter rather than a listed restriction."""
    table: str | None = None
    """For access tables: which table answered, and with what (found with postmap -q)."""

    @property
    def parameter(self) -> str | None:
        return self.placement.parameter if self.placement else None

    @property
    def restriction(self) -> str | None:
        return self.placement.item.name if self.placement else None

    @property
    def entry(self) -> str | None:
        return self.placement.item.render() if self.placement else None

    @property
    def explained(self) -> bool:
        return self.placement is not None or self.setting is not None

    @property
    def where(self) -> str:
        """``smtpd_sender_restrictions / reject_unknown_sender_domain``, or the setting."""
        if self.placement:
            return f"{self.placement.parameter} / {self.placement.item.name}"
        return self.setting or "(not found in this box's restriction lists)"

    def as_dict(self) -> dict[str, object]:
        return {
            "cause": self.cause.id,
            "parameter": self.parameter,
            "restriction": self.restriction,
            "entry": self.entry,
            "position": self.placement.position if self.placement else None,
            "setting": self.setting,
            "table": self.table,
            "words": self.words,
            "fix": self.fix,
            "recipe": self.recipe,
            "notes": list(self.notes),
            "also": [str(p) for p in self.also],
            "reply": self.line.reply,
            "stage": self.line.stage,
            "sender": self.line.sender,
            "recipient": self.line.recipient,
            "client": self.line.client_ip,
        }


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return f"{{{key}}}"


def _zone(arg: str | None) -> str:
    return (arg or "").split("=", 1)[0].lower()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _candidates(
    cause: Cause, parts: dict[str, str], box: BoxConfig, lists: tuple[str, ...]
) -> list[Placement]:
    found = box.find(*cause.restrictions, parameters=lists)
    zone = parts.get("zone", "").lower()
    if zone:
        found = [p for p in found if _zone(p.item.arg) == zone]
        if cause.id == "rbl-client":
            # "Client host [x] blocked": an address for reject_rbl_client, a name for rhsbl.
            want = "reject_rbl_client" if _is_ip(parts.get("name", "")) else "reject_rhsbl_client"
            found = [p for p in found if p.item.name == want] or found
    if cause.id == "greylisted":
        found = [p for p in found if _GREYLIST_RE.search(p.item.arg or "")] or found
    if cause.id == "over-quota":
        found = [p for p in found if "12340" in (p.item.arg or "")] or found
    return found


def _lookup_keys(kind: str, line: RejectLine) -> list[str]:
    """What smtpd's access(5) lookup tries, most specific first."""
    if kind in ("sender", "recipient"):
        addr = line.sender if kind == "sender" else line.recipient
        if not addr:
            return []
        keys = [addr]
        local, _, domain = addr.rpartition("@")
        labels = domain.split(".")
        keys += [".".join(labels[i:]) for i in range(len(labels) - 1)]
        if local:
            keys.append(f"{local}@")
        return keys
    if kind == "client":
        keys = [k for k in (line.client_name, line.client_ip) if k and k != "unknown"]
        octets = line.client_ip.split(".")
        if len(octets) == 4:
            keys += [".".join(octets[:i]) for i in (3, 2, 1)]
        return keys
    if kind == "helo":
        return [line.helo] if line.helo else []
    return []


def _which_table(
    cause: Cause, line: RejectLine, placements: list[Placement], config_dir: str
) -> tuple[Placement, str] | None:
    """Ask each candidate table (postmap -q) which one holds a rejecting entry for this line."""
    if not cause.lookup or not config_dir or not postfix.available():
        return None
    keys = _lookup_keys(cause.lookup, line)
    for p in placements:
        if not p.item.name.startswith("check_") or p.item.name == "check_policy_service":
            continue
        table = p.item.arg or ""
        regexp_like = table.split(":", 1)[0] in ("regexp", "pcre")
        for key in keys[:1] if regexp_like else keys:
            try:
                res = postfix.postmap(config_dir, "-q", key, table, timeout=10)
            except Exception:  # a broken table must not stop an explanation
                break
            answer = res.stdout.strip()
            if res.ok and answer and _REJECTING_ACTION_RE.match(answer):
                return p, f"{table} answered '{answer}' for '{key}'"
    return None


def explain(line: RejectLine, box: BoxConfig) -> Explanation:
    """Explain one reject line with the restriction lists of ``box``."""
    box = box.for_syslog_name(line.syslog_name)
    cause, parts = classify(line)
    lists = _STAGE_LISTS.get(line.stage.upper(), LISTS)
    if not box.delay_reject and line.stage.upper() == "RCPT":
        lists = LISTS[3:5]
    placements = _candidates(cause, parts, box, lists) if cause.restrictions else []
    placement = placements[0] if placements else None
    table_note = None
    if cause.lookup and placements:
        hit = _which_table(cause, line, placements, box.config_dir)
        if hit:
            placement, table_note = hit
    setting = None
    if placement is None and cause.implicit:
        setting = _setting(cause, box)
    fields = _Fields(
        sender=line.sender or "<>",
        recipient=line.recipient or "(unknown)",
        client=f"{line.client_name}[{line.client_ip}]",
        helo=line.helo or "(none)",
        sender_domain=line.sender.rpartition("@")[2] or "(none)",
        reason=line.reason,
        table=(table_note or (placement.item.arg if placement else None) or "the table"),
        parameter=placement.parameter if placement else (setting or "the list"),
        entry=placement.item.render() if placement else "the restriction",
    )
    fields.update(parts)
    words = cause.words.format_map(fields)
    if line.temporary and cause.id not in ("greylisted",):
        words += (
            " The code is temporary (4xx): the sending server keeps the message and "
            "retries for a few days, then gives up and bounces it to its sender."
        )
    exp = Explanation(
        line,
        cause,
        placement,
        words,
        cause.fix.format_map(fields),
        cause.recipe,
        setting=setting,
        table=table_note,
    )
    if placement is not None:
        exp.also = [p for p in placements if p != placement]
    elif not setting and cause.restrictions:
        names = ", ".join(cause.restrictions[:3])
        exp.notes.append(
            f"None of {names} is in this box's restriction lists ({box.syslog_name} service, "
            f"read with {box.source}): the line comes from another configuration, or the "
            f"config changed since it was logged."
        )
    _add_notes(exp, box)
    return exp


def _setting(cause: Cause, box: BoxConfig) -> str | None:
    name = cause.implicit or ""
    if cause is MILTER:
        return f"smtpd_milters = {box.get('smtpd_milters') or '(empty)'}"
    if cause is HEADER:
        # The log names the cleanup program, not the master.cf service: list every source.
        where = [f"main.cf: {box.get('header_checks')}"] if box.get("header_checks") else []
        where += [
            f"{svc.split('/')[0]} in master.cf: {opts['header_checks']}"
            for svc, opts in sorted(box.services.items())
            if opts.get("header_checks")
        ]
        return "header_checks (" + ("; ".join(where) or "not set: the config changed?") + ")"
    value = box.get(name)
    return f"{name} = {value}" if value else name


def _add_notes(exp: Explanation, box: BoxConfig) -> None:
    p = exp.placement
    line = exp.line
    if p and p.parameter in _EARLY_LISTS and line.stage.upper() == "RCPT" and box.delay_reject:
        exp.notes.append(
            f"The log says 'RCPT from' although the refusal comes from {p.parameter}: with "
            "smtpd_delay_reject = yes (the default) Postfix evaluates the client, HELO and "
            "sender restrictions only when the RCPT TO command arrives."
        )
    if p and exp.cause.id in _OUTSIDE_SENDER_CAUSES:
        order = list(box.placements())
        at = order.index(p) if p in order else -1
        later = [g for g in order[at + 1 :] if g.item.name == "check_policy_service"]
        # Name postgrey when it can be recognised (MiaB: port 10023), else the first policy.
        later.sort(key=lambda g: not _GREYLIST_RE.search(g.item.arg or ""))
        if later:
            g = later[0]
            exp.notes.append(
                f"A postgrey whitelist (whitelist_clients) does not help here: the greylisting "
                f"policy service is asked by {g.item.render()} at item {g.position} of "
                f"{g.parameter}, but this mail was refused earlier, by {p.item.name} in "
                f"{p.parameter}, so Postfix never asked it: evaluation stops at the first "
                f"REJECT."
            )
    if (
        p
        and exp.recipe == RECIPE_HELO_DNSBL
        and p.item.arg
        and "=" not in p.item.arg
        and exp.cause.id.startswith(("rbl", "rhsbl"))
    ):
        exp.notes.append(
            f"{p.item.render()} has no reply filter: any answer from {_zone(p.item.arg)} "
            f"counts as 'listed', including the 127.255.255.x error codes Spamhaus returns "
            f"to queries through public resolvers. Add a filter "
            f"(e.g. {_zone(p.item.arg)}=127.0.0.[2..11])."
        )
    if exp.also and p:
        others = "; ".join(f"{o.parameter} item {o.position}" for o in exp.also)
        exp.notes.append(
            f"{p.item.name} also appears at: {others} (reached only if this one "
            f"lets the mail through)."
        )
