"""Look a key up in a table the way Postfix does: ``postmap -q`` or smtpd's access(5) search.

The simulator evaluates fixed tables (hash, texthash...) and cidr tables in Python, and regexp
/pcre tables by translating each pattern (``translate``); a table with any pattern it cannot
translate is handed to ``postmap -q -`` in one batch instead.  Which lines count is decided by
Postfix when it is installed (a line it refuses is skipped, exactly as smtpd skips it).

Speed: a 10k-line regexp table is not scanned rule by rule for every key.  Each pattern's
longest required literal (``translate.Translated.literal``) is indexed by one of its
three-byte pieces; a key only runs the patterns whose piece occurs in it, plus those without
one (negated patterns, short literals), in table order.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pfwizard import postfix
from pfwizard.tables.model import (
    INDEXED_TYPES,
    Kind,
    Line,
    Pattern,
    Table,
    max_replacement_index,
    nesting,
)
from pfwizard.tables.translate import Translated, Untranslatable, translate


@dataclass(frozen=True)
class Match:
    value: str
    line: int
    """Line number of the entry that answered (0 when postmap answered for a whole table)."""


@dataclass(frozen=True)
class LookupResult:
    """What smtpd found for an access(5) search."""

    action: str
    matched_key: str
    """The lookup key that matched (``user@example.com``, ``example.com``, ``user@``, ``<>``)."""
    line: int


def _fold(key: str) -> str:
    # Postfix folds fixed-table keys with casefold() when UTF-8 is on; for ASCII that is lower().
    return key.lower() if key.isascii() else key.casefold()


@dataclass
class _Rule:
    line: Line
    first: Translated | None
    second: Translated | None
    enclosing: tuple[int, ...]  # indices (into _PatternEngine.ifs) of enclosing IFs
    max_sub: int


class _PatternEngine:
    def __init__(self, table: Table, skipped: frozenset[int]) -> None:
        self.dialect = table.type
        self.rules: list[_Rule] = []
        self.ifs: list[tuple[Translated, bool]] = []
        lines = [ln for ln in table.lines if ln.is_rule and not ln.skipped
                 and ln.lineno not in skipped]
        _, orphans = nesting(lines)
        dead = {id(ln) for ln in orphans}
        stack: list[int] = []
        for ln in lines:
            if id(ln) in dead:
                continue
            if ln.kind is Kind.IF:
                assert ln.pattern is not None
                self.ifs.append((self._tr(ln.pattern), ln.pattern.negated))
                stack.append(len(self.ifs) - 1)
            elif ln.kind is Kind.ENDIF:
                stack.pop()
            else:
                assert ln.pattern is not None
                max_sub = max_replacement_index(ln.action)
                first = self._tr(ln.pattern)
                if max_sub and (not first.captures_safe or max_sub > first.groups):
                    raise Untranslatable("$number substitution")
                second = self._tr(ln.second) if ln.second else None
                self.rules.append(_Rule(ln, first, second, tuple(stack), max_sub))
        self._build_index()

    def _tr(self, p: Pattern) -> Translated:
        return translate(p, self.dialect)

    def _build_index(self) -> None:
        def grams(lit: bytes) -> list[bytes]:
            return [lit[i : i + 3] for i in range(len(lit) - 2)]

        freq: Counter[bytes] = Counter()
        for r in self.rules:
            if r.first and not r.line.pattern.negated:  # type: ignore[union-attr]
                freq.update(set(grams(r.first.literal)))
        self.index_ci: dict[bytes, list[int]] = {}
        self.index_cs: dict[bytes, list[int]] = {}
        self.always: list[int] = []
        for i, r in enumerate(self.rules):
            assert r.first is not None and r.line.pattern is not None
            g = grams(r.first.literal)
            if r.line.pattern.negated or not g:
                self.always.append(i)
                continue
            best = min(g, key=lambda x: freq[x])
            (self.index_ci if r.first.icase else self.index_cs).setdefault(best, []).append(i)

    def candidates(self, key: bytes) -> list[int]:
        low = key.lower()
        seen: set[int] = set(self.always)
        ci, cs = self.index_ci, self.index_cs
        for i in range(len(key) - 2):
            if ci:
                hit = ci.get(low[i : i + 3])
                if hit:
                    seen.update(hit)
            if cs:
                hit = cs.get(key[i : i + 3])
                if hit:
                    seen.update(hit)
        return sorted(seen)

    @staticmethod
    def _hit(tr: Translated, negated: bool, key: bytes) -> bool:
        return (tr.regex.search(key) is not None) != negated

    def query(self, key_text: str) -> Match | None:
        key = key_text.encode("utf-8", errors="surrogateescape")
        if_cache: dict[int, bool] = {}
        for i in self.candidates(key):
            r = self.rules[i]
            ok = True
            for k in r.enclosing:
                if k not in if_cache:
                    tr, neg = self.ifs[k]
                    if_cache[k] = self._hit(tr, neg, key)
                if not if_cache[k]:
                    ok = False
                    break
            if not ok:
                continue
            assert r.first is not None and r.line.pattern is not None
            m = r.first.regex.search(key)
            if (m is not None) == r.line.pattern.negated:
                continue
            if r.second is not None and r.line.second is not None and not self._hit(
                    r.second, r.line.second.negated, key):
                continue
            return Match(_expand(r.line.action, m) if r.max_sub else _literal(r.line.action),
                         r.line.lineno)
        return None


def _literal(action: str) -> str:
    return action.replace("$$", "$")


def _expand(action: str, m: object) -> str:
    """Postfix's $number substitution (mac_parse): $$ -> $, $n/${n}/$(n) -> group n or ""."""
    import re as _re

    match = m  # re.Match[bytes]
    out = []
    i = 0
    while i < len(action):
        c = action[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        if action.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        mm = _re.compile(r"\$(?:\{(\d+)\}|\((\d+)\)|(\d+))").match(action, i)
        assert mm is not None
        n = int(next(g for g in mm.groups() if g is not None))
        grp = match.group(n) if match is not None else None  # type: ignore[attr-defined]
        if grp:
            out.append(grp.decode("utf-8", errors="surrogateescape"))
        i = mm.end()
    return "".join(out)


class _CidrEngine:
    def __init__(self, table: Table, skipped: frozenset[int]) -> None:
        self.rules: list[tuple[Line, ipaddress.IPv4Network | ipaddress.IPv6Network, bool,
                               tuple[int, ...]]] = []
        self.ifs: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, bool]] = []
        lines = [ln for ln in table.lines if ln.is_rule and not ln.skipped
                 and ln.lineno not in skipped]
        _, orphans = nesting(lines)
        dead = {id(ln) for ln in orphans}
        stack: list[int] = []
        for ln in lines:
            if id(ln) in dead:
                continue
            if ln.kind is Kind.ENDIF:
                stack.pop()
                continue
            assert ln.pattern is not None
            net = parse_network(ln.pattern.body)
            if net is None:
                raise Untranslatable(f"network {ln.pattern.body!r}")
            if ln.kind is Kind.IF:
                self.ifs.append((net, ln.pattern.negated))
                stack.append(len(self.ifs) - 1)
            else:
                self.rules.append((ln, net, ln.pattern.negated, tuple(stack)))

    def query(self, key: str) -> Match | None:
        addr = parse_address(key)
        if addr is None:
            return None

        def hit(net: ipaddress.IPv4Network | ipaddress.IPv6Network, neg: bool) -> bool:
            inside = addr.version == net.version and addr in net
            return inside != neg

        for ln, net, neg, enclosing in self.rules:
            if all(hit(*self.ifs[k]) for k in enclosing) and hit(net, neg):
                return Match(ln.action, ln.lineno)
        return None


def _strip_brackets(text: str) -> str:
    return text[1:-1] if text.startswith("[") and text.endswith("]") else text


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Lookup keys are bare addresses: only table patterns may be written in brackets.
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """A cidr_table(5) pattern: address or address/prefix with no host bits set."""
    body = text
    if "/" in text:
        addr, _, plen = text.rpartition("/")
        body = _strip_brackets(addr) + "/" + plen
    else:
        body = _strip_brackets(text)
    try:
        return ipaddress.ip_network(body, strict=True)
    except ValueError:
        return None


class Simulator:
    """Answers lookups for one table like Postfix would.

    ``config_dir``: where to find main.cf for the Postfix commands (a temporary one is used
    when None).  ``ask_postfix``: let Postfix decide which lines it ignores (default when
    Postfix is installed); without it, the parser's prediction is used."""

    def __init__(self, table: Table, config_dir: str | Path | None = None, *,
                 ask_postfix: bool | None = None) -> None:
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
                self._engine = _PatternEngine(table, skipped)
            elif table.type == "cidr":
                self._engine = _CidrEngine(table, skipped)
            else:
                self._fixed = {}
                for ln in table.entries:
                    if ln.skipped or ln.lineno in skipped:
                        continue
                    # postmap folds keys on build; the first of duplicate keys wins.
                    self._fixed.setdefault(_fold(ln.key), Match(ln.action, ln.lineno))
        except Untranslatable as exc:
            self.fallback_reason = str(exc)
            self._engine = None

    @property
    def uses_postmap(self) -> bool:
        return self.fallback_reason is not None

    def query(self, key: str) -> Match | None:
        """One lookup with the key as given, exactly like ``postmap -q KEY``."""
        if self.uses_postmap:
            return postmap_single(self.table, key, self.config_dir)
        if self._fixed is not None:
            return self._fixed.get(_fold(key))
        assert self._engine is not None
        return self._engine.query(key)

    def query_many(self, keys: Iterable[str]) -> dict[str, Match | None]:
        """Many lookups; a table we cannot evaluate goes to ``postmap -q -`` in one run."""
        keys = list(dict.fromkeys(keys))
        if not self.uses_postmap:
            return {k: self.query(k) for k in keys}
        return postmap_batch(self.table, keys, self.config_dir)


def postmap_batch(table: Table, keys: list[str], config_dir: str | Path | None = None
                  ) -> dict[str, Match | None]:
    """``postmap -q - TYPE:COPY`` for many keys at once (keys must not hold tab or newline)."""
    from pfwizard.tables.validate import _scratch

    bad = [k for k in keys if "\n" in k or "\t" in k or not k]
    if bad:
        raise ValueError(f"cannot batch key {bad[0]!r} (tab, newline or empty)")
    with _scratch(table, config_dir) as (conf, copy):
        spec = f"{table.type}:{copy}"
        if table.type in INDEXED_TYPES:
            postfix.postmap(conf, spec)
        res = postfix.postmap(conf, "-q", "-", spec, input="".join(k + "\n" for k in keys),
                              timeout=3600)
    out: dict[str, Match | None] = dict.fromkeys(keys)
    lines = res.stdout.split("\n")
    j = 0
    # Answers come in key order, one "key<TAB>value" line per key found.
    for k in keys:
        if j < len(lines) and lines[j].startswith(k + "\t"):
            out[k] = Match(lines[j][len(k) + 1 :], 0)
            j += 1
    return out


def postmap_single(table: Table, key: str, config_dir: str | Path | None = None
                   ) -> Match | None:
    """``postmap -q KEY TYPE:COPY`` on a temporary copy of the table."""
    from pfwizard.tables.validate import _scratch

    with _scratch(table, config_dir) as (conf, copy):
        spec = f"{table.type}:{copy}"
        if table.type in INDEXED_TYPES:
            postfix.postmap(conf, spec)
        res = postfix.postmap(conf, "-q", key, spec)
    if res.returncode != 0:
        return None
    return Match(res.stdout[:-1] if res.stdout.endswith("\n") else res.stdout, 0)


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
    dot_string = bool(local) and not local.startswith(".") and not local.endswith(".") and \
        ".." not in local and not any(c in specials or c == " " or ord(c) < 32 or ord(c) == 127
                                      for c in local)
    if dot_string:
        return addr
    quoted = "".join("\\" + c if c in '"\\\r' else c for c in local)
    return f'"{quoted}"{rest}'


def search_keys(address: str, kind: str = "sender", *, fixed: bool = True,
                parent_domain_matches_subdomains: bool = True, recipient_delimiter: str = "",
                null_key: str = "<>", myorigin: str | None = None) -> list[str]:
    """The keys smtpd tries, in order, for check_<kind>_access with ``address``.

    Follows smtpd_check.c/mail_addr_find.c (Postfix 3.6/3.7): the null sender is one lookup of
    ``smtpd_null_access_lookup_key``; otherwise the full address (quoted form first), then for
    fixed tables only: the address without extension, the domain and its parents
    (``example.com``, ``com`` or ``.example.com``, ``.com`` per
    ``parent_domain_matches_subdomains``), ``user+ext@`` and ``user@``."""
    if kind == "sender" and address == "":
        return [null_key]
    if "@" not in address:
        if myorigin is None:
            return []  # smtpd warns "no @domain in address" and skips the table
        address = f"{address}@{myorigin}"

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


def access_lookup(table: Table | Simulator, address: str, kind: str = "sender", *,
                  parent_domain_matches_subdomains: bool = True, recipient_delimiter: str = "",
                  null_key: str = "<>", myorigin: str | None = None) -> LookupResult | None:
    """What ``check_<kind>_access TYPE:TABLE`` finds for ``address`` (None: nothing, the
    restriction list goes on).  Indexed tables fold the key to lower case; regexp/pcre don't."""
    sim = table if isinstance(table, Simulator) else Simulator(table)
    keys = search_keys(address, kind, fixed=sim.table.is_fixed,
                       parent_domain_matches_subdomains=parent_domain_matches_subdomains,
                       recipient_delimiter=recipient_delimiter, null_key=null_key,
                       myorigin=myorigin)
    for k in keys:
        m = sim.query(k)
        if m is not None:
            return LookupResult(m.value, k, m.line)
    return None
