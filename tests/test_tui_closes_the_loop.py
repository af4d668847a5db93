"""The wizard closes the loop: Done offers the after-upgrade restore hook (or says it is
installed and how its last run went), and a rollback from History resets "change applied"."""

from __future__ import annotations

from pfwizard import exitcodes
from pfwizard.commands.demo import localise
from pfwizard.intent.hook import record_outcome
from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.done import DoneScreen
from pfwizard.screens.rollback import RollbackScreen
from pfwizard.session import Session
from tests.conftest import needs_postfix
from tests.tui_app import SIZE, make_app, make_config
from tests.tui_fakes import FakeEngine


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def _to_done(app, pilot) -> None:
    await pilot.press("w")  # Apply asks first, naming what it writes
    await pilot.pause()
    assert isinstance(app.screen, ConfirmScreen)
    await pilot.press("y")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.press("n")
    await pilot.pause()
    assert isinstance(app.screen, DoneScreen)


async def test_done_offers_the_hook_and_installs_it(tmp_path):
    app = make_app(tmp_path, start="review")
    app.session.set_value("smtpd_helo_required", "yes")
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        await _to_done(app, pilot)
        body = text_of(app, "#done-body")
        assert "restore hook is not installed" in body and "Press i" in body
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        body = text_of(app, "#done-body")
        assert "Restore hook installed" in body and "It has not run yet" in body
        assert not app.screen.check_action("install_hook", ())  # h is no longer offered
    installed = list((tmp_path / "hooks").iterdir())
    assert installed, "nothing was installed"
    text = "".join(p.read_text() for p in installed)
    assert f"--config-dir {app.session.config_dir.resolve()} " in text


async def test_done_says_when_the_hook_last_ran(tmp_path):
    app = make_app(tmp_path, start="review")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "pfwizard-restore").write_text(
        f"*/15 * * * * root pfwizard --config-dir {app.session.config_dir.resolve()} "
        f"--state-dir {app.session.state_dir} restore --yes --hook\n"
    )
    record_outcome(app.session.state_dir, exitcodes.FAILED, "restore failed: postfix check")
    app.session.set_value("smtpd_helo_required", "yes")
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        await _to_done(app, pilot)
        body = text_of(app, "#done-body")
        assert "Restore hook installed (cron" in body
        assert "FAILED: restore failed: postfix check" in body


async def test_rollback_resets_change_applied(tmp_path):
    app = make_app(tmp_path, start="review")
    app.session.set_value("smtpd_helo_required", "yes")
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        await _to_done(app, pilot)
        assert "change applied" in text_of(app, "#title")
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, RollbackScreen)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        # The question names what goes back, customisations included.
        question = str(app.screen.question)
        assert "customizations.yaml (your recorded customisations" in question
        await pilot.press("y")
        await pilot.pause()
        title = text_of(app, "#title")
        assert "change applied" not in title and "rolled back" in title


@needs_postfix
async def test_the_wizard_records_and_rolls_back_intent_in_one_transaction(tmp_path):
    make_config(tmp_path)
    localise(tmp_path)  # this machine has no /etc/mailname; the fixture's myorigin wants it
    app = make_app(
        tmp_path,
        start="review",
        session=Session.open(tmp_path / "etc", tmp_path / "state", reload=False),
    )
    app.session.set_value("smtpd_helo_required", "yes")
    intent = tmp_path / "state" / "customizations.yaml"
    async with app.run_test(size=SIZE) as pilot:
        assert "customizations.yaml" in text_of(app, "#diff")  # Review shows the record
        await _to_done(app, pilot)
        assert app.state.outcome.ok, app.state.outcome.error
        assert "smtpd_helo_required" in intent.read_text()
        entry = app.engine.history()[-1]
        assert "intent" in [f.role for f in entry.files]
        await pilot.press("r")
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
    assert not intent.exists()  # there was none before the change
    assert b"smtpd_helo_required = yes" not in (tmp_path / "etc" / "main.cf").read_bytes()
