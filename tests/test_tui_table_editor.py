"""The table editor: open from a check_*_access entry, validate, and the lookup tester that
answers as ``postmap -q`` and as smtpd's access(5) search."""

from __future__ import annotations

from textual.widgets import TextArea

from screens.sender import SenderScreen
from screens.table_editor import TableEditorScreen
from tests.conftest import needs_postfix
from tests.tui_app import SIZE, make_app

SENDER = "smtpd_sender_restrictions"
PATTERN = r"/esa[0-9]*\.?[acehimnops0-9]*[-]?[0-9]*\.?[acps23]*\.iphmx\.com/i PERMIT"


def add_seed_entry(app) -> str:
    table = str(app.session.own_table_path("sender_access"))
    app.session.apply_answer({"insert": f"check_sender_access regexp:{table}",
                              "param": SENDER, "before": "reject_unknown_sender_domain"})
    return table


async def open_editor(app, pilot) -> TableEditorScreen:
    await pilot.press("j", "t")
    await pilot.pause()
    assert isinstance(app.screen, TableEditorScreen)
    return app.screen


@needs_postfix
async def test_lookup_tester_answers_both_ways(tmp_path):
    app = make_app(tmp_path, start="sender")
    add_seed_entry(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(app, pilot)
        screen.query_one(TextArea).text = PATTERN + "\n"
        await pilot.press("f3")
        await pilot.press(*"MAILER-DAEMON@esa4.commscope.iphmx.com", "enter")
        await pilot.pause()
        answer = str(screen.query_one("#answer").render())
        assert "postmap -q MAILER-DAEMON@esa4.commscope.iphmx.com: PERMIT" in answer
        assert "smtpd (check_sender_access): PERMIT" in answer
        # The seed's own surprise: regexp tables are not case-folded, so postmap finds
        # nothing for the upper-case key, while smtpd's search...
        inp = screen.query_one("#lookup")
        inp.value = "MAILER-DAEMON@esa.HC3512-62.iphmx.com"
        await pilot.press("enter")
        await pilot.pause()
        answer = str(screen.query_one("#answer").render())
        assert "postmap -q MAILER-DAEMON@esa.HC3512-62.iphmx.com: (not found)" in answer
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        assert app.session.tables[str(app.session.own_table_path("sender_access"))].content \
            == PATTERN + "\n"


@needs_postfix
async def test_bad_line_is_refused_on_save(tmp_path):
    app = make_app(tmp_path, start="sender")
    add_seed_entry(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(app, pilot)
        screen.query_one(TextArea).text = "/unbalanced(/ PERMIT\n"
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, TableEditorScreen)
        assert "line 1" in str(screen.query_one("#error").render())
        assert not app.session.tables


async def test_escape_keeps_the_table_unchanged(tmp_path):
    app = make_app(tmp_path, start="sender")
    add_seed_entry(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(app, pilot)
        screen.query_one(TextArea).text = "x PERMIT\n"
        await pilot.press("escape", "y")  # typed lines: it asks before dropping them
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        assert not app.session.tables


async def test_tables_outside_the_config_dir_are_refused(tmp_path):
    app = make_app(tmp_path, start="sender")
    app.session.apply_answer({"insert": "check_sender_access hash:/etc/passwd",
                              "param": SENDER, "index": 0})
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TableEditorScreen)
        screen.query_one(TextArea).text = "x OK\n"
        await pilot.press("f2")
        await pilot.pause()
        assert "outside the Postfix configuration directory" in str(
            screen.query_one("#error").render())
        assert not app.session.tables
