"""A check_*_access entry's lookup table: edit it, and ask how a key would be answered,
both as ``postmap -q`` (one exact key) and as smtpd searches it for this list (access(5))."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Footer, Input, Static, TextArea

from pfwizard.analysis.tablelint import USED_AS, table_findings
from pfwizard.errors import ValueRefused
from pfwizard.screens.confirm import leave_editor
from pfwizard.session import Session
from pfwizard.tables.lint import TableFinding
from pfwizard.tui.wrap import WrappedStatic
from pfwizard.wizard.tables import access_answer, postmap_query, validate_table

# Which access(5) search a check_X_access entry does.
KIND = {
    "check_sender_access": "sender",
    "check_recipient_access": "recipient",
    "check_client_access": "client",
    "check_helo_access": "helo",
}


LINT_PAUSE = 0.25
"""Seconds of no typing before the lines are checked again."""


class TableEditorScreen(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2,ctrl+s", "save", "Save", id="save"),
        Binding("f3", "focus_lookup", "Lookup", id="table.lookup"),
        Binding("escape", "cancel", "Cancel", id="cancel"),
    ]
    HELP = (
        "One rule per line: KEY ACTION (regexp/pcre: /pattern/flags ACTION). "
        "ACTION is OK/PERMIT, REJECT text, DUNNO, 4NN/5NN text... Below the table, each "
        "line's check as you type: DANGER when a line lets in more than it names (with an "
        "address it lets through). f2 saves the table into the change (written only at "
        "Apply); escape leaves (asking first if you typed anything). f3 jumps to the "
        "lookup tester: type an address and press enter to see postmap -q's answer and "
        "smtpd's."
    )

    def __init__(self, session: Session, restriction: str, map_type: str, path: str) -> None:
        super().__init__()
        self._lint_timer: Timer | None = None
        self.findings: list[TableFinding] = []
        """What the table check says about the text as typed (worst first)."""
        self.session = session
        self.restriction = restriction
        self.map_type = map_type
        self.path = path
        self.original = session.table_text(path)

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog", can_focus=False):
            # Wrapped after / or _, never mid-name (a path is longer than the dialog).
            yield WrappedStatic(f"{self.map_type}:{self.path}", classes="hint")
            yield TextArea(self.original, id="table", soft_wrap=True, show_line_numbers=True)
            yield WrappedStatic(id="error", classes="error", deeper=2)
            yield WrappedStatic(id="lint", deeper=2)
            yield Input(placeholder="lookup tester: an address, then enter", id="lookup")
            yield WrappedStatic(id="answer", deeper=2)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()
        self.check_lines()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        # Checked as the admin types, once typing pauses (each check asks postmap).
        if self._lint_timer is not None:
            self._lint_timer.stop()
        self._lint_timer = self.set_timer(LINT_PAUSE, self.check_lines)

    def check_lines(self) -> None:
        """What each line will do that the admin may not mean (tables.lint), worst first."""
        self._lint_timer = None
        found = table_findings(
            self.map_type, self.path, self.content(), USED_AS.get(self.restriction)
        )
        self.findings = list(found)
        self.query_one("#lint", Static).update(
            Text(
                "\n".join(
                    f"{f.severity.symbol} {f.severity.value.upper()} {f.code}: {f.message}"
                    for f in found
                )
            )
        )

    def content(self) -> str:
        return self.query_one(TextArea).text

    def action_focus_lookup(self) -> None:
        self.query_one("#lookup", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        key = event.value.strip()
        if not key:
            return
        text = self.content()
        pm = postmap_query(self.map_type, text, key)
        kind = KIND.get(self.restriction, "sender")
        sm = access_answer(self.map_type, text, key, kind)
        self.query_one("#answer", Static).update(
            f"postmap -q {key}: {pm}\nsmtpd ({self.restriction}): {sm}"
        )

    def action_save(self) -> None:
        text = self.content()
        problems = validate_table(self.session.config_dir, self.map_type, text)
        if problems:
            self.query_one("#error", Static).update("\n".join(problems[:3]))
            return
        try:
            self.session.set_table(self.path, text, self.map_type)
        except ValueRefused as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        self.dismiss(True)

    def action_cancel(self) -> None:
        leave_editor(self, self.content() != self.original, f"your changes to {self.path}", False)
