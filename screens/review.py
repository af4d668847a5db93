"""Review: the unified diff of every file Apply would write, scrollable; nothing written."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.widgets import Static

from pfwizard import plan_words
from pfwizard.errors import PfwizardError
from pfwizard.findings import Finding
from pfwizard.tui.diffview import diff_text, wrapped
from pfwizard.tui.flow import Action
from pfwizard.tui.stage import WizardScreen
from pfwizard.tui.wrap import WrappedStatic
from pfwizard.wizard.answers import Answer
from pfwizard.wizard.apply import plan_change

if TYPE_CHECKING:
    from pfwizard.engine import Plan

CONFIRM_SECONDS = 120


def confirm_accepting(
    screen: Screen[Any],
    blocking: list[Finding],
    question: str,
    *,
    yes: str,
    no: str,
    accept: Callable[[Finding], object],
    then: Callable[[], None],
) -> None:
    """The apply confirmation, with each danger finding named first: answering yes accepts
    them by name (``accept``; the wizard's ``--accept-risk``), then ``then`` goes ahead.
    A finding nobody may accept (an open relay) refuses instead, whatever the answer."""
    from pfwizard.screens.confirm import ConfirmScreen

    never = [f for f in blocking if not f.acceptable]
    if never:
        screen.notify(
            f"X DANGER, refusing to apply: {never[0].message}", severity="error", timeout=8
        )
        return

    def done(ok: bool | None) -> None:
        if ok:
            for f in blocking:
                accept(f)
            then()

    danger = "".join(f"X DANGER: {f.message}\n" for f in blocking)
    if danger:
        danger += "Apply anyway?\n\n"
    screen.app.push_screen(ConfirmScreen(danger + question, yes=yes, no=no), done)


def plan_writes(plan: Any) -> list[str]:
    """What a wizard plan writes, one line a file ("change /etc/postfix/main.cf")."""
    out = []
    for f in plan.files:
        if not f.changes:
            continue
        verb = "delete" if f.after is None else "create" if f.before is None else "change"
        index = " (and its index, built by postmap)" if f.postmap else ""
        out.append(f"{verb} {f.path}{index}")
    return out


def diff_writes(diff: str) -> list[str]:
    """The same, read from a unified diff's headers (restore shows its plan as a diff)."""
    out, before = [], ""
    for line in diff.splitlines():
        if line.startswith("--- "):
            before = line[4:]
        elif line.startswith("+++ "):
            after = line[4:]
            if after == "/dev/null":
                out.append(f"delete {before[1:]}")
            else:
                out.append(f"{'create' if before == '/dev/null' else 'change'} {after[1:]}")
    return out


def apply_question(
    writes: list[str], config_dir: object, *, reload: bool, confirm_within: int | None = None
) -> str:
    """The question Apply asks: every file it writes, and what it reloads, in words."""
    lines = ["Apply now? pfwizard will:", *(f"  {w}" for w in writes)]
    lines.append("Every file is backed up first; any failure puts the old files back.")
    if reload:
        lines.append(
            f"Then it reloads the Postfix that reads {config_dir} (postfix reload) "
            "and checks that it answers."
        )
    else:
        lines.append("Nothing is reloaded: the running Postfix keeps its configuration.")
    if confirm_within:
        lines.append(
            f"Confirm-or-revert is on: press y within {confirm_within} s after, "
            "or it is rolled back by itself."
        )
    return "\n".join(lines)


class ReviewScreen(WizardScreen):
    STEP_ID = "review"
    RESULTS = frozenset({Action.NEXT, Action.BACK})
    HELP = (
        "Review: every file Apply will write, as a unified diff (- now, + after). "
        "j/k or arrows scroll. w applies (it asks first, naming every file it writes): "
        "backup, write, postfix check, reload; any failure puts the old files back. "
        "w is used for nothing else anywhere. v toggles confirm-or-revert: unless you "
        "confirm within "
        f"{CONFIRM_SECONDS} s after Apply, the change is rolled back by itself. "
        "I (capital i) previews the impact: what this change would have done to the "
        "last week of this box's mail, replayed on two private copies of Postfix "
        "(nothing is sent, queued or written)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        # Apply's key is its own, on every screen: a is Add, so a slip never writes.
        Binding("w", "apply", "Apply", id="apply"),
        Binding("b", "back", "Back", id="back"),
        Binding("v", "toggle_confirm", "Confirm-or-revert", id="review.confirm"),
        Binding("j", "scroll(1)", "Down", show=False, id="down"),
        Binding("k", "scroll(-1)", "Up", show=False, id="up"),
        Binding("I", "impact", "Impact", id="review.impact"),
    ]

    plan: Plan | None = None
    error: str = ""
    impact_stop: threading.Event | None = None
    """Set while the impact preview runs (setting it stops the preview)."""
    answered = False
    """Apply was asked for by an answers file: the admin decided beforehand, no question."""

    def answer(self, answer: Answer) -> None:
        self.answered = answer.action == "apply"
        super().answer(answer)

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield Static(id="review-status", classes="hint", markup=False)
        # What the diff below does, in words ("adds one entry to the sender list...").
        yield Static(id="review-summary", markup=False)
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
            self.plan = plan_change(self.session, self.wizard.engine)
        except PfwizardError as exc:
            self.error = str(exc)
        summary = ""
        if self.error or self.plan is None:
            body.update(f"Cannot plan this change: {self.error}")
        elif self.plan.is_empty:
            body.update("No change: nothing to apply. Press b to go back.")
        else:
            summary = plan_words.describe(self.plan)
            self.show_diff()
        self.set_text("#review-summary", f"This change {summary}." if summary else "")
        self.query_one("#review-summary").display = bool(summary)
        self.refresh_status()

    def show_diff(self) -> None:
        if self.plan is None:
            return
        diff, width = self.plan.unified_diff(), self.diff_width()
        self.query_one("#diff", Static).update(diff_text(diff, width, self.wizard.glyphs.wrap))
        # Says what the wrap mark means, only when a line is wrapped.
        self.query_one("#review-page").border_subtitle = (
            f"{self.wizard.glyphs.wrap} continues the line above" if wrapped(diff, width) else ""
        )

    def diff_width(self) -> int:
        # The page's inner width (border and padding off), minus room for the scrollbar.
        width = self.query_one("#review-page").size.width or self.app.size.width - 4
        return max(20, width - 3)

    def on_resize(self) -> None:
        if self.plan is not None and not self.plan.is_empty:
            self.show_diff()

    def refresh_status(self) -> None:
        secs = self.state.confirm_within
        confirm = f"confirm-or-revert: ON, {secs} s (v)" if secs else "confirm-or-revert: off (v)"
        where = "no reload (demo)" if not self.session.reload else "reloads Postfix"
        self.query_one("#review-status", Static).update(
            f"Nothing written yet. w: apply ({where}); {confirm}"
        )

    def action_scroll(self, lines: int) -> None:
        self.query_one("#review-page").scroll_relative(y=lines, animate=False)

    def action_toggle_confirm(self) -> None:
        self.state.confirm_within = None if self.state.confirm_within else CONFIRM_SECONDS
        self.refresh_status()
        self.notify(
            f"Confirm-or-revert is now on: after Apply, press y within "
            f"{CONFIRM_SECONDS} s or the change is rolled back by itself."
            if self.state.confirm_within
            else "Confirm-or-revert is now off: Apply's change stays without asking.",
            timeout=6,
        )

    def action_back(self) -> None:
        self.finish(Action.BACK)

    # ---- impact preview --------------------------------------------------------------------
    def impact_plan(self) -> Plan | None:
        """The engine plan the preview replays (None: nothing to preview)."""
        return self.plan

    def action_impact(self) -> None:
        from pfwizard.screens import impact

        plan = self.impact_plan()
        if plan is None or plan.is_empty:
            self.notify("Nothing to preview: no change.", severity="warning")
            return
        why = impact.unavailable(self.session)
        if why:
            self.notify(why, severity="warning", timeout=6)
            return
        if self.impact_stop is not None:
            return  # already running
        stop = self.impact_stop = threading.Event()
        self._impact_show(["Impact preview: starting..."])

        def work() -> None:
            def say(line: str) -> None:
                self.app.call_from_thread(self._impact_show, [line])

            try:
                lines = impact.run(self.session, plan, say, stop)
            except Exception as exc:  # shown, never fatal: Review still applies as before
                lines = [f"Impact preview stopped: {exc}"]
            if not stop.is_set():
                self.app.call_from_thread(self._impact_done, lines)

        self.run_worker(work, thread=True, name="impact", exit_on_error=False)

    def _impact_show(self, lines: list[str]) -> None:
        page = self.query_one("#review-page")
        found = page.query("#impact")
        if found:
            panel = found.first(WrappedStatic)
        else:
            # The report's lines are items and indented details: a wrapped one continues
            # under its own text, never at column 0 where it would read as a new item.
            panel = WrappedStatic(id="impact", classes="impact", bare=2, deeper=2)
            page.mount(panel)
        panel.update("\n".join(lines))

    def _impact_done(self, lines: list[str]) -> None:
        self.impact_stop = None
        self._impact_show(lines)
        self.query_one("#impact").scroll_visible(animate=False)

    def on_unmount(self) -> None:
        if self.impact_stop is not None:
            self.impact_stop.set()

    def action_apply(self) -> None:
        if self.plan is None or self.plan.is_empty:
            self.notify("Nothing to apply.", severity="warning")
            return
        blocking = self.session.blocking()
        if self.answered and not blocking:
            self._go()  # a danger still needs its own "accept" in the answers, or a human
            return
        question = apply_question(
            plan_writes(self.plan),
            self.session.config_dir,
            reload=self.session.reload,
            confirm_within=self.state.confirm_within,
        )
        confirm_accepting(
            self,
            blocking,
            question,
            yes="apply now",
            no="back to the diff",
            accept=self.session.accept,
            then=self._go,
        )

    def _go(self) -> None:
        self.state.plan = self.plan
        self.finish(Action.NEXT)
