"""Each wizard stage driven with Pilot at 80x24: flow, blocking findings, review, apply."""

from __future__ import annotations

from pfwizard.findings import Finding, Severity
from pfwizard.screens.apply import ApplyScreen
from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.done import DoneScreen
from pfwizard.screens.helo import HeloScreen
from pfwizard.screens.help import HelpScreen
from pfwizard.screens.milter import MilterScreen
from pfwizard.screens.recipient import RecipientScreen
from pfwizard.screens.review import ReviewScreen
from pfwizard.screens.rollback import RollbackScreen
from pfwizard.screens.sender import SenderScreen
from pfwizard.screens.welcome import WelcomeScreen
from pfwizard.tui.widgets.chain_list import ChainList
from tests.tui_app import SIZE, make_app
from tests.tui_fakes import FakeEngine

SENDER = "smtpd_sender_restrictions"


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_walk_every_stage_forward_and_back(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, WelcomeScreen)
        body = text_of(app, "#welcome-body")
        assert "box.example.com" in body and "Nothing has been written yet" in body
        order = [HeloScreen, SenderScreen, RecipientScreen, MilterScreen, ReviewScreen]
        for cls in order:
            await pilot.press("n")
            await pilot.pause()
            assert isinstance(app.screen, cls), app.screen
            assert "nothing has been written yet" in text_of(app, "#title")
        for cls in reversed([WelcomeScreen, *order[:-1]]):
            await pilot.press("b")
            await pilot.pause()
            assert isinstance(app.screen, cls), app.screen
        assert len(app.screen_stack) == 2  # screens replace each other, no pile-up


async def test_helo_required_toggle_and_client_list(tmp_path):
    app = make_app(tmp_path, start="helo")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h")
        assert app.session.value("smtpd_helo_required") == "yes"
        assert "smtpd_helo_required = yes" in text_of(app, "#param-line")
        await pilot.press("l")
        assert app.screen.query_one(ChainList).param == "smtpd_client_restrictions"
        await pilot.press("l")
        assert app.screen.query_one(ChainList).param == "smtpd_helo_restrictions"
        await pilot.press("a", *"reject_invalid_helo", "enter")
        await pilot.pause()
        assert app.session.chain("smtpd_helo_restrictions").names() == [
            "reject_invalid_helo_hostname"
        ]
        assert app.session.dirty("helo")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)


async def test_skip_leaves_the_stage_as_it_was(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "J")
        assert app.session.dirty("sender")
        await pilot.press("s")
        await pilot.pause()
        await pilot.press("j", "enter")  # the question: discard my changes and go on
        await pilot.pause()
        assert isinstance(app.screen, RecipientScreen)
        assert not app.session.changed


async def test_open_relay_blocks_next_and_cannot_be_accepted(tmp_path):
    app = make_app(tmp_path, start="recipient")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("l")  # the relay list
        lst = app.screen.query_one(ChainList)
        assert lst.param == "smtpd_relay_restrictions"
        await pilot.press("j", "j", "x")
        assert "reject_unauth_destination" not in app.session.chain(lst.param).names()
        await pilot.pause(0.2)  # the panel follows the list a moment later (coalesced)
        assert "reject_unauth_destination" in text_of(app, "#danger")
        assert "Cannot be accepted" in text_of(app, "#danger")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, RecipientScreen)  # stopped, no accept dialog
        await pilot.press("z", "n")
        await pilot.pause()
        assert isinstance(app.screen, MilterScreen)


async def test_acceptable_danger_needs_an_explicit_yes(tmp_path, monkeypatch):
    import pfwizard.session as session_mod

    danger = Finding(
        "order-bypass",
        Severity.DANGER,
        "a PERMIT skips the DBL check",
        SENDER,
        "check_sender_access",
        0,
    )
    monkeypatch.setattr(session_mod, "analyse_params", lambda params, cdir, tables=None: [danger])
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        assert "X DANGER" in text_of(app, "#danger")
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # no: stay
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        await pilot.press("n")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, RecipientScreen)
        assert app.session.is_accepted(danger)


async def test_milter_stage(tmp_path):
    app = make_app(tmp_path, start="milter")
    async with app.run_test(size=SIZE) as pilot:
        panel = text_of(app, "#findings")
        assert "inet:127.0.0.1:8891" in panel and ("DOWN" in panel or "UP" in panel)
        await pilot.press("d")
        assert app.session.value("milter_default_action") == "reject"
        await pilot.press("d")
        assert app.session.value("milter_default_action") == "tempfail"
        assert "CAUTION" in text_of(app, "#findings") or "DANGER" in text_of(app, "#findings")
        await pilot.press("p")
        assert app.session.value("milter_protocol") == "5"
        await pilot.press("a")
        await pilot.pause()
        # Typed keys go after the prefilled "inet:127.0.0.1:" (it is not selected).
        await pilot.press(*"88g3", "enter")
        await pilot.pause()
        assert "'inet:127.0.0.1:88g3' is not a milter address" in text_of(app, "#error")
        await pilot.press(*["backspace"] * 4, *"11332", "enter")
        await pilot.pause()
        assert app.session.chain("smtpd_milters").names()[0] == "inet:127.0.0.1:11332"
        await pilot.press("l")
        assert "$smtpd_milters" in text_of(app, "#findings")


async def test_review_shows_the_diff_and_apply_reports_steps(tmp_path):
    app = make_app(tmp_path, start="review")
    async with app.run_test(size=SIZE) as pilot:
        assert "No change" in text_of(app, "#diff")
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)  # nothing to apply
    app = make_app(tmp_path / "2", start="review")
    app.session.set_value("smtpd_helo_required", "yes")
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        diff = text_of(app, "#diff")
        assert "+smtpd_helo_required = yes" in diff
        await pilot.press("v")
        assert "ON, 120 s" in text_of(app, "#review-status")
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "change " in app.screen.question and "main.cf" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, ApplyScreen)
        await app.workers.wait_for_complete()
        await pilot.pause()
        lines = "\n".join(app.screen.written)
        assert "[  ok  ] postfix check" in lines and "refreshing" in lines
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        body = text_of(app, "#done-body")
        assert "OK: the change is in force" in body and "Confirm within" in body
        assert str(app.session.state_dir) in body
        await pilot.press("y")
        assert app._engine.confirmed == ["20261122-0001"]
        assert "Confirmed" in text_of(app, "#done-body")
        assert "change applied" in text_of(app, "#title")


async def test_apply_failure_says_what_was_put_back(tmp_path):
    app = make_app(tmp_path, start="review")
    app.session.set_value("smtpd_helo_required", "yes")
    app._engine = FakeEngine(app.session.engine(), ok=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w", "y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "FAILED" in text_of(app, "#apply-status")
        assert "restored main.cf" in text_of(app, "#apply-status")
        await pilot.press("n")
        await pilot.pause()
        assert "FAILED: nothing changed" in text_of(app, "#done-body")
        assert app.state.exit_code == 3


async def test_review_refuses_an_open_relay(tmp_path):
    app = make_app(tmp_path, start="review")
    s = app.session
    s.remove("smtpd_relay_restrictions", 2)
    app._engine = FakeEngine(s.engine())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert app._engine.applied == []


async def test_rollback_screen_lists_journal_and_restores_with_confirmation(tmp_path):
    app = make_app(tmp_path)
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RollbackScreen)
        assert "+a = 2" in text_of(app, "#diff")
        await pilot.press("j", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert app._engine.rolled_back == ["20261121-0001"]
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


async def test_f1_help_is_for_the_focused_widget(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "move the highlighted entry" in app.screen.widget_help
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)


async def test_quit_with_unapplied_edits_asks_first(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        await pilot.press("q", "y")
        await pilot.pause()
    assert app.return_value == 0


async def test_answers_file_drives_every_screen(tmp_path):
    table = str(tmp_path / "etc" / "pfwizard" / "sender_access")
    answers = {
        "welcome": {"action": "next"},
        "helo": {"ops": [{"set": "smtpd_helo_required", "value": "yes"}], "action": "next"},
        "sender": {
            "ops": [
                {
                    "insert": f"check_sender_access regexp:{table}",
                    "param": SENDER,
                    "before": "reject_unknown_sender_domain",
                },
                {"table": table, "content": "/\\.iphmx\\.com$/ PERMIT\n", "type": "regexp"},
            ],
            "action": "next",
        },
        "recipient": {"action": "next"},
        "milter": {"action": "skip"},
        "review": {"action": "stay"},
    }
    app = make_app(tmp_path, answers=answers)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(20):
            await pilot.pause()
            if isinstance(app.screen, ReviewScreen):
                break
        assert isinstance(app.screen, ReviewScreen)
        diff = text_of(app, "#diff")
        assert "+/\\.iphmx\\.com$/ PERMIT" in diff
        assert "check_sender_access" in diff


class _RefusingEngine(FakeEngine):
    """The gate or validation refused: nothing was written."""

    def apply(self, plan, progress=None, confirm_within=None):
        res = super().apply(plan, progress, confirm_within)
        res.refused = True
        res.error = "blocked by 1 danger finding(s); nothing was written"
        return res


async def test_a_refused_apply_exits_4_and_says_nothing_was_written(tmp_path):
    app = make_app(tmp_path, start="review")
    app.session.set_value("smtpd_helo_required", "yes")
    app._engine = _RefusingEngine(app.session.engine(), ok=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w", "y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "REFUSED" in text_of(app, "#apply-status")
        assert "Nothing was written" in text_of(app, "#apply-status")
        assert app.state.exit_code == 4
