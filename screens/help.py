"""F1 or ?: help for the screen and for the widget that has the focus, and the keys."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

KEYS = """\
Keys: each means one thing on every screen.
  n / b         next / back            s      skip a stage (asks if you changed it)
  w             apply (Review only; asks first, naming every file it writes)
  enter         open or go on with what has the cursor
  esc           leave a dialog (asks before throwing away what you typed)
  y             yes, in a question     z      undo the last change
  ? or f1       this help              q      quit (asks if nothing was applied)"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        # F1 and ? close what they opened; q is Quit everywhere else, so not here.
        Binding("f1,question_mark", "close", "Close", show=False, id="help"),
        Binding("escape", "close", "Close", id="cancel"),
    ]

    def __init__(self, screen_help: str, widget_help: str) -> None:
        super().__init__()
        self.screen_help = screen_help
        self.widget_help = widget_help

    def compose(self) -> ComposeResult:
        parts = [p for p in (self.widget_help, self.screen_help, KEYS) if p]
        text = "\n\n".join(parts) or "No help here."
        with VerticalScroll(classes="dialog"):
            yield Static("Help", classes="hint")
            yield Static(text, markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def action_close(self) -> None:
        self.dismiss(None)
