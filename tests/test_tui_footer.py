"""The wizard's footer follows the keys that apply, and is not rebuilt when they stay."""

from __future__ import annotations

from pfwizard.tui.widgets.keys_footer import KeysFooter
from textual.widgets._footer import FooterKey

from pfwizard.chain import Item
from tests.tui_app import SIZE, make_app, make_session

SENDER = "smtpd_sender_restrictions"


def footer_line(app) -> str:
    return app.screen._compositor.render_strips()[-1].text.rstrip()


async def test_table_key_comes_and_goes_with_the_highlight(tmp_path):
    session = make_session(tmp_path)
    session.insert(SENDER, 1, Item("check_sender_access", "hash:/etc/postfix/sender_access"))
    app = make_app(tmp_path, start="sender", session=session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "Table" not in footer_line(app)
        await pilot.press("j")  # onto check_sender_access
        await pilot.pause()
        assert "t Table" in footer_line(app)
        await pilot.press("j")
        await pilot.pause()
        assert "Table" not in footer_line(app)


async def test_same_keys_keep_the_same_footer(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = app.screen.query_one(KeysFooter)
        before = list(footer.query(FooterKey))
        assert before
        for _ in range(3):  # focus changes, resumed screens... signal "bindings changed"
            app.screen.refresh_bindings()
        await pilot.press("J")  # a move changes the list, not the keys
        await pilot.pause()
        assert list(footer.query(FooterKey)) == before
        assert "Quit" in footer_line(app)
