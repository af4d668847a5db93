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
import re
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
    """None: Postfix evaluates this rule (see _Oracle)."""
    second: Translated | None
    enclosing: tuple[int, ...]  # indices (into _PatternEngine.ifs) of enclosing IFs
    max_sub: int


class _Oracle:
    """Asks postmap about one rule at a time (a one-line copy of the table), for the rules
    whose patterns we do not translate.  Answers are cached per (rule text, key)."""

    def __init__(self, type: str, config_dir: str | Path | None) -> None:
        self.type = type
        self.config_dir = config_dir
        self.cache: dict[tuple[str, str], str | None] = {}

    def prefetch(self, rule_text: str, keys: list[str]) -> None:
        todo = [k for k in keys if (rule_text, k) not in self.cache]
        if not todo:
            return
        one = Table.parse(rule_text + "\n", self.type, "rule")
        batchable = [k for k in todo if k and "\n" not in k and "\t" not in k]
        got = postmap_batch(one, batchable, self.config_dir) if batchable else {}
        for k in todo:
            if k in got:
                m = got[k]
                self.cache[(rule_text, k)] = m.value if m else None
            else:
                m = postmap_single(one, k, self.config_dir)
                self.cache[(rule_text, k)] = m.value if m else None

    def ask(self, rule_text: str, key: str) -> str | None:
        if (rule_text, key) not in self.cache:
            self.prefetch(rule_text, [key])
        return self.cache[(rule_text, key)]


def live_rules(table: Table, skipped: frozenset[int]) -> list[Line]:
    """The entries, ifs and endifs Postfix uses, in order (``skipped``: lines it refused);
    an ENDIF with no IF left to close is dropped, as Postfix does."""
    lines = [ln for ln in table.lines if ln.is_rule and not ln.skipped
             and ln.lineno not in skipped]
    _, orphans = nesting(lines)
    dead = {id(ln) for ln in orphans}
    return [ln for ln in lines if id(ln) not in dead]


class _PatternEngine:
    def __init__(self, table: Table, skipped: frozenset[int],
                 config_dir: str | Path | None) -> None:
        self.dialect = table.type
        self.oracle = _Oracle(table.type, config_dir)
        self.rules: list[_Rule] = []
        # (translated or None, negated, text for the oracle)
        self.ifs: list[tuple[Translated | None, bool, str]] = []
        self.oracle_texts: list[str] = []
        self.reasons: list[str] = []
        stack: list[int] = []
        for ln in live_rules(table, skipped):
            if ln.kind is Kind.IF:
                assert ln.pattern is not None
                tr = self._tr(ln.pattern)
                text = f"{ln.pattern.source} X"
                if tr is None:
                    self.oracle_texts.append(text)
                self.ifs.append((tr, ln.pattern.negated, text))
                stack.append(len(self.ifs) - 1)
            elif ln.kind is Kind.ENDIF:
                stack.pop()
            else:
                assert ln.pattern is not None
                max_sub = max_replacement_index(ln.action)
                first = self._tr(ln.pattern)
                second = self._tr(ln.second) if ln.second else None
                if first is not None and max_sub and (
                        not first.captures_safe or max_sub > first.groups):
                    self.reasons.append(f"line {ln.lineno}: $number substitution")
                    first = None
                if ln.second is not None and second is None:
                    first = None
                if first is None:
                    self.oracle_texts.append(ln.text)
                self.rules.append(_Rule(ln, first, second, tuple(stack), max_sub))
        self._build_index()

    def _tr(self, p: Pattern) -> Translated | None:
        try:
            return translate(p, self.dialect)
        except Untranslatable as exc:
            self.reasons.append(f"{p.source}: {exc}")
            return None

    def prefetch(self, keys: list[str]) -> None:
        for text in self.oracle_texts:
            self.oracle.prefetch(text, keys)

    # Index pieces are the pattern's required literal cut into GRAM-byte pieces (shorter
    # literals are one piece): long pieces are rare, so a key runs few patterns.
    GRAM = 8

    def _build_index(self) -> None:
        def grams(lit: bytes) -> list[bytes]:
            n = min(len(lit), self.GRAM)
            return [lit[i : i + n] for i in range(len(lit) - n + 1)] if n >= 3 else []

        # Patterns that must match for rule r to match: its own (unless negated) and those
        # of the plain "if /x/" blocks around it.  Index r under the rarest piece of any.
        musts: list[list[Translated]] = []
        for r in self.rules:
            assert r.line.pattern is not None
            need = [r.first] if r.first is not None and not r.line.pattern.negated else []
            need += [tr for tr, neg, _ in (self.ifs[k] for k in r.enclosing)
                     if tr is not None and not neg]
            musts.append([t for t in need if grams(t.literal)])
        freq: Counter[bytes] = Counter()
        for need in musts:
            for t in need:
                freq.update(set(grams(t.literal)))
        self.index_ci: dict[bytes, list[int]] = {}
        self.index_cs: dict[bytes, list[int]] = {}
        self.always: list[int] = []
        lengths: set[int] = set()
        for i, need in enumerate(musts):
            if not need:
                self.always.append(i)
                continue
            best, icase = min(((g, t.icase) for t in need for g in grams(t.literal)),
                              key=lambda x: freq[x[0]])
            lengths.add(len(best))
            (self.index_ci if icase else self.index_cs).setdefault(best, []).append(i)
        self.lengths = sorted(lengths)

    def candidates(self, key: bytes) -> list[int]:
        low = key.lower()
        seen: set[int] = set(self.always)
        ci, cs = self.index_ci, self.index_cs
        n = len(key)
        for size in self.lengths:
            for i in range(n - size + 1):
                if ci:
                    hit = ci.get(low[i : i + size])
                    if hit:
                        seen.update(hit)
                if cs:
                    hit = cs.get(key[i : i + size])
                    if hit:
                        seen.update(hit)
        return sorted(seen)

    @staticmethod
    def _hit(tr: Translated, negated: bool, key: bytes) -> bool:
        return (tr.regex.search(key) is not None) != negated

    def _if_holds(self, k: int, key: bytes, key_text: str) -> bool:
        tr, neg, text = self.ifs[k]
        if tr is None:
            return self.oracle.ask(text, key_text) is not None
        return self._hit(tr, neg, key)

    def query(self, key_text: str) -> Match | None:
        key = key_text.encode("utf-8", errors="surrogateescape")
        if_cache: dict[int, bool] = {}
        for i in self.candidates(key):
            r = self.rules[i]
            ok = True
            for k in r.enclosing:
                if k not in if_cache:
                    if_cache[k] = self._if_holds(k, key, key_text)
                if not if_cache[k]:
                    ok = False
                    break
            if not ok:
                continue
            assert r.line.pattern is not None
            if r.first is None:
                value = self.oracle.ask(r.line.text, key_text)
                if value is not None:
                    return Match(value, r.line.lineno)
                continue
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


_REF = re.compile(r"\$(?:\{(\d+)\}|\((\d+)\)|(\d+))")


def _expand(action: str, match: re.Match[bytes] | None) -> str:
    """Postfix's $number substitution (mac_parse): $$ -> $, $n/${n}/$(n) -> group n or ""."""
    out = []
    i = 0
    while i < len(action):
        if action.startswith("$$", i):
            out.append("$")
            i += 2
            continue
        ref = _REF.match(action, i) if action[i] == "$" else None
        if ref is None:
            out.append(action[i])
            i += 1
            continue
        n = int(next(g for g in ref.groups() if g is not None))
        group = match.group(n) if match is not None else None
        if group:
            out.append(group.decode("utf-8", errors="surrogateescape"))
        i = ref.end()
    return "".join(out)


class _CidrEngine:
    def __init__(self, table: Table, skipped: frozenset[int]) -> None:
        self.rules: list[tuple[Line, ipaddress.IPv4Network | ipaddress.IPv6Network, bool,
                               tuple[int, ...]]] = []
        self.ifs: list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, bool]] = []
        stack: list[int] = []
        for ln in live_rules(table, skipped):
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
                    self._fixed.setdefault(_fold(ln.key), Match(ln.action, ln.lineno))
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
            return self._fixed.get(_fold(key))
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
    address = _fold(address)

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


def host_search_keys(name: str | None, addr: str | None = None, *, fixed: bool = True,
                     parent_domain_matches_subdomains: bool = True) -> list[str]:
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


def access_lookup(table: Table | Simulator, address: str, kind: str = "sender", *,
                  parent_domain_matches_subdomains: bool = True, recipient_delimiter: str = "",
                  null_key: str = "<>", myorigin: str | None = None,
                  client_address: str | None = None) -> LookupResult | None:
    """What ``check_<kind>_access TYPE:TABLE`` finds for ``address`` (None: nothing, the
    restriction list goes on).  ``kind``: ``sender`` or ``recipient`` (a mail address),
    ``client`` (``address`` = client hostname, ``client_address`` = its IP) or ``helo``.
    ``postmap -q`` folds only keys of indexed tables, but smtpd lower-cases sender and
    recipient addresses before any lookup (see ``search_keys``)."""
    sim = table if isinstance(table, Simulator) else Simulator(table)
    if kind in ("client", "helo"):
        # ``address`` is the client hostname ("unknown" without reverse DNS) or HELO name.
        keys = host_search_keys(address, client_address if kind == "client" else None,
                                fixed=sim.table.is_fixed,
                                parent_domain_matches_subdomains=parent_domain_matches_subdomains)
    else:
        keys = search_keys(address, kind, fixed=sim.table.is_fixed,
                           parent_domain_matches_subdomains=parent_domain_matches_subdomains,
                           recipient_delimiter=recipient_delimiter, null_key=null_key,
                           myorigin=myorigin)
    for k in keys:
        m = sim.query(k)
        if m is not None:
            return LookupResult(m.value, k, m.line)
    return None
