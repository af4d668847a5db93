"""Restriction lists (``smtpd_*_restrictions``) as Postfix reads them, and back.

Postfix splits a restriction list on commas and whitespace; a restriction that takes an
argument (``check_sender_access TABLE``, ``reject_rbl_client DOMAIN[=FILTER]``, ...) consumes
the next word.  So ``a, b c,d`` and ``a b c d`` mean the same when ``b`` takes one argument.

A ``Chain`` keeps the separator style it was read with (MiaB writes ``a,b,c``; admins write
``a, b`` or one item per continuation line) so an untouched chain renders back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pfwizard.errors import ValueRefused

_SEP = ", \t\r\n"
# Like smtpd's mystrtokq(): a word ends at a comma or whitespace, except inside {braces}
# (``check_policy_service { inet:127.0.0.1:10023, timeout=10s }``, ``inline:{ a=b, c=d }``).
_TOKEN_RE = re.compile(r"(?:[^, \t\r\n{}]|\{(?:[^{}]|\{[^{}]*\})*\}|[{}])+")


@dataclass(frozen=True)
class Item:
    """One restriction in a list: its name and the argument it consumes, if any."""

    name: str
    arg: str | None = None

    def render(self) -> str:
        return self.name if self.arg is None else f"{self.name} {self.arg}"

    def __str__(self) -> str:
        return self.render()

    @classmethod
    def parse(cls, text: str) -> Item:
        """One item from admin input, e.g. ``check_sender_access regexp:/etc/postfix/x``."""
        words = _TOKEN_RE.findall(text)
        if not words:
            raise ValueRefused("empty restriction")
        if any(c in text for c in "\r\n\x00"):
            raise ValueRefused("a restriction cannot contain a newline or NUL")
        from pfwizard import catalogue  # loaded with the first chain parsed, not with main.cf

        nargs = catalogue.argument_count(words[0])
        if len(words) != 1 + nargs:
            want = "no argument" if nargs == 0 else f"{nargs} argument"
            raise ValueRefused(f"{words[0]} takes {want}; got {' '.join(words[1:]) or 'none'}")
        return cls(words[0], words[1] if nargs else None)


@dataclass
class Chain:
    """An ordered restriction list. Edits are plain list operations on ``items``."""

    items: list[Item] = field(default_factory=list)
    separator: str = ", "
    _source: tuple[tuple[Item, ...], str, str] | None = field(
        default=None, repr=False, compare=False
    )
    """(items, separator, text) as parsed: an unedited chain renders back byte for byte, even
    with mixed separators (MiaB's glued continuation lines)."""

    @classmethod
    def parse(cls, value: str) -> Chain:
        from pfwizard import catalogue

        tokens = _TOKEN_RE.findall(value)
        items: list[Item] = []
        i = 0
        while i < len(tokens):
            name = tokens[i]
            nargs = catalogue.argument_count(name)
            if nargs and i + 1 < len(tokens):
                items.append(Item(name, tokens[i + 1]))
                i += 2
            else:
                items.append(Item(name))
                i += 1
        sep = _guess_separator(value)
        return cls(items, sep, (tuple(items), sep, value))

    def render(self) -> str:
        src = self._source
        if src is not None and src[1] == self.separator and tuple(self.items) == src[0]:
            return src[2]
        return self.separator.join(item.render() for item in self.items)

    def __str__(self) -> str:
        return self.render()

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def names(self) -> list[str]:
        return [i.name for i in self.items]

    def index_of(self, name: str) -> int:
        """Index of the first item with this name (ValueError if absent)."""
        for k, item in enumerate(self.items):
            if item.name == name:
                return k
        raise ValueError(f"{name} is not in the list")

    def insert_before(self, anchor: str, item: Item) -> None:
        self.items.insert(self.index_of(anchor), item)

    def insert_after(self, anchor: str, item: Item) -> None:
        self.items.insert(self.index_of(anchor) + 1, item)

    def remove(self, item: Item) -> None:
        self.items.remove(item)

    def move(self, index: int, delta: int) -> int:
        """Move one item up (delta < 0) or down; returns its new index (clamped to the list)."""
        new = max(0, min(len(self.items) - 1, index + delta))
        if new != index:
            self.items.insert(new, self.items.pop(index))
        return new

    def copy(self) -> Chain:
        return Chain(list(self.items), self.separator, self._source)


def tokens(value: str) -> list[str]:
    """The words smtpd splits a restriction list into (commas, whitespace; braces kept whole)."""
    return _TOKEN_RE.findall(value)


def _guess_separator(value: str) -> str:
    """The separator an admin (or MiaB) used, so re-rendering keeps their style."""
    seps = re.findall(r"(?<=[^, \t\r\n])[, \t\r\n]+(?=[^, \t\r\n])", value)
    commas = [s for s in seps if "," in s]
    if not commas:
        return ", " if not seps else " "
    if any("\n" in s for s in commas):
        return ", "
    counts: dict[str, int] = {}
    for s in commas:
        counts[s] = counts.get(s, 0) + 1
    return max(counts, key=lambda s: counts[s])


def render_items(items: Iterable[Item], separator: str = ", ") -> str:
    return separator.join(i.render() for i in items)
