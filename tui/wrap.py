"""Text that wraps the way an admin reads Postfix names: between words, else after ``_`` ``,``
``.`` ``/`` ``=`` ``:`` (so ``reject_unknown_sender_domain`` breaks as ``reject_unknown_`` /
``sender_domain``, never ``..._do`` / ``main``), and with continuation rows indented under
their line instead of starting at column 0.

``Wrapped`` is a Rich renderable: it wraps to the width it is drawn at, so a panel that grows
or shrinks with the terminal needs no re-layout code of its own.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text
from textual.visual import RichVisual, VisualType
from textual.widgets import RichLog, Static

BREAK_AFTER = "_,./=:;-"
"""Where a word too long for a row may be broken (after the character)."""


def _lead(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def row_starts(line: str, width: int, hang: int) -> list[int]:
    """Offsets in ``line`` where a new row begins (continuation rows are ``hang`` deeper)."""
    if width < 1:
        return []
    if hang >= width // 2:
        hang = 0
    starts: list[int] = []
    # The first row breaks at a space only after the hang column: "i  3." alone on a row,
    # with the name below it, reads as an empty entry.
    start, avail, floor = 0, width, max(_lead(line), hang)
    while len(line) - start > avail:
        limit = start + avail
        cut = line.rfind(" ", start + floor + 1, limit + 1)
        if cut > start + floor and cut - start < avail // 2:
            # A space that leaves the row less than half full ("now:" alone above a long
            # list): after a comma further on reads better, when there is one.
            comma = max(line.rfind(c, cut + 1, limit) for c in ",;")
            if comma > cut:
                cut = -1
        if cut > start + floor:
            nxt = cut
            while nxt < len(line) and line[nxt] == " ":
                nxt += 1
        else:
            # After a comma first (between list entries), unless that leaves the row less
            # than half full; then after any other break character; else a hard fold.
            lo = start + floor + 1
            cut = max(line.rfind(c, lo, limit) for c in ",;")
            if cut < start + floor + avail // 2:
                cut = max(line.rfind(c, lo, limit) for c in BREAK_AFTER)
            nxt = cut + 1 if cut > start + floor else limit
        if nxt >= len(line):
            break
        starts.append(nxt)
        start, avail, floor = nxt, width - hang, 0
    return starts


def wrap(
    text: Text | str, width: int, hang: int | None = None, bare: int = 0, deeper: int = 0
) -> Text:
    """``text`` wrapped to ``width`` cells.  Continuation rows are indented by ``hang``
    (None: as deep as the line's own leading spaces plus ``deeper``, or ``bare`` for a line
    without any; ``deeper`` keeps a wrapped item from reading as the next item)."""
    if isinstance(text, str):
        text = Text(text)
    out = Text(end="")
    lines = text.split("\n", allow_blank=True)
    for n, line in enumerate(lines):
        lead = _lead(line.plain)
        indent = hang if hang is not None else (lead + deeper if lead else bare)
        starts = row_starts(line.plain, width, indent)
        pieces = line.divide(starts) if starts else [line]
        for m, piece in enumerate(pieces):
            if m:
                out.append("\n" + " " * indent)
            piece.rstrip()
            out.append_text(piece)
        if n < len(lines) - 1:
            out.append("\n")
    return out


class _WrappedVisual(RichVisual):
    """How Textual draws a ``Wrapped``; its str() is the words shown (tests read them)."""

    def __str__(self) -> str:
        return str(getattr(self._renderable, "plain", ""))


class Wrapped:
    """A Rich renderable: ``text`` wrapped (as ``wrap``) to the width it is drawn at."""

    def __init__(
        self, text: Text | str, hang: int | None = None, bare: int = 0, deeper: int = 0
    ) -> None:
        self.text = Text(text) if isinstance(text, str) else text
        self.hang = hang
        self.bare = bare
        self.deeper = deeper

    @property
    def plain(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        out = wrap(self.text, options.max_width, self.hang, self.bare, self.deeper)
        out.no_wrap = True
        out.overflow = "crop"
        out.end = "\n"  # Textual counts a renderable's rows by its newlines
        yield out

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max((len(line) for line in self.text.plain.split("\n")), default=0)
        return Measurement(min(8, longest), longest)


class WrappedStatic(Static):
    """A Static whose text wraps as ``Wrapped`` (give it a Text or a str; never markup)."""

    def __init__(
        self,
        content: Text | str = "",
        *,
        hang: int | None = None,
        bare: int = 0,
        deeper: int = 0,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes, markup=False)
        self.hang, self.bare, self.deeper = hang, bare, deeper
        if content:
            self.update(content)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        if isinstance(content, (str, Text)):
            content = _WrappedVisual(self, Wrapped(content, self.hang, self.bare, self.deeper))
        super().update(content, layout=layout)


def write_wrapped(log: RichLog, line: str) -> None:
    """One line into a log, wrapped as ``Wrapped`` at the log's own width: RichLog alone
    measures against the console's (80 columns, whatever the terminal) and folds a path
    mid-name; a wrapped line continues indented, never back at column 0."""
    width = log.scrollable_content_region.width
    log.write(Wrapped(line, bare=2, deeper=2), width=width or None)
