"""What the wizard knows between screens, typed: the plan the admin reviewed, what Apply did,
the restore being planned, the probe's sample addresses, the exit code.

One object, held by the App and read by every screen (subiquity keeps its model apart from
its views the same way); nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pfwizard import exitcodes

if TYPE_CHECKING:
    # Only for the type checker: defining Protocol classes costs start-up time, and the
    # first screen should come up as fast as Textual allows.
    from pfwizard.engine import Plan
    from pfwizard.intent.context import RestoreContext

    class EngineResult(Protocol):
        """What an apply or a rollback reports (``pfwizard.engine.ApplyResult``)."""

        @property
        def ok(self) -> bool: ...
        @property
        def entry_id(self) -> str | None: ...
        @property
        def error(self) -> str | None: ...
        @property
        def postfix_output(self) -> str: ...
        @property
        def refused(self) -> bool: ...

    class WizardEngine(Protocol):
        """The part of ``pfwizard.engine.Engine`` the wizard uses (tests use a fake)."""

        def plan(self, changeset: Any) -> Plan: ...
        def apply(
            self,
            plan: Plan,
            progress: Callable[[Any], None] | None = None,
            confirm_within: float | None = None,
        ) -> EngineResult: ...
        def confirm(self, entry_id: str) -> None: ...
        def history(self) -> Sequence[Any]: ...
        def history_scan(self) -> tuple[Sequence[Any], Sequence[tuple[str, str]]]: ...
        def diff(self, entry_id: str) -> str | None: ...
        def rollback_plan(self, entry_id: str) -> Any: ...
        def rollback(self, entry_id: str) -> EngineResult: ...


@dataclass(frozen=True)
class Outcome:
    """What Apply (the wizard's or a restore's) did, in the words the Done screen shows."""

    ok: bool
    entry_id: str | None = None
    error: str = ""
    postfix_output: str = ""
    refused: bool = False
    """Nothing was written: a check refused the change (exit 4, as ``pfwizard apply``)."""
    exit_code: int = exitcodes.OK
    reloaded: bool | None = None
    """Did the engine reload Postfix (None: it does not say, as for a restore)."""
    reload_note: str = ""
    """Why it did not (the reload step's first line), when it says."""

    @classmethod
    def of(cls, result: EngineResult) -> Outcome:
        ok, refused = bool(result.ok), bool(result.refused)
        code = exitcodes.OK if ok else exitcodes.REFUSED if refused else exitcodes.FAILED
        # The engine's last reload step says whether the change is in force or waits for
        # Postfix's next reload (--no-reload, a demo copy).
        steps = list(getattr(result, "steps", None) or [])
        step = next(
            (
                s
                for s in reversed(steps)
                if getattr(s, "step", "") == "reload"
                and getattr(s, "status", "") in ("ok", "skipped", "failed")
            ),
            None,
        )
        reloaded = None if step is None else getattr(step, "status", "") == "ok"
        note = (
            "" if step is None else (str(getattr(step, "detail", "") or "").splitlines() or [""])[0]
        )
        return cls(
            ok,
            result.entry_id,
            str(result.error or ""),
            str(result.postfix_output or ""),
            refused,
            code,
            reloaded,
            note,
        )


@dataclass(frozen=True)
class ProbeSample:
    """The addresses the live probe uses (a recipe fills them in, the probe screen keeps
    what the admin typed last)."""

    sender: str
    recipients: tuple[str, ...]


@dataclass
class WizardState:
    """Everything the screens share besides the Session (which holds the edits)."""

    start: str = "welcome"
    """The first screen (``restore`` for ``pfwizard restore``, ``rollback`` for the journal)."""
    notes: tuple[str, ...] = ()
    """Lines for the Welcome screen (e.g. what the demo skipped without Postfix)."""
    engine: WizardEngine | None = None
    """The apply engine, made on first use (Welcome and the stages never need it)."""
    plan: Plan | None = None
    """The plan the admin reviewed: Apply writes exactly this."""
    outcome: Outcome | None = None
    """What Apply did (None: nothing applied in this run)."""
    confirm_within: int | None = None
    """Seconds for confirm-or-revert (None: off)."""
    restore: RestoreContext | None = None
    """The restore being planned, shared by its three screens."""
    probe_sample: ProbeSample | None = None
    rolled_back: str | None = None
    """The journal entry the History screen rolled back last (cleared by an apply)."""
    exit_code: int = exitcodes.OK
    hook_dir: Path | None = None
    """Where the Done screen installs and looks for the restore hook (None: the system's
    /etc/systemd/system and /etc/cron.d; tests point it at a scratch dir)."""

    def applied(self, outcome: Outcome, *, restore: bool = False) -> None:
        """Apply (or a restore) finished: Done shows ``outcome``; a failure sets the exit
        code (``pfwizard restore`` keeps its documented codes, 10: restored)."""
        self.outcome, self.rolled_back = outcome, None
        if not outcome.ok or (restore and self.start == "restore"):
            self.exit_code = outcome.exit_code

    def write_state(self, *, demo: bool = False) -> str:
        """The words on every screen's title line: has anything been written?"""
        if self.rolled_back is not None:
            return f"entry {self.rolled_back} rolled back"
        if self.outcome is None:
            return "nothing has been written yet"
        if self.outcome.ok:
            return "written to the demo copy" if demo else "change applied"
        return "apply failed: previous config in force"
