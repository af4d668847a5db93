"""Done: the result, where the backup is, and the confirm-or-revert countdown if asked for."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.flow import Action
from tui.stage import WizardScreen


class DoneScreen(WizardScreen):
    STEP_ID = "done"
    HELP = ("Done. If confirm-or-revert is on, press y to keep the change before the "
            "countdown ends; otherwise it is rolled back by itself (even if this session "
            "dies). pfwizard rollback restores any earlier state.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "keep", "Keep change", id="yes"),
        Binding("r", "history", "History", id="history"),
        # F5 runs the live probe here and on the probe screen (p is milter_protocol).
        Binding("f5,ctrl+r", "probe", "Probe", key_display="F5", id="probe"),
        Binding("enter", "quit_wizard", "Quit", show=False, id="enter"),
    ]
    remaining: int | None = None
    confirmed = False

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        with VerticalScroll(classes="page", id="done-page"):
            yield Static(id="done-body")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        res = self.wizard.result
        if getattr(res, "ok", False) and self.wizard.confirm_within:
            self.remaining = int(self.wizard.confirm_within)
            self.set_interval(1.0, self._tick)
        self.refresh_view()
        super().on_mount()
        # After a recipe's Apply, probe with its sample addresses at
        # once (not while a confirm-or-revert countdown needs this screen's y).
        if (getattr(res, "ok", False) and self.wizard.probe_sample
                and self.remaining is None):
            self.action_probe()

    def _tick(self) -> None:
        if self.remaining is None or self.confirmed:
            return
        self.remaining = max(0, self.remaining - 1)
        self.refresh_view()

    def body(self) -> Text:
        res = self.wizard.result
        text = Text()
        if res is None:
            text.append("Nothing was applied. Nothing has been written.\n", style="bold")
            return text
        if getattr(res, "ok", False):
            text.append("OK: the change is in force.\n", style="bold green")
            text.append(f"Journal entry: {getattr(res, 'entry_id', '?')}\n")
        else:
            text.append("FAILED: nothing changed.\n", style="bold red")
            text.append(f"{getattr(res, 'error', '')}\n")
            text.append("Every file was put back; the previous configuration is in force.\n")
        text.append(f"Backups and journal: {self.session.state_dir}\n")
        text.append("Undo at any time: pfwizard rollback\n")
        text.append("Live SMTP probe of this box (never delivers anything): F5\n")
        if self.remaining is not None:
            if self.confirmed:
                text.append("\nConfirmed: the change stays.\n", style="bold")
            elif self.remaining > 0:
                text.append(f"\nConfirm within {self.remaining} s or the change is rolled "
                            "back by itself: press y to keep it.\n", style="bold yellow")
            else:
                text.append("\nNot confirmed in time: pfwizard rolls the change back.\n",
                            style="bold yellow")
        return text

    def refresh_view(self) -> None:
        self.query_one("#done-body", Static).update(self.body())

    def action_keep(self) -> None:
        res = self.wizard.result
        if self.remaining is None or not getattr(res, "ok", False):
            return
        self.wizard.engine.confirm(res.entry_id)
        self.confirmed = True
        self.refresh_view()

    def action_probe(self) -> None:
        from screens.probe import ProbeScreen

        self.app.push_screen(ProbeScreen())

    def action_history(self) -> None:
        self.finish(Action.GOTO, "rollback")
