"""The wizard's steps as data, the typed result every screen returns, and every transition.

One entry per step (subiquity's controllers, archinstall's typed results): a screen says
*what happened* (``Action.NEXT``, ``Action.HISTORY``...), never where to go; the one table
``TRANSITIONS`` below decides that, so the whole flow reads top to bottom here.  Each screen
class lists the results it can return (``RESULTS``); tests/test_tui_flow.py checks that every
one of them has a transition.  An answers mapping (step id -> ops + action) drives every
screen without a human (``pfwizard.wizard.answers``).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.screen import Screen


class Action(str, Enum):
    """What a screen's admin did (the result the screen returns)."""

    NEXT = "next"
    """Go on: the stage is done, the diff is accepted, the recipe is used..."""
    BACK = "back"
    SKIP = "skip"
    """Leave this stage's lists as they were read and go on."""
    QUIT = "quit"
    """Leave the wizard (from any screen)."""
    RECIPES = "recipes"
    """Open the recipes."""
    RESTORE = "restore"
    """Restore the recorded customisations (after a MiaB upgrade)."""
    HISTORY = "history"
    """Open the journal of every change (to roll one back)."""
    HELO = "helo"
    SENDER = "sender"
    RECIPIENT = "recipient"
    MILTER = "milter"
    """Open that stage directly (Welcome: the stage whose list refused a chosen reject)."""


# For code written against the old result type: a screen's result is its Action.
StageResult = Action


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    module: str
    cls: str
    in_progress: bool = True
    """Counted in "step n of m" (dialogs like rollback are reachable but not numbered)."""

    def screen_class(self) -> type[Screen[Action]]:
        cls: type[Screen[Action]] = getattr(
            importlib.import_module(f"pfwizard.screens.{self.module}"), self.cls
        )
        return cls

    def make(self) -> Screen[Action]:
        return self.screen_class()()


STEPS: tuple[Step, ...] = (
    Step("welcome", "Welcome", "welcome", "WelcomeScreen"),
    Step("helo", "HELO", "helo", "HeloScreen"),
    Step("sender", "Sender", "sender", "SenderScreen"),
    Step("recipient", "Recipient", "recipient", "RecipientScreen"),
    Step("milter", "Milters", "milter", "MilterScreen"),
    Step("review", "Review", "review", "ReviewScreen"),
    Step("apply", "Apply", "apply", "ApplyScreen"),
    Step("done", "Done", "done", "DoneScreen"),
    Step("rollback", "Rollback", "rollback", "RollbackScreen", in_progress=False),
    # Restore after a MiaB upgrade, recipes, live probe: reachable, not numbered.
    Step("restore", "Restore", "restore", "RestoreScreen", in_progress=False),
    Step("restore_review", "Restore: review", "restore", "RestoreReviewScreen", in_progress=False),
    Step("restore_apply", "Restore: apply", "restore", "RestoreApplyScreen", in_progress=False),
    Step("recipes", "Recipes", "recipes", "RecipesScreen", in_progress=False),
    Step("probe", "Live probe", "probe", "ProbeScreen", in_progress=False),
)
STEP_IDS = tuple(s.id for s in STEPS)
NUMBERED = tuple(s.id for s in STEPS if s.in_progress)

A = Action
_STAGE = {A.RECIPES: "recipes"}
"""Every chain stage opens the recipes (c)."""

TRANSITIONS: dict[str, dict[Action, str | None]] = {
    # step: {what the admin did: the step it leads to (None: leave the wizard)}
    "welcome": {
        A.NEXT: "helo",
        A.RESTORE: "restore",
        A.RECIPES: "recipes",
        A.HISTORY: "rollback",
        A.HELO: "helo",
        A.SENDER: "sender",
        A.RECIPIENT: "recipient",
        A.MILTER: "milter",
    },
    "helo": {A.NEXT: "sender", A.SKIP: "sender", A.BACK: "welcome", **_STAGE},
    "sender": {A.NEXT: "recipient", A.SKIP: "recipient", A.BACK: "helo", **_STAGE},
    "recipient": {A.NEXT: "milter", A.SKIP: "milter", A.BACK: "sender", **_STAGE},
    "milter": {A.NEXT: "review", A.SKIP: "review", A.BACK: "recipient", **_STAGE},
    "review": {A.NEXT: "apply", A.BACK: "milter"},
    "apply": {A.NEXT: "done"},
    "done": {A.HISTORY: "rollback"},
    "rollback": {A.BACK: "welcome"},
    "restore": {A.NEXT: "restore_review", A.BACK: "welcome"},
    "restore_review": {A.NEXT: "restore_apply", A.BACK: "restore"},
    "restore_apply": {A.NEXT: "done"},
    "recipes": {A.NEXT: "review", A.BACK: "welcome"},
    # The live probe is a dialog over Done (it dismisses with no result).
    "probe": {},
}


class NoTransition(LookupError):
    """A screen returned a result the flow has no transition for (a bug: the flow test
    checks every screen's RESULTS)."""


def step(step_id: str) -> Step:
    return STEPS[STEP_IDS.index(step_id)]


def next_step(current: str, result: Action) -> str | None:
    """Where a result leads (None: leave the wizard)."""
    if result is Action.QUIT:
        return None
    try:
        return TRANSITIONS[current][result]
    except KeyError:
        raise NoTransition(f"no transition from {current} for {result.value}") from None
