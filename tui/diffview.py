"""A unified diff as Rich Text: + and - lines keep their sign, colour only helps.

Long lines are wrapped to the view's width between words (or after ``,`` ``_`` ``/``...).  A
continuation row carries ``WRAP_MARK`` in the sign column, a character no diff line can start
with, and is indented: it can never be read as a line of its own (``+``/``-``/context), and at
80 columns nothing is cut off.
"""

from __future__ import annotations

import itertools

from rich.text import Text

from pfwizard.tui.wrap import row_starts

WRAP_MARK = "│"
"""In the sign column of a wrapped line's continuation rows (``|`` in plain ASCII)."""
WRAP_INDENT = 3
"""Continuation rows start this far in (after the mark)."""


def _style(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "bold"
    if line.startswith("@@"):
        return "cyan"
    if line.startswith("+"):
        return "green"
    if line.startswith("-"):
        return "bright_red"  # the console's plain red is 2.7:1 on black
    return ""


def diff_text(diff: str, width: int = 0, mark: str = WRAP_MARK) -> Text:
    """``diff`` styled; lines wider than ``width`` wrapped (0: never)."""
    text = Text(no_wrap=True)
    for line in diff.splitlines():
        style = _style(line)
        starts = row_starts(line, width, WRAP_INDENT) if width > 2 * WRAP_INDENT else []
        if not starts:
            text.append(line + "\n", style=style)
            continue
        ends = [*starts, len(line)]
        text.append(line[: starts[0]].rstrip() + "\n", style=style)
        for a, b in itertools.pairwise(ends):
            text.append(mark)
            text.append(" " * (WRAP_INDENT - 1))
            text.append(line[a:b].rstrip() + "\n", style=style)
    return text


def wrapped(diff: str, width: int) -> bool:
    """Whether ``diff_text`` wraps any line of ``diff`` at ``width``."""
    return width > 2 * WRAP_INDENT and any(len(line) > width for line in diff.splitlines())
