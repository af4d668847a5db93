"""Adopting hand-made customisations that a MiaB setup run commented out (before pfwizard).

MiaB's setup leaves the admin's old value in main.cf, next to its own line: as a commented-out
line (``#smtpd_recipient_restrictions = ...``) and, for a multi-line value, as continuation
lines glued onto MiaB's new value. Lines in MiaB's own form (``#name=value``, no spaces) are
its trail of old values and are never taken for the admin's. ``find_adoptions`` reads the
admin's back and turns each into operations relative to the MiaB chain it was most likely
made on (the known MiaB value closest to it), so ``restore`` replays it like any other.
It proposes; the admin (``restore --adopt``) decides, and sees the plan before any write.

Once adopted, the old lines stay in main.cf as comments under a note (``adopted_note``): the
admin keeps the history, and a value under that note is never proposed again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from pfwizard import miab
from pfwizard.chain import Chain
from pfwizard.intent.glued import value_without_glue
from pfwizard.intent.model import ChainIntent
from pfwizard.intent.record import diff_chains
from pfwizard.kept_lines import KeptLines
from pfwizard.maincf import LineKind, MainCf, PhysicalLine

_WS = " \t\n\v\f\r"

ADOPTED_NOTE = "# adopted by pfwizard into "
"""How the note above adopted lines starts: lines under it were adopted already."""


def adopted_note(store_path: Path, day: date | None = None) -> str:
    """The comment pfwizard leaves above the lines it adopted, for the admin reading the file."""
    when = (day or date.today()).isoformat()
    return (
        f"{ADOPTED_NOTE}{store_path} on {when}: your setting below, commented out by a "
        "Mail-in-a-Box setup run, is kept there and `pfwizard restore` puts it back after "
        "upgrades; these lines stay for reference only"
    )


def under_note(lines: list[PhysicalLine], index: int) -> bool:
    """Whether the line at ``index`` (0-based) sits right under pfwizard's adoption note."""
    return index > 0 and lines[index - 1].text.startswith(ADOPTED_NOTE)


def commented_continuation(line: PhysicalLine) -> bool:
    """``#    permit_sasl_authenticated,``: a continuation line commented out (pfwizard's
    adoption does that to glued lines). An indent of a tab or two blanks tells it from a
    comment in words (``# disabled because ...``)."""
    rest = line.text[1:]
    return line.text.startswith("#") and rest.startswith(("\t", "  ")) and bool(rest.strip(_WS))


@dataclass(frozen=True)
class Adoption:
    """A hand-made main.cf value a MiaB setup run commented out, to take back."""

    intent: ChainIntent
    old_value: str
    """The admin's value as found in main.cf (comment plus glued lines)."""
    line: int
    """1-based line of the commented-out definition."""
    lines: tuple[int, ...] = ()
    """1-based lines holding the old value: the commented definition and its continuation
    lines (glued onto MiaB's value, or commented too)."""
    texts: tuple[str, ...] = ()

    def kept(self, note: str) -> KeptLines:
        """These lines kept as comments under ``note`` (instead of dropped as glue)."""
        return KeptLines("main.cf", self.lines, self.texts, note)

    def describe(self) -> str:
        ops = "; ".join(o.describe() for o in self.intent.operations)
        return (
            f"{self.intent.parameter}: your old value (commented out on line {self.line}) "
            f"read back as: {ops}"
        )


def _known_values(cf: MainCf, name: str) -> list[Chain]:
    values = [v[name] for v in miab.RELEASE_CHAINS.values() if name in v]
    now = value_without_glue(cf, name)
    if now is not None:
        values.append(now)
    return [Chain.parse(v) for v in dict.fromkeys(values)]


def _old_value(cf: MainCf, name: str) -> tuple[str, list[int]] | None:
    """The admin's commented-out value of ``name`` right below MiaB's line, with its glued
    (or commented) continuation lines, and their 0-based indexes; None if there is none (or
    it is one of MiaB's own old values, or pfwizard adopted it already)."""
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
            while j < len(lines) and (
                lines[j].kind is LineKind.CONTINUATION or commented_continuation(lines[j])
            ):
                text = lines[j].text
                parts.append(text[1:] if text.startswith("#") else text)
                j += 1
            value = "".join(parts).strip(_WS)
            if not under_note(lines, k) and Chain.parse(value).items not in known:
                return value, list(range(k, j))
            k = j
            continue
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
        value, indexes = old
        line = indexes[0] + 1
        target = Chain.parse(value)
        bases = _known_values(cf, name)

        def distance(base: Chain, target: Chain = target) -> int:
            return len(set(base.items) ^ set(target.items))

        base = min(bases, key=distance)
        why = f"adopted from main.cf line {line} (your value before a MiaB setup run)"
        ops = [replace(o, why=why) for o in diff_chains(name, base, target)]
        if ops:
            lines = cf.lines
            found.append(
                Adoption(
                    ChainIntent(name, base, ops),
                    value,
                    line,
                    tuple(i + 1 for i in indexes),
                    tuple(lines[i].text for i in indexes),
                )
            )
    return found
