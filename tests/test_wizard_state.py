"""The wizard's typed state and its apply-then-record step, in the core (no Textual)."""

from __future__ import annotations

from types import SimpleNamespace

from pfwizard import exitcodes
from pfwizard.wizard.apply import apply_change, apply_restore, plan_change
from pfwizard.wizard.state import Outcome, WizardState
from tests.tui_app import make_session
from tests.tui_fakes import FakeEngine, Result


def test_an_outcome_carries_the_exit_code_pfwizard_apply_would_give():
    assert Outcome.of(Result(True)).exit_code == exitcodes.OK
    assert Outcome.of(Result(False, refused=True)).exit_code == exitcodes.REFUSED
    assert Outcome.of(Result(False)).exit_code == exitcodes.FAILED


def test_the_state_says_what_was_written_and_sets_the_exit_code():
    state = WizardState()
    assert state.write_state() == "nothing has been written yet"
    state.applied(Outcome.of(Result(False, refused=True)))
    assert state.exit_code == exitcodes.REFUSED
    assert state.write_state() == "apply failed: previous config in force"
    state.rolled_back = "20261121-0001"
    state.applied(Outcome.of(Result(True)))
    assert state.rolled_back is None and state.write_state() == "change applied"
    # A restore keeps `pfwizard restore`'s codes only when the wizard was opened for it.
    restored = Outcome(True, "e1", exit_code=exitcodes.CHANGED)
    wizard, restore = WizardState(), WizardState(start="restore")
    wizard.applied(restored, restore=True)
    restore.applied(restored, restore=True)
    assert (wizard.exit_code, restore.exit_code) == (exitcodes.OK, exitcodes.CHANGED)
    wizard.applied(Outcome(False, exit_code=exitcodes.FAILED), restore=True)
    assert wizard.exit_code == exitcodes.FAILED  # a failed restore from Welcome: exit 3


def test_apply_writes_the_plan_and_says_where_the_customisations_are_recorded(tmp_path):
    s = make_session(tmp_path)
    s.set_value("smtpd_helo_required", "yes")
    engine = FakeEngine(s.engine())
    plan = plan_change(s, engine)
    assert any(f.role == "intent" for f in plan.files)
    said: list[str] = []
    out = apply_change(engine, plan, confirm_within=120, say=said.append)
    assert out.ok and engine.applied == [(plan, 120)]
    assert said and said[0].startswith("customisations recorded in ")


def test_an_engine_that_raises_is_a_failed_outcome_not_a_crash(tmp_path):
    class Broken(FakeEngine):
        def apply(self, plan, progress=None, confirm_within=None):
            raise OSError("disk full")

    s = make_session(tmp_path)
    s.set_value("smtpd_helo_required", "yes")
    engine = Broken(s.engine())
    said: list[str] = []
    out = apply_change(engine, plan_change(s, engine), say=said.append)
    assert not out.ok and out.exit_code == exitcodes.FAILED and "disk full" in out.error
    assert said == []  # nothing recorded is claimed


def test_a_restore_outcome_keeps_the_last_line_said_as_its_error():
    def run(*, reload, say, output, steps):
        output("postconf: warning: one")  # Postfix's words, kept apart for folding
        say("refused: conflicts are open")
        return exitcodes.REFUSED

    ctx = SimpleNamespace(run=run, entry_id=None)
    out = apply_restore(ctx, reload=False, say=lambda line: None)  # type: ignore[arg-type]
    assert (out.ok, out.refused, out.error) == (False, True, "refused: conflicts are open")
    assert out.postfix_output == "postconf: warning: one"
    assert apply_restore(None, reload=False).exit_code == exitcodes.ERROR
