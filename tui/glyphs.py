"""Which characters the wizard draws with: the terminal's full Unicode, the Linux console's
default font (``TERM=linux``), or plain ASCII (``--ascii``).

The Linux console's default fonts (the kernel's VGA font and Debian's Lat15/Uni2 sets) have
the single and double box-drawing lines and the full and half blocks, but not the rounded
corners (``╭``) nor the eighth blocks (``▁▂▃▅▆▇``) Textual draws scrollbars and some borders
with: those come out as diamonds or question marks.  The borders take their type from the
``$frame`` CSS variable, the scrollbars a renderer that draws whole cells.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.color import Color
from rich.segment import Segment, Segments
from rich.style import Style
from textual.scrollbar import ScrollBarRender

DEFAULT = Color.parse("default")


class CellScrollBar(ScrollBarRender):
    """A scrollbar drawn in whole cells with a glyph for the thumb: readable in fonts without
    eighth blocks, and without colour (NO_COLOR strips the thumb's background colour, the
    only thing Textual's own thumb is made of)."""

    THUMB = "█"
    TRACK = " "

    @classmethod
    def render_bar(
        cls,
        size: int = 25,
        virtual_size: float = 50,
        window_size: float = 20,
        position: float = 0,
        thickness: int = 1,
        vertical: bool = True,
        back_color: Color = DEFAULT,
        bar_color: Color = DEFAULT,
    ) -> Segments:
        width = thickness if vertical else 1
        thumb, start = 0, 0
        if (
            window_size
            and size
            and virtual_size
            and size != virtual_size
            and virtual_size > window_size
        ):
            thumb = max(1, round(window_size * size / virtual_size))
            start = round((size - thumb) * position / (virtual_size - window_size))
            start = min(max(0, start), size - thumb)
        segments = []
        for n in range(int(size)):
            on = start <= n < start + thumb
            where = "grab" if on else "scroll_up" if n < start else "scroll_down"
            segments.append(
                Segment(
                    (cls.THUMB if on else cls.TRACK) * width,
                    Style(color=bar_color, bgcolor=back_color, meta={"@mouse.down": where}),
                )
            )
        if vertical:
            return Segments(segments, new_lines=True)
        return Segments([*segments, Segment.line()] * thickness, new_lines=False)


class AsciiScrollBar(CellScrollBar):
    THUMB = "#"
    TRACK = " "


@dataclass(frozen=True)
class Glyphs:
    name: str
    frame: str
    """The border type every box uses (a Textual border: round, solid, ascii)."""
    edge: str
    """The border type of a notification's coloured left edge (Textual's: outer)."""
    wrap: str
    """Marks a wrapped line's continuation rows in a diff."""
    dot: str
    """Between the parts of the title line."""
    scrollbar: type[ScrollBarRender] | None
    """The scrollbar renderer (None: Textual's own)."""


UNICODE = Glyphs("unicode", "round", "outer", "│", "·", None)
CONSOLE = Glyphs("console", "solid", "outer", "│", "·", CellScrollBar)
ASCII = Glyphs("ascii", "ascii", "ascii", "|", "-", AsciiScrollBar)


def choose(ascii: bool = False, term: str | None = None) -> Glyphs:
    """``--ascii``: plain ASCII; ``TERM=linux`` (the console): its font's glyphs only."""
    if ascii:
        return ASCII
    if term == "linux":
        return CONSOLE
    return UNICODE
