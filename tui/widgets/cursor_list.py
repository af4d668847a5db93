"""An OptionList whose cursor row stays visible without colour.

Textual draws the highlighted option with the block-cursor colours and ``text-style``, but its
visual style keeps only bold/dim/italic/underline/strike: with NO_COLOR the colours go and the
row is merely bold.  Here the cursor row is put in reverse video whenever colour is off.
"""

from __future__ import annotations

from textual.style import Style
from textual.widgets import OptionList

HIGHLIGHT = "option-list--option-highlighted"
REVERSE = Style(reverse=True)


class CursorList(OptionList):
    def get_visual_style(self, *component_classes: str, partial: bool = False) -> Style:
        style = super().get_visual_style(*component_classes, partial=partial)
        if HIGHLIGHT in component_classes and self.app.no_color:
            return style + REVERSE
        return style
