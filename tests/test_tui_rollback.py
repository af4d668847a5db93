"""The Rollback screen on the real engine and journal: list, diff, restore with a yes."""

from __future__ import annotations

from pfwizard.commands.demo import localise
from pfwizard.session import Session
from screens.confirm import ConfirmScreen
from screens.rollback import RollbackScreen
from tests.conftest import needs_postfix
from tests.tui_app import SIZE, make_app, make_config


@needs_postfix
async def test_restore_an_applied_change_from_the_journal(tmp_path):
    make_config(tmp_path)
    localise(tmp_path)  # this machine has no /etc/mailname; the fixture's myorigin wants it

    def session() -> Session:
        return Session.open(tmp_path / "etc", tmp_path / "state", reload=False)

    s = session()
    main = s.config_dir / "main.cf"
    before = main.read_bytes()
    s.set_value("smtpd_helo_required", "yes")
    engine = s.engine()
    result = engine.apply(engine.plan(s.changeset()))
    assert result.ok, result.error
    assert b"smtpd_helo_required = yes" in main.read_bytes()

    app = make_app(tmp_path, start="rollback", session=session())
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, RollbackScreen)
        assert "+smtpd_helo_required = yes" in str(app.screen.query_one("#diff").render())
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, RollbackScreen)
    assert main.read_bytes() == before
    kinds = [e.kind for e in app.session.engine().history()]
    assert kinds == ["apply", "rollback"]
