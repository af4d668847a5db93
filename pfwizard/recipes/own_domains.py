"""Recipe 2: reject outsiders who use your own domains as envelope sender.

The table holds ``domain REJECT text`` for every mail domain of the box, read from the box
itself: the domains Postfix already knows through ``virtual_mailbox_domains`` (literal names,
listable tables, or on MiaB an sqlite lookup whose candidates are confirmed with ``postmap -q``
against the very table Postfix uses).

Placement is the point of this recipe. One forum admin put the check after
``permit_sasl_authenticated, permit_mynetworks`` in the sender list. MiaB's sender list has
neither permit, so the same line there would refuse every logged-in user sending as
themselves (the submission ports use the same lists). Two safe placements:

- ``recipient`` (default): in ``smtpd_recipient_restrictions`` right after MiaB's leading
  ``permit_sasl_authenticated, permit_mynetworks``: nothing in the sender list changes.
- ``sender``: in ``smtpd_sender_restrictions`` after ``reject_authenticated_sender_login_mismatch``,
  preceded by the two permits, so logged-in users are still checked for login mismatch first.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from pfwizard import inputs, postfix
from pfwizard.chain import Item
from pfwizard.engine import TableChange
from pfwizard.errors import ConfigError
from pfwizard.explain.causes import RECIPE_OWN_DOMAINS
from pfwizard.findings import Severity
from pfwizard.maincf import MainCf
from pfwizard.recipes.model import PlacementOption, Proposal, RecipeRefused, chain_of, own_table

RECIPIENT = "smtpd_recipient_restrictions"
SENDER = "smtpd_sender_restrictions"
PERMITS = ("permit_sasl_authenticated", "permit_mynetworks")
MISMATCH = "reject_authenticated_sender_login_mismatch"
TABLE_NAME = "own_domain_senders"
DEFAULT_TEXT = "Not authorised to send as a local address: log in first"
_DOMAIN_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
_LISTABLE_SOURCES = ("texthash", "hash", "btree", "lmdb", "cdb", "dbm")


def _words(value: str) -> list[str]:
    return [w for w in re.split(r"[\s,]+", value) if w]


def _table_keys(ref: str) -> list[str]:
    """Keys of a table Postfix reads from a text source (texthash, or hash & co's source)."""
    kind, _, path = ref.partition(":")
    if kind not in _LISTABLE_SOURCES:
        return []
    try:
        text = inputs.read_bytes(path, inputs.MAX_TABLE_BYTES, what="table").decode(
            "utf-8", errors="replace"
        )
    except ConfigError:
        return []
    keys = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#") and not line[0].isspace():
            keys.append(line.split()[0].lower())
    return keys


# In a sqlite_table(5) query, each "FROM table WHERE column = '%s'" (or LIKE '%%@%s') names
# a column whose values are the keys Postfix looks up.  MiaB's queries read users, aliases and
# auto_aliases (administrator@ and hostmaster@ the box's hostname, postmaster@ and abuse@ each
# domain); following the query, not a fixed list, keeps up with what a release adds.
_QUERY_KEY = re.compile(
    r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)\s+WHERE\s+([A-Za-z_][A-Za-z0-9_]*)"
    r"\s*(?:=|\bLIKE\b)\s*'(?:%%@)?%[su]'",
    re.IGNORECASE,
)


def query_columns(cf_text: str) -> list[tuple[str, str]]:
    """(table, column) pairs whose values a sqlite lookup .cf file's query compares with the
    key, in the order the query names them."""
    m = re.search(r"^\s*query\s*=\s*(.+(?:\n[ \t].*)*)", cf_text, re.MULTILINE)
    if not m:
        return []
    pairs: list[tuple[str, str]] = []
    for table, column in _QUERY_KEY.findall(m.group(1)):
        if (table, column) not in pairs:
            pairs.append((table, column))
    return pairs


def sqlite_addresses(ref: str) -> list[str]:
    """Every key a sqlite lookup can answer: the values of each column its .cf file's query
    compares with the key (MiaB: users.email, aliases.source, auto_aliases.source), read
    straight from the database (whether or not postfix-sqlite is installed here)."""
    _, _, cf_path = ref.partition(":")
    try:
        cf_text = inputs.read_bytes(
            cf_path, inputs.MAX_CONFIG_BYTES, what="lookup table configuration"
        ).decode("utf-8", errors="replace")
    except ConfigError:
        return []
    m = re.search(r"^\s*dbpath\s*=\s*(\S+)", cf_text, re.MULTILINE)
    if not m or not Path(m.group(1)).exists():
        return []
    out: set[str] = set()
    try:
        with sqlite3.connect(f"file:{m.group(1)}?mode=ro", uri=True) as db:
            for table, column in query_columns(cf_text):
                try:
                    # Names come from the admin's own .cf file and match [A-Za-z0-9_]+.
                    for (addr,) in db.execute(f'SELECT "{column}" FROM "{table}"'):
                        if addr is not None:
                            out.add(str(addr).lower())
                except sqlite3.Error:
                    continue
    except sqlite3.Error:
        return []
    return sorted(a for a in out if a)


def _sqlite_candidates(ref: str) -> list[str]:
    """MiaB: domains of every user and alias in the sqlite DB."""
    return sorted({a.rpartition("@")[2] for a in sqlite_addresses(ref)} - {""})


def box_domains(config_dir: Path | str) -> list[str]:
    """The mail domains this box receives for, as Postfix's virtual-domain lookup says."""
    res = postfix.postconf(config_dir, "-x", "-h", "virtual_mailbox_domains")
    value = res.stdout.strip() if res.ok else ""
    found: list[str] = []
    for word in _words(value):
        if ":" not in word:
            found.append(word.lower())
            continue
        candidates = _table_keys(word) or (
            _sqlite_candidates(word) if word.startswith(("sqlite:", "proxy:sqlite:")) else []
        )
        for cand in candidates:
            # Postfix is the authority: keep what its own lookup of this table confirms.
            q = postfix.postmap(config_dir, "-q", cand, word, timeout=15)
            if q.ok and q.stdout.strip():
                found.append(cand)
    return sorted({d for d in found if _DOMAIN_RE.match(d)})


def reject_own_domain_senders(
    cf: MainCf,
    config_dir: Path | str,
    domains: list[str] | None = None,
    placement: str = "recipient",
    text: str = DEFAULT_TEXT,
    map_type: str = "texthash",
) -> Proposal:
    domains = sorted(
        {d.lower() for d in (domains if domains is not None else box_domains(config_dir))}
    )
    if not domains:
        raise RecipeRefused("no mail domains found in virtual_mailbox_domains; give them")
    table = own_table(config_dir, TABLE_NAME)
    item = Item("check_sender_access", f"{map_type}:{table}")
    params: dict[str, str | None] = {}
    notes: list[str] = []
    if placement == "recipient":
        chain = chain_of(cf, RECIPIENT)
        lead = 0
        while lead < len(chain) and chain.items[lead].name in PERMITS:
            lead += 1
        missing = [p for p in PERMITS if p not in chain.names()[:lead]]
        for name in missing:
            chain.items.insert(lead, Item(name))
            lead += 1
        if missing:
            notes.append(
                f"{RECIPIENT} did not start with {', '.join(missing)}: added, so "
                f"logged-in users and mynetworks pass before the check."
            )
        chain.items.insert(lead, item)
        params[RECIPIENT] = chain.render()
    elif placement == "sender":
        chain = chain_of(cf, SENDER)
        at = chain.index_of(MISMATCH) + 1 if MISMATCH in chain.names() else 0
        if at == 0:
            notes.append(
                f"{SENDER} has no {MISMATCH}: with the permits first, logged-in "
                f"users may send as any address."
            )
        for k, new in enumerate([Item(PERMITS[0]), Item(PERMITS[1]), item]):
            chain.items.insert(at + k, new)
        params[SENDER] = chain.render()
    else:
        raise RecipeRefused(f"unknown placement {placement!r}")
    options = [
        PlacementOption(
            "recipient",
            f"in {RECIPIENT}, after permit_sasl_authenticated, permit_mynetworks",
            "Logged-in users and mynetworks are permitted before the check; outsiders using "
            "one of your domains as sender are refused at RCPT TO. The sender list is left "
            "as MiaB wrote it. Mail you receive through a forwarder that keeps your own "
            "address as envelope sender (some mailing lists, calendar invites you sent) is "
            "refused too.",
            Severity.CAUTION,
        ),
        PlacementOption(
            "sender",
            f"in {SENDER}, after {MISMATCH}, behind the two permits",
            f"Logged-in users still get {MISMATCH} first, then PERMIT ends the sender list "
            f"for them and for mynetworks (they skip what follows, e.g. reject_rhsbl_sender). "
            f"Never put the permits before {MISMATCH}: logged-in users could then send as "
            f"anyone.",
            Severity.CAUTION,
        ),
    ]
    content = "".join(f"{d} REJECT {text}\n" for d in domains)
    prop = Proposal(
        RECIPE_OWN_DOMAINS,
        "Reject outsiders using your own domains as sender",
        f"reject outside senders using {len(domains)} local domain(s) ({placement})",
        params=params,
        tables=[TableChange(table, content, map_type)],
        placements=options,
        placement=placement,
        notes=notes,
    )
    prop.notes.append(
        "A domain key also matches its subdomains (parent_domain_matches_"
        "subdomains includes smtpd_access_maps by default)."
    )
    return prop
