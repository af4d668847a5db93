"""Review: the unified diff of every file Apply would write, scrollable; nothing written."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.widgets import Static

from pfwizard.errors import PfwizardError
from tui.diffview import diff_text
from tui.flow import Action
from tui.stage import WizardScreen

CONFIRM_SECONDS = 120


class ReviewScreen(WizardScreen):
    STEP_ID = "review"
    HELP = ("Review: every file Apply will write, as a unified diff (- now, + after). "
            "j/k or arrows scroll. a applies: backup, write, postfix check, reload; any failure "
            "puts the old files back. c toggles confirm-or-revert: unless you confirm within "
            f"{CONFIRM_SECONDS} s after Apply, the change is rolled back by itself.")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "apply", "Apply", id="review.apply"),
        Binding("b", "back", "Back", id="review.back"),
        Binding("c", "toggle_confirm", "Confirm-or-revert", id="review.confirm"),
        Binding("j", "scroll(1)", "Down", show=False, id="review.down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="review.up"),
    ]

    plan: Any = None
    error: str = ""

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield Static(id="review-status", classes="hint", markup=False)
        with ScrollableContainer(classes="page", id="review-page"):
            yield Static(id="diff")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#review-page").focus()
        self.refresh_view()
        super().on_mount()

    def refresh_view(self) -> None:
        self.plan, self.error = None, ""
        body = self.query_one("#diff", Static)
        try:
            self.plan = self.session.plan(self.wizard.engine)
        except PfwizardError as exc:
            self.error = str(exc)
        if self.error:
            body.update(f"Cannot plan this change: {self.error}")
        elif self.plan.is_empty:
            body.update("No change: nothing to apply. Press b to go back.")
        else:
            body.update(diff_text(self.plan.unified_diff(), self.diff_width()))
        self.refresh_status()

    def diff_width(self) -> int:
        # The page's inner width (border and padding off), minus room for the scrollbar.
        width = self.query_one("#review-page").size.width or self.app.size.width - 4
        return max(20, width - 3)

    def on_resize(self) -> None:
        if self.plan is not None and not self.plan.is_empty:
            self.query_one("#diff", Static).update(
                diff_text(self.plan.unified_diff(), self.diff_width()))

    def refresh_status(self) -> None:
        secs = self.wizard.confirm_within
        confirm = (f"confirm-or-revert: ON, {secs} s (c)" if secs
                   else "confirm-or-revert: off (c)")
        where = "no reload (demo)" if not self.session.reload else "reloads Postfix"
        self.query_one("#review-status", Static).update(
            f"Nothing written yet. a: apply ({where}); {confirm}")

    def action_scroll(self, lines: int) -> None:
        self.query_one("#review-page").scroll_relative(y=lines, animate=False)

    def action_toggle_confirm(self) -> None:
        self.wizard.confirm_within = None if self.wizard.confirm_within else CONFIRM_SECONDS
        self.refresh_status()

    def action_back(self) -> None:
        self.finish(Action.BACK)

    def action_apply(self) -> None:
        if self.plan is None or self.plan.is_empty:
            self.notify("Nothing to apply.", severity="warning")
            return
        blocking = self.session.blocking()
        never = [f for f in blocking if not f.acceptable]
        if never:
            self.notify(f"X DANGER, refusing to apply: {never[0].message}", severity="error",
                        timeout=8)
            return
        if blocking:
            from screens.confirm import ConfirmScreen

            def done(yes: bool | None) -> None:
                if yes:
                    for f in blocking:
                        self.session.accept(f)
                    self._go()

            text = "\n".join(f"X DANGER {f.code}: {f.message}" for f in blocking)
            self.app.push_screen(ConfirmScreen(f"{text}\n\nApply anyway?"), done)
            return
        self._go()

    def _go(self) -> None:
        self.wizard.plan = self.plan
        self.finish(Action.NEXT)
