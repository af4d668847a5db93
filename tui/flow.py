"""The wizard's steps as data, and the typed result every screen returns.

One entry per step (subiquity's controllers, archinstall's typed results): the order reads top
to bottom here, each screen returns a ``StageResult`` and the flow decides where to go.  An
answers mapping (step id -> ops + action) drives every screen without a human, for tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.screen import Screen


class Action(str, Enum):
    NEXT = "next"
    BACK = "back"
    SKIP = "skip"
    QUIT = "quit"
    GOTO = "goto"


@dataclass(frozen=True)
class StageResult:
    action: Action
    target: str | None = None
    """For GOTO: the step id to show (e.g. ``rollback`` from Welcome)."""


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    make: Callable[[], Screen[StageResult]]
    in_progress: bool = True
    """Counted in "step n of m" (dialogs like rollback are reachable but not numbered)."""


def _screen(module: str, cls: str) -> Callable[[], Any]:
    def make() -> Any:
        import importlib

        return getattr(importlib.import_module(f"screens.{module}"), cls)()
    return make


STEPS: tuple[Step, ...] = (
    Step("welcome", "Welcome", _screen("welcome", "WelcomeScreen")),
    Step("helo", "HELO", _screen("helo", "HeloScreen")),
    Step("sender", "Sender", _screen("sender", "SenderScreen")),
    Step("recipient", "Recipient", _screen("recipient", "RecipientScreen")),
    Step("milter", "Milters", _screen("milter", "MilterScreen")),
    Step("review", "Review", _screen("review", "ReviewScreen")),
    Step("apply", "Apply", _screen("apply", "ApplyScreen")),
    Step("done", "Done", _screen("done", "DoneScreen")),
    Step("rollback", "Rollback", _screen("rollback", "RollbackScreen"), in_progress=False),
    # tuix hook (issues 6, 7): restore after a MiaB upgrade, recipes, live probe.  Their
    # screens always leave with GOTO, so the numbered order above is untouched.
    Step("restore", "Restore", _screen("restore", "RestoreScreen"), in_progress=False),
    Step("restore_review", "Restore: review", _screen("restore", "RestoreReviewScreen"),
         in_progress=False),
    Step("restore_apply", "Restore: apply", _screen("restore", "RestoreApplyScreen"),
         in_progress=False),
    Step("recipes", "Recipes", _screen("recipes", "RecipesScreen"), in_progress=False),
    Step("probe", "Live probe", _screen("probe", "ProbeScreen"), in_progress=False),
)
STEP_IDS = tuple(s.id for s in STEPS)
NUMBERED = tuple(s.id for s in STEPS if s.in_progress)


def step(step_id: str) -> Step:
    return STEPS[STEP_IDS.index(step_id)]


def next_step(current: str, result: StageResult) -> str | None:
    """Where a result leads (None: leave the wizard)."""
    if result.action is Action.QUIT:
        return None
    if result.action is Action.GOTO:
        return result.target
    if current == "rollback":
        return "welcome"
    order = NUMBERED
    i = order.index(current)
    if result.action is Action.BACK:
        return order[max(0, i - 1)]
    return order[i + 1] if i + 1 < len(order) else None
