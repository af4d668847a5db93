"""Adopting hand-made customisations that a MiaB setup run commented out (before pfwizard).

MiaB's setup leaves the admin's old value in main.cf, next to its own line: as a commented-out
line (``#smtpd_recipient_restrictions = ...``) and, for a multi-line value, as continuation
lines glued onto MiaB's new value. Lines in MiaB's own form (``#name=value``, no spaces) are
its trail of old values and are never taken for the admin's. ``find_adoptions`` reads the
admin's back and turns each into operations relative to the MiaB chain it was most likely
made on (the known MiaB value closest to it), so ``restore`` replays it like any other.
It proposes; the admin (``restore --adopt``) decides, and sees the plan before any write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pfwizard import miab
from pfwizard.chain import Chain
from pfwizard.intent.glued import value_without_glue
from pfwizard.intent.model import ChainIntent
from pfwizard.intent.record import diff_chains
from pfwizard.maincf import LineKind, MainCf

_WS = " \t\n\v\f\r"


@dataclass(frozen=True)
class Adoption:
    intent: ChainIntent
    old_value: str
    """The admin's value as found in main.cf (comment plus glued lines)."""
    line: int
    """1-based line of the commented-out definition."""

    def describe(self) -> str:
        ops = "; ".join(o.describe() for o in self.intent.operations)
        return (f"{self.intent.parameter}: your old value (commented out on line {self.line}) "
                f"read back as: {ops}")


def _known_values(cf: MainCf, name: str) -> list[Chain]:
    values = [v[name] for v in miab.RELEASE_CHAINS.values() if name in v]
    now = value_without_glue(cf, name)
    if now is not None:
        values.append(now)
    return [Chain.parse(v) for v in dict.fromkeys(values)]


def _old_value(cf: MainCf, name: str) -> tuple[str, int] | None:
    """The admin's commented-out value of ``name`` right below MiaB's line, with its glued
    continuation lines; None if there is none (or it is one of MiaB's own old values)."""
    d = cf.last_definition(name)
    if d is None:
        return None
    lines = cf.lines
    names = re.compile(r"[ \t]*#[ \t]*" + re.escape(name) + r"[ \t]*=(.*)\Z")
    known = [c.items for c in _known_values(cf, name)]
    # MiaB writes `name=value` and comments its own old line by prefixing '#': that exact
    # form is MiaB's trail (of releases pfwizard may not know), never taken for the admin's.
    miab_trail = "#" + name + "="
    k = d.index + 1
    while k < len(lines) and lines[k].kind in (LineKind.COMMENT, LineKind.CONTINUATION):
        m = names.match(lines[k].text)
        if m is not None and not lines[k].text.startswith(miab_trail):
            parts = [m.group(1)]
            j = k + 1
            while j < len(lines) and lines[j].kind is LineKind.CONTINUATION:
                parts.append(lines[j].text)
                j += 1
            value = "".join(parts).strip(_WS)
            if Chain.parse(value).items not in known:
                return value, k + 1
        k += 1
    return None


def find_adoptions(cf: MainCf, skip: set[str] | frozenset[str] = frozenset()) -> list[Adoption]:
    """Customisations of MiaB's chains that its setup commented out, as intent."""
    found: list[Adoption] = []
    for name in miab.MANAGED_CHAINS:
        if name in skip:
            continue
        old = _old_value(cf, name)
        if old is None:
            continue
        value, line = old
        target = Chain.parse(value)
        bases = _known_values(cf, name)

        def distance(base: Chain, target: Chain = target) -> int:
            return len(set(base.items) ^ set(target.items))

        base = min(bases, key=distance)
        why = f"adopted from main.cf line {line} (your value before a MiaB setup run)"
        ops = [replace(o, why=why) for o in diff_chains(name, base, target)]
        if ops:
            found.append(Adoption(ChainIntent(name, base, ops), value, line))
    return found
