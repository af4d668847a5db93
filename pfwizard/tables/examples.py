"""Make a key a regexp/pcre pattern matches, to prove a lint finding with ``postmap -q``.

Only the common subset (literals, escapes, classes, groups, alternation, quantifiers, anchors)
is handled; anything else gives None and the finding goes without a proof key.  Every key
made here is checked against the simulator by the caller before it is shown to an admin.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_EXAMPLE = 1024
"""Longest pattern (and example) worked on: an example is meant to be short."""


@dataclass(frozen=True)
class Shape:
    """What a generated key looks like around the pattern."""

    text: str
    anchored_start: bool
    anchored_end: bool
    dot_positions: tuple[int, ...]
    """Offsets in ``text`` produced by an unescaped ``.`` written between word characters."""


class _Gen:
    def __init__(self, src: str, dialect: str, dot: str) -> None:
        self.s = src
        self.i = 0
        self.dialect = dialect
        self.dot = dot
        self.anchored_start = False
        self.anchored_end = False
        self.dots: list[int] = []

    def alternatives(self, depth: int, out: list[str]) -> str | None:
        first = self.sequence(depth, out)
        while self.i < len(self.s) and self.s[self.i] == "|":
            self.i += 1
            mark = len("".join(out))
            scratch: list[str] = []
            if self.sequence(depth, scratch) is None:
                return None
            del mark
        return first

    def sequence(self, depth: int, out: list[str]) -> str | None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "|" or (c == ")" and depth > 0):
                return "ok"
            start = len("".join(out))
            piece = self.atom(depth, out, start)
            if piece is None:
                return None
            lo = self.quantifier()
            if lo is None:
                return None
            if lo == 0:
                text = "".join(out)[:start]
                out.clear()
                out.append(text)
                self.dots = [d for d in self.dots if d < start]
            elif lo > 1:
                if len(piece) * lo > MAX_EXAMPLE:
                    return None  # a{99999}: no short example
                out.append(piece * (lo - 1))
        return "ok"

    def quantifier(self) -> int | None:
        if self.i >= len(self.s):
            return 1
        c = self.s[self.i]
        if c in "*?":
            self.i += 1
            return 0
        if c == "+":
            self.i += 1
            return 1
        if c == "{":
            end = self.s.find("}", self.i)
            if end < 0:
                return None
            lo = self.s[self.i + 1 : end].split(",")[0]
            self.i = end + 1
            if len(lo) > 6:
                return None
            return int(lo) if lo.isdigit() else 0
        return 1

    def atom(self, depth: int, out: list[str], start: int) -> str | None:
        c = self.s[self.i]
        self.i += 1
        if c == "^":
            self.anchored_start = self.anchored_start or start == 0
            return ""
        if c == "$":
            self.anchored_end = True
            return ""
        if c == ".":
            prev = self.s[self.i - 2] if self.i >= 2 else ""
            nxt = self.s[self.i] if self.i < len(self.s) else ""
            if prev.isalnum() and nxt.isalnum():
                self.dots.append(start)
            out.append(self.dot)
            return self.dot
        if c == "\\":
            if self.i >= len(self.s):
                return None
            e = self.s[self.i]
            self.i += 1
            table = {"w": "a", "s": " ", "W": "-", "S": "a"}
            if self.dialect == "pcre":
                table.update({"d": "1", "D": "a"})
            if e in table:
                out.append(table[e])
                return table[e]
            if e.isdigit() or (e.isalpha() and (self.dialect == "pcre" or e in "bB<>")):
                return None
            out.append(e)
            return e
        if c == "[":
            end = self.i
            if end < len(self.s) and self.s[end] == "^":
                return self.negated_class(out, end + 1)
            if end < len(self.s) and self.s[end] == "]":
                end += 1
            close = self.s.find("]", end)
            if close < 0:
                return None
            members = self.s[self.i : close]
            self.i = close + 1
            if members.startswith("[:"):
                name = members[2:].split(":")[0]
                pick = {
                    "digit": "1",
                    "alpha": "a",
                    "alnum": "a",
                    "upper": "A",
                    "lower": "a",
                    "space": " ",
                    "xdigit": "1",
                }.get(name)
                if pick is None or not members.endswith(":]"):
                    return None
                out.append(pick)
                return pick
            pick = next((ch for ch in members if ch.isalnum()), members[:1])
            out.append(pick)
            return pick
        if c == "(":
            if self.dialect == "pcre" and self.s.startswith("?:", self.i):
                self.i += 2
            inner: list[str] = []
            saved = self.dots
            self.dots = []
            if self.alternatives(depth + 1, inner) is None:
                return None
            self.dots = saved
            if self.i >= len(self.s) or self.s[self.i] != ")":
                return None
            self.i += 1
            text = "".join(inner)
            out.append(text)
            return text
        if c in "*+?{)":
            return None
        out.append(c)
        return c

    def negated_class(self, out: list[str], first: int) -> str | None:
        """``[^@]``, ``[^.@]``, ``[^a-z]``: a letter or digit outside the set (``[^@]+@...``
        is how admins write "any user name")."""
        close = self.s.find("]", first + 1)  # a "]" right after "^" is a member
        if close < 0:
            return None
        members = self.s[first:close]
        self.i = close + 1
        if "[" in members or (self.dialect == "regexp" and "\\" in members):
            return None  # POSIX classes, backslashes: Python would read them otherwise
        try:
            outside = re.compile(f"[^{members}]")
        except re.error:
            return None
        pick = next((ch for ch in _PICKS if outside.fullmatch(ch)), None)
        if pick is not None:
            out.append(pick)
        return pick


_PICKS = "abcdefghijklmnopqrstuvwxyz0123456789-_"


def example(body: str, dialect: str = "regexp", dot: str = ".") -> Shape | None:
    """A short string the pattern ``body`` matches (unescaped dots become ``dot``)."""
    if len(body) > MAX_EXAMPLE:  # not a pattern to find a short example for (and slow)
        return None
    g = _Gen(body, dialect, dot)
    out: list[str] = []
    try:
        if g.alternatives(0, out) is None or g.i != len(body):
            return None
    except (IndexError, ValueError, RecursionError):  # RecursionError: ((((... nested deep
        return None
    return Shape("".join(out), g.anchored_start, g.anchored_end, tuple(g.dots))
