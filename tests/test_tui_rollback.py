"""The Rollback screen on the real engine and journal: list, diff, restore with a yes."""

from __future__ import annotations

from pfwizard.commands.demo import localise
from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.rollback import RollbackScreen
from pfwizard.session import Session
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


@needs_postfix
async def test_an_unreadable_journal_entry_is_a_row_not_a_silence(tmp_path):
    """An entry.json broken on disk is listed in `rollback --list`'s words; its row shows why
    and restores nothing; the readable entries around it work as before."""
    from pfwizard.engine.journal import unreadable_words

    make_config(tmp_path)
    localise(tmp_path)
    s = Session.open(tmp_path / "etc", tmp_path / "state", reload=False)
    s.set_value("smtpd_helo_required", "yes")
    engine = s.engine()
    assert engine.apply(engine.plan(s.changeset())).ok
    broken = tmp_path / "state" / "journal" / "2"
    broken.mkdir(mode=0o700)
    (broken / "entry.json").write_bytes(b"{not json")
    _, unreadable = engine.history_scan()
    ((bad_id, why),) = unreadable

    app = make_app(
        tmp_path,
        start="rollback",
        session=Session.open(tmp_path / "etc", tmp_path / "state", reload=False),
    )
    async with app.run_test(size=SIZE) as pilot:
        screen = app.screen
        assert isinstance(screen, RollbackScreen)
        lst = screen.query_one("#journal")
        lines = [str(lst.get_option_at_index(i).prompt) for i in range(lst.option_count)]
        assert lines[0] == f"2 {unreadable_words(why)}" and bad_id == "2"
        assert lines[1].startswith("1 ") and len(lines) == 2
        assert "cannot be read" in str(screen.query_one("#diff").render())
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RollbackScreen)  # nothing to ask: nothing to restore
        assert any("unreadable" in str(n.message) for n in app._notifications)
        await pilot.press("j")
        await pilot.pause()
        assert "+smtpd_helo_required = yes" in str(screen.query_one("#diff").render())
