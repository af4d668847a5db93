"""The evaluators behind the simulator: regexp/pcre rules (translated patterns, or postmap
for the ones we do not translate), cidr networks, and postmap itself on a temporary copy.

Speed: a 10k-line regexp table is not scanned rule by rule for every key.  Each rule is
indexed under the rarest piece (up to 8 bytes) of a literal that any match must contain (its
own, or that of an ``if`` around it); a key only runs the rules whose piece occurs in it, plus
those with none (negated patterns, short literals), in table order.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pfwizard import postfix
from pfwizard.indexfiles import INDEXED_TYPES
from pfwizard.tables.model import (
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
    lines = [ln for ln in table.lines if ln.is_rule and not ln.skipped and ln.lineno not in skipped]
    _, orphans = nesting(lines)
    dead = {id(ln) for ln in orphans}
    return [ln for ln in lines if id(ln) not in dead]


class _PatternEngine:
    def __init__(
        self, table: Table, skipped: frozenset[int], config_dir: str | Path | None
    ) -> None:
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
                if (
                    first is not None
                    and max_sub
                    and (not first.captures_safe or max_sub > first.groups)
                ):
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
            need += [
                tr
                for tr, neg, _ in (self.ifs[k] for k in r.enclosing)
                if tr is not None and not neg
            ]
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
            best, icase = min(
                ((g, t.icase) for t in need for g in grams(t.literal)), key=lambda x: freq[x[0]]
            )
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
            if (
                r.second is not None
                and r.line.second is not None
                and not self._hit(r.second, r.line.second.negated, key)
            ):
                continue
            return Match(
                _expand(r.line.action, m) if r.max_sub else _literal(r.line.action), r.line.lineno
            )
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
        self.rules: list[
            tuple[Line, ipaddress.IPv4Network | ipaddress.IPv6Network, bool, tuple[int, ...]]
        ] = []
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


def postmap_batch(
    table: Table, keys: list[str], config_dir: str | Path | None = None
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
        res = postfix.postmap(
            conf, "-q", "-", spec, input="".join(k + "\n" for k in keys), timeout=3600
        )
    out: dict[str, Match | None] = dict.fromkeys(keys)
    lines = res.stdout.split("\n")
    j = 0
    # Answers come in key order, one "key<TAB>value" line per key found.
    for k in keys:
        if j < len(lines) and lines[j].startswith(k + "\t"):
            out[k] = Match(lines[j][len(k) + 1 :], 0)
            j += 1
    return out


def postmap_single(table: Table, key: str, config_dir: str | Path | None = None) -> Match | None:
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
