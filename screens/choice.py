"""A question with a few named answers: arrows (or j/k) and enter choose, escape leaves it
unanswered (the caller then does nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option

from pfwizard.tui.widgets.cursor_list import CursorList
from pfwizard.tui.wrap import WrappedStatic


class ChoiceScreen(ModalScreen["str | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor(1)", "Down", show=False, id="down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="up"),
        Binding("escape", "cancel", "Cancel", id="cancel"),
    ]
    HELP = "Choose with the arrows (or j/k) and enter; escape chooses nothing."

    def __init__(self, question: str, choices: Sequence[tuple[str, str]]) -> None:
        """``choices``: (value returned, words shown); the first is highlighted."""
        super().__init__()
        self.question = question
        self.choices = list(choices)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            # Paths and parameter names wrap between words or after / and _, never
            # mid-name; a wrapped line continues under its own text.
            yield WrappedStatic(self.question, deeper=2)
            yield CursorList(
                *(Option(label, id=value) for value, label in self.choices), id="choices"
            )
            yield Static("arrows or j/k, enter: choose   esc: cancel", classes="hint")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        lst = self.query_one(OptionList)
        lst.highlighted = 0
        lst.focus()

    def action_cursor(self, delta: int) -> None:
        lst = self.query_one(OptionList)
        if delta > 0:
            lst.action_cursor_down()
        else:
            lst.action_cursor_up()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
