"""Ask for a milter address: ``inet:host:port`` or ``unix:/path`` (one word)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from pfwizard.milters import is_milter_address
from pfwizard.screens.confirm import leave_editor


class MilterAddressScreen(ModalScreen["str | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", id="cancel")]
    HELP = "A milter address: inet:127.0.0.1:8891 or unix:/run/opendkim/opendkim.sock."

    def __init__(self, value: str) -> None:
        super().__init__()
        self.value = value

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Static(
                "Milter address (inet:HOST:PORT or unix:/PATH), enter to keep", classes="hint"
            )
            # The prefilled prefix is a start to type on, not a value to replace: no select.
            yield Input(self.value or "inet:127.0.0.1:", id="address", select_on_focus=False)
            yield Static(id="error", classes="error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        address = self.query_one(Input)
        address.focus()
        address.cursor_position = len(address.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        if not is_milter_address(value):
            self.query_one("#error", Static).update(
                f"{value!r} is not a milter address: inet:HOST:PORT or unix:/PATH"
            )
            return
        self.dismiss(value)

    def action_cancel(self) -> None:
        typed = self.query_one(Input).value.strip() not in (self.value, "inet:127.0.0.1:")
        leave_editor(self, typed, "the milter address you typed", None)
