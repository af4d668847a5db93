"""Postfix's warnings, folded: one line per kind of warning, with how often it came.

``postconf`` and ``postfix check`` repeat a warning once per service and per map that uses the
same file: MiaB's main.cf on a machine without its sqlite maps gives 64 lines of the same four
warnings. Shown one by one they bury the step they belong to; ``fold(lines)`` gives one
``Repeated`` per kind (the same text once paths and numbers are set aside), most frequent
first, each keeping its distinct lines for whoever asks to see them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_PROGRAM_RE = re.compile(r"^(?:/\S+/)?(\S+?): ")
_QUOTED_PATH_RE = re.compile(r'"(?:/|[a-z]+:/)[^"]*"')
_PATH_RE = re.compile(r"(?<![\w\"])/[\w./-]+")
_NUMBER_RE = re.compile(r"\d+")


@dataclass
class Repeated:
    """One kind of warning."""

    example: str
    """The first line of this kind in sorted order, without the program's directory."""
    count: int = 0
    """Lines of this kind, repeats included."""
    distinct: list[str] = field(default_factory=list)
    """Each different line once, sorted."""

    def summary(self) -> str:
        if self.count == 1:
            return self.example
        others = len(self.distinct)
        alike = f"{others} different" if others > 1 else "all the same"
        return f"{self.count} x {self.example}  ({alike})"


def _short(line: str) -> str:
    """``/usr/sbin/postconf: warning: ...`` -> ``postconf: warning: ...``."""
    m = _PROGRAM_RE.match(line)
    return f"{m.group(1)}: {line[m.end() :]}" if m and "/" in m.group(0) else line


def shape(line: str) -> str:
    """What lines of the same kind share: the text with paths and numbers set aside."""
    text = _QUOTED_PATH_RE.sub('"..."', _short(line))
    return _NUMBER_RE.sub("0", _PATH_RE.sub("...", text))


def fold(lines: Iterable[str]) -> list[Repeated]:
    kinds: dict[str, Repeated] = {}
    for raw in lines:
        line = raw.rstrip()
        if not line.strip():
            continue
        short = _short(line)
        kind = kinds.setdefault(shape(line), Repeated(short))
        kind.count += 1
        if short not in kind.distinct:
            kind.distinct.append(short)
    # Sorted, not in the order they came: Postfix walks its maps in an order that changes
    # from run to run, and the same warnings should read the same each time.
    for kind in kinds.values():
        kind.distinct.sort()
        kind.example = kind.distinct[0]
    return sorted(kinds.values(), key=lambda k: (-k.count, k.example))


def total(kinds: Iterable[Repeated]) -> int:
    return sum(k.count for k in kinds)
