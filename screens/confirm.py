"""A yes/no question: y for yes, escape for no.

``n`` is not "no" here: everywhere else it means Next, and an admin walking the stages with
``n`` must never answer a question by habit (escape, the safe answer, is the same everywhere).
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from pfwizard.tui.wrap import WrappedStatic


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="yes"),
        Binding("escape", "answer(False)", "No", id="cancel"),
    ]
    HELP = "Answer y for yes, escape for no."

    def __init__(self, question: str, *, yes: str = "yes", no: str = "no") -> None:
        """``yes``, ``no``: what each answer does, in words ("apply now", "back")."""
        super().__init__()
        self.question = question
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", id="dialog"):
            # Paths and parameter names wrap between words or after / and _, never
            # mid-name; a wrapped line continues under its own text.
            yield WrappedStatic(self.question, deeper=2)
            yield Static(f"y: {self.yes}   esc: {self.no}", classes="hint", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        # A long question (every file Apply writes, several dangers) scrolls with the arrows.
        self.query_one("#dialog").focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


def leave_editor(screen: ModalScreen[Any], typed: bool, what: str, result: Any) -> None:
    """Escape in an editor: leave at once when nothing was typed, else ask first, so a
    slip of the finger never throws away lines the admin typed."""
    if not typed:
        screen.dismiss(result)
        return

    def done(yes: bool | None) -> None:
        if yes:
            screen.dismiss(result)

    screen.app.push_screen(
        ConfirmScreen(f"Discard {what}? Nothing of it is kept.", yes="discard", no="keep editing"),
        done,
    )
