"""The answers file drives every screen, recipes, restore and the journal included, with no
key pressed; the core reads and checks it (pfwizard.wizard.answers)."""

from __future__ import annotations

import json
import time

import pytest

from pfwizard import exitcodes
from pfwizard.errors import ConfigError, ValueRefused
from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.done import DoneScreen
from pfwizard.screens.rollback import RollbackScreen
from pfwizard.wizard.answers import Answer, apply_op, load_answers, parse_answers
from tests.conftest import needs_postfix
from tests.test_live_probe import fake_smtp  # noqa: F401  (the fixture)
from tests.tui_app import SIZE, make_app, make_session
from tests.tui_fakes import FakeEngine

SENDER = "smtpd_sender_restrictions"


async def settle(pilot, cond, timeout=30.0):
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        await pilot.pause(0.05)
    assert cond()
    await pilot.pause()  # let the screen finish mounting before the app is closed


def on_done(app) -> bool:
    return isinstance(app.screen, DoneScreen) and bool(app.screen.query("#done-body"))


async def test_answers_drive_welcome_a_recipe_review_apply_to_done(tmp_path):
    answers = {
        "welcome": {"action": "recipes"},
        "recipes": {
            "recipe": "allowlist-unresolved-senders",
            "inputs": {"sender": ""},  # no sample: Done does not probe
            "placement": "after-rhsbl",
            "action": "use",
        },
        "review": {"action": "apply"},
        "apply": {"action": "next"},
        "done": {"action": "stay"},
    }
    app = make_app(tmp_path, answers=answers)
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: on_done(app))
        assert len(app._engine.applied) == 1
        assert app.state.outcome is not None and app.state.outcome.ok
        assert app.answers == {}  # every answer was used
    chain = app.session.value(SENDER) or ""
    assert "reject_rhsbl_sender" in chain.split("check_sender_access")[0]  # the placement
    [table] = app.session.tables
    assert "iphmx" in app.session.tables[table].content


async def test_answers_restore_an_entry_from_the_journal_without_the_question(tmp_path):
    answers = {"rollback": {"entry": "20261121-0001", "action": "restore"}}
    app = make_app(tmp_path, start="rollback", answers=answers)
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app._engine.rolled_back != [])
        assert isinstance(app.screen, RollbackScreen)
        assert not isinstance(app.screen, ConfirmScreen)
    assert app._engine.rolled_back == ["20261121-0001"]
    assert app.state.rolled_back == "20261121-0001"


@needs_postfix
async def test_answers_drive_a_restore_after_an_upgrade(tmp_path):
    from tests.test_tui_restore import app_for, upgraded

    config_dir, state_dir = upgraded(tmp_path)
    app = app_for(config_dir, state_dir)
    app.answers = parse_answers(
        {
            "restore": {"action": "next"},
            "restore_review": {"action": "apply"},
            "restore_apply": {"action": "next"},
            "done": {"action": "stay"},
        }
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: on_done(app), timeout=90)
        assert app.state.outcome is not None and app.state.outcome.ok
    assert app.state.exit_code == 10  # `pfwizard restore`'s "restored"
    from pfwizard.maincf import MainCf

    assert "check_sender_access" in (MainCf.read(config_dir / "main.cf").get(SENDER) or "")


def test_answers_naming_a_screen_the_wizard_lacks_are_refused(tmp_path):
    with pytest.raises(ValueRefused, match="nope"):
        make_app(tmp_path, answers={"nope": {"action": "next"}})


async def test_an_input_a_screen_does_not_take_is_refused(tmp_path):
    app = make_app(tmp_path, start="review", answers={"review": {"colour": "red"}})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
    # The run ends with the reason for the command to say in one line (exit 2).
    assert app.answer_refused is not None and "colour" in app.answer_refused
    assert app.return_code == exitcodes.ERROR


def test_the_answers_file_is_json_and_errors_name_file_and_line(tmp_path):
    path = tmp_path / "answers.json"
    path.write_text(
        json.dumps(
            {"welcome": {"action": "recipes"}, "recipes": {"recipe": "opendmarc", "action": "use"}}
        )
    )
    answers = load_answers(path)
    assert answers["welcome"] == Answer("recipes")
    assert answers["recipes"].fields == {"recipe": "opendmarc"}
    path.write_text('{"welcome":\n  {"action": }}')
    with pytest.raises(ConfigError, match=r"answers.json, line 2"):
        load_answers(path)
    path.write_text('{"welcome": {"ops": "no"}}')
    with pytest.raises(ConfigError, match="ops are a list"):
        load_answers(path)


def test_the_ops_edit_the_session_and_an_unknown_op_is_refused(tmp_path):
    s = make_session(tmp_path)
    apply_op(s, {"insert": "reject_non_fqdn_helo_hostname", "param": "smtpd_helo_restrictions"})
    apply_op(s, {"set": "smtpd_helo_required", "value": "yes"})
    assert "reject_non_fqdn_helo_hostname" in (s.value("smtpd_helo_restrictions") or "")
    assert s.value("smtpd_helo_required") == "yes"
    with pytest.raises(ValueRefused, match="unknown answer operation"):
        apply_op(s, {"frobnicate": 1})


async def test_answers_drive_the_live_probe_from_done(tmp_path, fake_smtp, monkeypatch):  # noqa: F811
    from pfwizard import live_probe
    from pfwizard.screens.probe import ProbeScreen

    monkeypatch.setattr(live_probe, "smtp_listen_address", lambda cdir: ("127.0.0.1", fake_smtp))
    answers = {
        "done": {"action": "probe"},
        "probe": {
            "sender": "x@nowhere.example",
            "recipients": ["admin@box.example.com"],
            "action": "probe",
        },
    }
    app = make_app(tmp_path, start="done", answers=answers)
    async with app.run_test(size=SIZE) as pilot:
        await settle(
            pilot, lambda: isinstance(app.screen, ProbeScreen) and app.screen.last is not None
        )
        assert "deferred: 450 4.1.8" in "\n".join(app.screen.written)
