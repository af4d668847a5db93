"""Look a key up in a table the way Postfix does: ``postmap -q`` or smtpd's access(5) search.

The simulator evaluates fixed tables (hash, texthash...) and cidr tables in Python, and regexp
/pcre tables by translating each pattern (``translate``); the rules it cannot translate are
asked of ``postmap`` one at a time (``engines``).  Which lines count is decided by Postfix
when it is installed (a line it refuses is skipped, exactly as smtpd skips it).

The search order (``search_keys``, ``host_search_keys``) follows smtpd_check.c,
smtpd_resolve.c and mail_addr_find.c of Postfix 3.6/3.7, proven against a real smtpd on the
bench (tests/test_tables_bench.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pfwizard import postfix
from pfwizard.tables.engines import (
    Match,
    _CidrEngine,
    _PatternEngine,
    parse_address,
    parse_network,
    postmap_batch,
    postmap_single,
)
from pfwizard.tables.model import Table, fold_key
from pfwizard.tables.translate import Untranslatable

__all__ = [
    "LookupResult",
    "Match",
    "Simulator",
    "access_lookup",
    "host_search_keys",
    "parse_address",
    "parse_network",
    "postmap_batch",
    "postmap_query",
    "postmap_single",
    "search_keys",
]


@dataclass(frozen=True)
class LookupResult:
    """What smtpd found for an access(5) search."""

    action: str
    matched_key: str
    """The lookup key that matched (``user@example.com``, ``example.com``, ``user@``, ``<>``)."""
    line: int


class Simulator:
    """Answers lookups for one table like Postfix would.

    ``config_dir``: where to find main.cf for the Postfix commands (a temporary one is used
    when None).  ``ask_postfix``: let Postfix decide which lines it ignores (default when
    Postfix is installed); without it, the parser's prediction is used."""

    def __init__(
        self, table: Table, config_dir: str | Path | None = None, *, ask_postfix: bool | None = None
    ) -> None:
        from pfwizard.tables.validate import postfix_skipped

        self.table = table
        self.config_dir = config_dir
        if ask_postfix is None:
            ask_postfix = postfix.available()
        skipped = postfix_skipped(table, config_dir) if ask_postfix else frozenset()
        self.fallback_reason: str | None = None
        self._engine: _PatternEngine | _CidrEngine | None = None
        self._fixed: dict[str, Match] | None = None
        try:
            if table.is_pattern:
                self._engine = _PatternEngine(table, skipped, config_dir)
                if self._engine.oracle_texts:
                    self.fallback_reason = "; ".join(self._engine.reasons)
            elif table.type == "cidr":
                self._engine = _CidrEngine(table, skipped)
            else:
                self._fixed = {}
                for ln in table.entries:
                    if ln.skipped or ln.lineno in skipped:
                        continue
                    # postmap folds keys on build; the first of duplicate keys wins.
                    self._fixed.setdefault(fold_key(ln.key), Match(ln.action, ln.lineno))
        except Untranslatable as exc:
            self.fallback_reason = str(exc)
            self._engine = None

    @property
    def uses_postmap(self) -> bool:
        """Whether some (or all) of the answers come from postmap."""
        return self.fallback_reason is not None

    def query(self, key: str) -> Match | None:
        """One lookup with the key as given, exactly like ``postmap -q KEY``."""
        if self._engine is None and self._fixed is None:
            return postmap_single(self.table, key, self.config_dir)
        if self._fixed is not None:
            return self._fixed.get(fold_key(key))
        assert self._engine is not None
        return self._engine.query(key)

    def query_many(self, keys: Iterable[str]) -> dict[str, Match | None]:
        """Many lookups; a table we cannot evaluate goes to ``postmap -q -`` in one run."""
        keys = list(dict.fromkeys(keys))
        if self._engine is None and self._fixed is None:
            return postmap_batch(self.table, keys, self.config_dir)
        if isinstance(self._engine, _PatternEngine):
            self._engine.prefetch(keys)
        return {k: self.query(k) for k in keys}


def postmap_query(table: Table | Simulator, key: str) -> str | None:
    """The value ``postmap -q KEY TYPE:TABLE`` prints, or None when it finds nothing."""
    sim = table if isinstance(table, Simulator) else Simulator(table)
    m = sim.query(key)
    return m.value if m else None


# ---- smtpd's access(5) search -----------------------------------------------------------
def _quote_localpart(addr: str) -> str:
    """Postfix's quote_822_local(): quote a localpart that is not an RFC 822 dot-string."""
    at = addr.rfind("@")
    local, rest = (addr, "") if at < 0 else (addr[:at], addr[at:])
    specials = set('()<>@,;:\\"[]')
    dot_string = (
        bool(local)
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
        and not any(c in specials or c == " " or ord(c) < 32 or ord(c) == 127 for c in local)
    )
    if dot_string:
        return addr
    quoted = "".join("\\" + c if c in '"\\\r' else c for c in local)
    return f'"{quoted}"{rest}'


def search_keys(
    address: str,
    kind: str = "sender",
    *,
    fixed: bool = True,
    parent_domain_matches_subdomains: bool = True,
    recipient_delimiter: str = "",
    null_key: str = "<>",
    myorigin: str | None = None,
) -> list[str]:
    """The keys smtpd tries, in order, for check_<kind>_access with ``address``.

    Follows smtpd_check.c/smtpd_resolve.c/mail_addr_find.c (Postfix 3.6/3.7): the null sender
    is one lookup of ``smtpd_null_access_lookup_key``; otherwise the address is completed with
    ``@$myorigin`` and folded to lower case (even for regexp/pcre tables), then tried in full
    (quoted form first), then for
    fixed tables only: the address without extension, the domain and its parents
    (``example.com``, ``com`` or ``.example.com``, ``.com`` per
    ``parent_domain_matches_subdomains``), ``user+ext@`` and ``user@``."""
    if kind == "sender" and address == "":
        return [null_key]
    if "@" not in address:
        if myorigin is None:
            return []  # smtpd warns "no @domain in address" and skips the table
        address = f"{address}@{myorigin}"
    # smtpd_resolve.c: the resolved address is always case folded, for every table type
    # (so a case-sensitive regexp with capitals never matches a sender or recipient).
    address = fold_key(address)

    keys: list[str] = []

    def add(k: str) -> None:
        if k and k not in keys:
            keys.append(k)

    def full(a: str) -> None:
        add(_quote_localpart(a))
        add(a)

    at = address.rfind("@")
    local, domain = address[:at], address[at + 1 :]
    bare = None
    if recipient_delimiter and fixed:
        cut = min((local.find(d) for d in recipient_delimiter if d in local), default=-1)
        if cut > 0:
            bare = local[:cut] + "@" + domain
    full(address)
    if not fixed:
        return keys
    if bare:
        full(bare)
    name = domain
    while name:
        add(name)
        nxt = name.find(".", 1)
        if nxt < 0:
            break
        name = name[nxt + 1 :] if parent_domain_matches_subdomains else name[nxt:]
    add(_quote_localpart(local + "@"))
    add(local + "@")
    if bare:
        blocal = bare[: bare.rfind("@")]
        add(_quote_localpart(blocal + "@"))
        add(blocal + "@")
    return keys


def host_search_keys(
    name: str | None,
    addr: str | None = None,
    *,
    fixed: bool = True,
    parent_domain_matches_subdomains: bool = True,
) -> list[str]:
    """The keys smtpd tries for check_client_access (name, then address) and
    check_helo_access (name only): smtpd_check.c check_domain_access/check_addr_access.

    The name as given, then (fixed tables only) its parent domains unless it is a numeric
    address; a client without reverse DNS is looked up as ``unknown``.  Then the address and
    (fixed tables only) its networks: ``1.2.3.4``, ``1.2.3``, ``1.2``, ``1``."""
    keys: list[str] = []
    if name:
        keys.append(name)
        numeric = parse_address(name) is not None
        current = name
        while fixed and not numeric:
            nxt = current.find(".", 1)
            if nxt < 0:
                break
            current = current[nxt + 1 :] if parent_domain_matches_subdomains else current[nxt:]
            keys.append(current)
    if addr:
        keys.append(addr)
        delim = ":" if ":" in addr else "."
        current = addr
        while fixed and delim in current:
            current = current.rpartition(delim)[0]
            if current:
                keys.append(current)
    return keys


def access_lookup(
    table: Table | Simulator,
    address: str,
    kind: str = "sender",
    *,
    parent_domain_matches_subdomains: bool = True,
    recipient_delimiter: str = "",
    null_key: str = "<>",
    myorigin: str | None = None,
    client_address: str | None = None,
) -> LookupResult | None:
    """What ``check_<kind>_access TYPE:TABLE`` finds for ``address`` (None: nothing, the
    restriction list goes on).  ``kind``: ``sender`` or ``recipient`` (a mail address),
    ``client`` (``address`` = client hostname, ``client_address`` = its IP) or ``helo``.
    ``postmap -q`` folds only keys of indexed tables, but smtpd lower-cases sender and
    recipient addresses before any lookup (see ``search_keys``)."""
    sim = table if isinstance(table, Simulator) else Simulator(table)
    if kind in ("client", "helo"):
        # ``address`` is the client hostname ("unknown" without reverse DNS) or HELO name.
        keys = host_search_keys(
            address,
            client_address if kind == "client" else None,
            fixed=sim.table.is_fixed,
            parent_domain_matches_subdomains=parent_domain_matches_subdomains,
        )
    else:
        keys = search_keys(
            address,
            kind,
            fixed=sim.table.is_fixed,
            parent_domain_matches_subdomains=parent_domain_matches_subdomains,
            recipient_delimiter=recipient_delimiter,
            null_key=null_key,
            myorigin=myorigin,
        )
    for k in keys:
        m = sim.query(k)
        if m is not None:
            return LookupResult(m.value, k, m.line)
    return None
