"""Apply: the engine's steps as they happen, with Postfix's own output; on failure, what was
put back."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import RichLog, Static

from pfwizard import exitcodes
from pfwizard.postfix_warnings import Repeated, fold, total
from pfwizard.tui.flow import Action
from pfwizard.tui.stage import WizardScreen
from pfwizard.tui.wrap import write_wrapped
from pfwizard.wizard.apply import apply_change
from pfwizard.wizard.state import Outcome

MAX_OUTPUT_LINES = 40


def step_line(event: Any) -> str:
    status = str(getattr(event, "status", ""))
    word = {
        "ok": "  ok  ",
        "done": "  ok  ",
        "start": " ...  ",
        "running": " ...  ",
        "failed": "FAILED",
        "error": "FAILED",
        "skipped": " skip ",
    }.get(status.lower(), f"{status:^6}")
    lines = str(getattr(event, "detail", "") or "").splitlines()
    detail = lines[0] if lines else ""
    if len(lines) > 1 and word.strip() == "ok":
        # Repeated warnings under an "ok": counted here, one line per kind below, never
        # a screenful that hides the step.
        kinds = fold(lines)
        detail = (
            f"passed; Postfix printed {total(kinds)} warning lines of {len(kinds)} "
            f"kind{'s' if len(kinds) > 1 else ''} (summed up below; f shows every one)"
        )
    elif len(lines) > 1:
        detail += f" (+{len(lines) - 1} more lines, below)"
    return f"[{word}] {getattr(event, 'step', '?')}" + (f": {detail}" if detail else "")


class ApplyScreen(WizardScreen):
    STEP_ID = "apply"
    RESULTS = frozenset({Action.NEXT})
    HELP = (
        "Apply: pfwizard backs up every file, writes atomically, runs postmap and "
        "postfix check, reloads Postfix and checks it answers. Any failure restores the "
        "backup. n goes on when it is finished."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Next", id="next"),
        Binding("enter", "next", "Next", show=False, id="enter"),
        Binding("f", "all_warnings", "All warnings", id="apply.all_warnings"),
    ]
    finished = False
    folded: list[Repeated] | None = None
    """Postfix's output, one entry per kind of warning (None until Apply ended)."""
    expanded = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "all_warnings":  # offered only when lines were folded away
            return self.folded is not None and any(k.count > 1 for k in self.folded)
        return True

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []
        """Every line shown, in order (tests and the journal read the same words)."""

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield Static("Applying...", id="apply-status", markup=False)
        # Wrapped, not cut: Postfix's messages and paths are long, the terminal is 80 wide.
        yield RichLog(id="steps", wrap=True, markup=False, highlight=False)
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(RichLog).focus()
        self.run_worker(self._apply, thread=True, name="apply", exit_on_error=False)
        super().on_mount()

    def _apply(self) -> Outcome:
        def progress(event: Any) -> None:
            self.app.call_from_thread(self._step, event)

        def say(line: str) -> None:
            self.app.call_from_thread(self.write_line, line)

        plan = self.state.plan
        if plan is None:
            outcome = Outcome(False, error="nothing was reviewed", exit_code=exitcodes.ERROR)
        else:
            outcome = apply_change(
                self.wizard.engine,
                plan,
                progress=progress,
                say=say,
                confirm_within=self.state.confirm_within,
            )
        self.app.call_from_thread(self._done, outcome)
        return outcome

    def _record(self, outcome: Outcome) -> None:
        self.state.applied(outcome)

    def write_line(self, line: str) -> None:
        self.written.append(line)
        write_wrapped(self.query_one(RichLog), line)

    def _step(self, event: Any) -> None:
        self.write_line(step_line(event))

    def _done(self, result: Outcome) -> None:
        self._record(result)
        self.finished = True
        out = result.postfix_output.strip()
        if out:
            # Postfix repeats a warning once per service and map: one line per kind.
            self.folded = fold(out.splitlines())
            self.write_line("Postfix said:")
            for kind in self.folded[:MAX_OUTPUT_LINES]:
                self.write_line(f"  {kind.summary()}")
            if len(self.folded) > MAX_OUTPUT_LINES:
                self.write_line(
                    f"  ... {len(self.folded) - MAX_OUTPUT_LINES} more kinds: "
                    "pfwizard rollback --list shows the journal"
                )
            if self.session.demo and "/etc/postfix/" in out:
                self.write_line(
                    "  (demo: the copy's main.cf names Mail-in-a-Box's map files "
                    "under /etc/postfix, which this machine does not have)"
                )
            self.refresh_bindings()
        if result.ok:
            status = f"Applied (journal entry {result.entry_id or '?'}). n: next"
        elif result.refused:
            # Refused by a check (open relay, validation, files changed meanwhile): nothing
            # was written, exit 4 as for `pfwizard apply`.
            status = f"REFUSED: {result.error}. Nothing was written. n: next"
        else:
            status = f"FAILED: {result.error}. The previous configuration is in force. n: next"
        self.query_one("#apply-status", Static).update(status)
        self.refresh_title()
        if self.pending is not None:
            action, self.pending = self.pending, None
            self.answer_action(action)

    pending: str | None = None
    """An answers file's action, kept until the engine has finished."""

    def answer_action(self, action: str) -> None:
        if self.finished or action == "stay":
            super().answer_action(action)
        else:
            self.pending = action

    def action_all_warnings(self) -> None:
        """Every different line Postfix printed, below the summary (once)."""
        if not self.folded or self.expanded:
            return
        self.expanded = True
        self.write_line("Every line Postfix printed (each once):")
        for kind in self.folded:
            for line in kind.distinct:
                self.write_line(f"  {line}")
        self.query_one(RichLog).scroll_end(animate=False)

    def action_next(self) -> None:
        if not self.finished:
            self.notify("Apply is still running.", timeout=2)
            return
        self.finish(Action.NEXT)
