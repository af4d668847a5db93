"""One flow: every screen returns a typed result (an ``Action``), and ``tui/flow.py``'s one
table has a transition for each result each screen can return; no screen names a step."""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap
from pathlib import Path

import pytest

from pfwizard.tui.flow import (
    NUMBERED,
    STEP_IDS,
    STEPS,
    TRANSITIONS,
    Action,
    NoTransition,
    next_step,
)
from pfwizard.tui.stage import WizardScreen

ROOT = Path(__file__).resolve().parent.parent


def screen_classes() -> dict[str, type[WizardScreen]]:
    out = {}
    for s in STEPS:
        cls = s.screen_class()
        assert issubclass(cls, WizardScreen), s.id
        assert s.id == cls.STEP_ID, f"{cls.__name__} says it is {cls.STEP_ID!r}, not {s.id!r}"
        out[s.id] = cls
    return out


def finished_with(cls: type) -> set[Action]:
    """Every ``self.finish(Action.X)`` in the screen's own code and its screen parents'."""
    found: set[Action] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(("screens.", "tui.")):
            continue
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "finish"
            ):
                assert len(node.args) == 1 and not node.keywords, (
                    f"{klass.__name__}: finish takes what happened, never where to go"
                )
                arg = node.args[0]
                assert (
                    isinstance(arg, ast.Attribute)
                    and isinstance(arg.value, ast.Name)
                    and arg.value.id == "Action"
                ), f"{klass.__name__}: finish(Action.X)"
                found.add(Action[arg.attr])
    return found


def test_every_step_has_a_screen_and_a_row_in_the_table():
    screens = screen_classes()
    assert set(TRANSITIONS) == set(STEP_IDS) == set(screens)


def test_every_result_a_screen_can_return_has_a_transition():
    for step_id, cls in screen_classes().items():
        missing = cls.RESULTS - set(TRANSITIONS[step_id]) - {Action.QUIT}
        assert not missing, f"{step_id} can return {sorted(missing)} but the flow has no row"


def test_every_finish_in_the_screens_is_declared_in_their_results():
    for step_id, cls in screen_classes().items():
        undeclared = finished_with(cls) - cls.RESULTS
        assert not undeclared, (
            f"{cls.__name__} ({step_id}) returns {sorted(undeclared)} without listing it in RESULTS"
        )


def test_the_table_leads_only_to_steps_that_exist_and_each_step_is_reachable():
    targets = {t for row in TRANSITIONS.values() for t in row.values()}
    assert targets - {None} <= set(STEP_IDS)
    # probe is a dialog over Done (pushed, not a step the flow shows)
    assert set(STEP_IDS) - {"probe"} - {"welcome"} <= targets


def test_no_screen_names_the_step_it_goes_to():
    """The only place a step id is a destination is tui/flow.py."""
    for path in sorted((ROOT / "screens").glob("*.py")):
        text = path.read_text()
        assert "Action.GOTO" not in text and "next_step(" not in text, path.name


def test_the_numbered_steps_walk_forward_and_back():
    for here, there in itertools.pairwise(NUMBERED[1:6]):
        assert next_step(here, Action.NEXT) == there
        assert next_step(here, Action.SKIP) == there
        assert next_step(there, Action.BACK) == here
    assert next_step("review", Action.NEXT) == "apply"
    assert next_step("apply", Action.NEXT) == "done"


def test_quit_leaves_from_anywhere_and_an_unknown_result_is_a_clear_error():
    assert all(next_step(s, Action.QUIT) is None for s in STEP_IDS)
    with pytest.raises(NoTransition, match="apply"):
        next_step("apply", Action.RESTORE)
