"""Change an entry's argument (a table, a DNS list with its reply filter, a service)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from pfwizard.chain import Item
from pfwizard.errors import ValueRefused
from pfwizard.screens.confirm import leave_editor
from pfwizard.session import Session
from pfwizard.wizard.restrictions import argument_count


class EditArgumentScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]
    HELP = (
        "Edit the argument and press enter. One word: no spaces, commas or control "
        "characters (Postfix would read them as further restrictions)."
    )

    def __init__(self, session: Session, param: str, index: int, item: Item) -> None:
        super().__init__()
        self.session = session
        self.param = param
        self.index = index
        self.item = item

    def compose(self) -> ComposeResult:
        takes = argument_count(self.item.name) > 0
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Static(
                f"{self.param}, entry {self.index + 1}: {self.item.name}",
                classes="hint",
                markup=False,
            )
            if takes:
                yield Input(self.item.arg or "", id="arg")
            else:
                yield Static(
                    f"{self.item.name} takes no argument. "
                    "Remove it (x) and add another entry instead.",
                    markup=False,
                )
            yield Static(id="error", classes="error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        for inp in self.query(Input):
            inp.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            self.session.replace(
                self.param, self.index, Item(self.item.name, event.value.strip() or None)
            )
        except ValueRefused as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        typed = any(i.value.strip() != (self.item.arg or "") for i in self.query(Input))
        leave_editor(self, typed, f"the new argument of {self.item.name}", False)
