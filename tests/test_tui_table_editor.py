"""The table editor: open from a check_*_access entry, validate, and the lookup tester that
answers as ``postmap -q`` and as smtpd's access(5) search."""

from __future__ import annotations

from textual.widgets import Static, TextArea

from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.sender import SenderScreen
from pfwizard.screens.table_editor import LINT_PAUSE, TableEditorScreen
from tests.conftest import needs_postfix
from tests.tui_app import SIZE, make_app

SENDER = "smtpd_sender_restrictions"
PATTERN = r"/esa[0-9]*\.?[acehimnops0-9]*[-]?[0-9]*\.?[acps23]*\.iphmx\.com/i PERMIT"


def add_seed_entry(app) -> str:
    table = str(app.session.own_table_path("sender_access"))
    app.session.apply_answer(
        {
            "insert": f"check_sender_access regexp:{table}",
            "param": SENDER,
            "before": "reject_unknown_sender_domain",
        }
    )
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
        assert (
            app.session.tables[str(app.session.own_table_path("sender_access"))].content
            == PATTERN + "\n"
        )


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
    app.session.apply_answer(
        {"insert": "check_sender_access hash:/etc/passwd", "param": SENDER, "index": 0}
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("t")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, TableEditorScreen)
        screen.query_one(TextArea).text = "x OK\n"
        await pilot.press("f2")
        await pilot.pause()
        assert "outside the Postfix configuration directory" in str(
            screen.query_one("#error").render()
        )
        assert not app.session.tables


@needs_postfix
async def test_each_line_is_checked_as_it_is_typed(tmp_path):
    """The seed's line, its action typed: once typing pauses the editor says DANGER and names
    an address the line lets through; the learned allowlist's line instead has no danger;
    the wizard then asks, naming the findings, before it goes on with the wide line saved."""
    app = make_app(tmp_path, start="sender")
    add_seed_entry(app)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_editor(app, pilot)
        area = screen.query_one(TextArea)
        area.text = PATTERN.removesuffix(" PERMIT")
        area.move_cursor(area.document.end)
        await pilot.press("space", *"PERMIT")
        await pilot.pause(LINT_PAUSE + 0.2)
        shown = str(screen.query_one("#lint").render())
        assert "X DANGER unanchored-end" in shown
        assert "esa.iphmx.com.attacker.example" in shown
        assert [f.code for f in screen.findings][:2] == ["unanchored-end", "matches-local-part"]
        screen.query_one(
            TextArea
        ).text = "/^mailer-daemon@esa[0-9]*(\\.[a-z0-9-]+){1,2}\\.iphmx\\.com$/ PERMIT\n"
        await pilot.pause(LINT_PAUSE + 0.2)
        assert "DANGER" not in str(screen.query_one("#lint").render())
        screen.query_one(TextArea).text = PATTERN + "\n"
        await pilot.pause(LINT_PAUSE + 0.2)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        # The session's findings read the table as saved (not yet on disk).
        blocking = app.session.blocking((SENDER,))
        assert {f.code for f in blocking} == {"unanchored-end", "matches-local-part"}
        assert all(f.acceptable for f in blocking)
        # Next asks, naming each finding; yes accepts them for this change.
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query(Static).first().render())
        assert question.count("X DANGER") >= 2, question
        assert "no '$' at the end" in question and "the user name included" in question
        assert "esa.iphmx.com.attacker.example" in question
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(app.screen, (ConfirmScreen, SenderScreen))
        assert all(app.session.is_accepted(f) for f in blocking)
