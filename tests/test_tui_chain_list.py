"""Every key of the reorderable chain list, its edges and undo (Pilot, 80x24)."""

from __future__ import annotations

import pytest

from pfwizard.tui.widgets.chain_list import ChainList
from tests.tui_app import SIZE, make_app

SENDER = "smtpd_sender_restrictions"
V75 = [
    "reject_non_fqdn_sender",
    "reject_unknown_sender_domain",
    "reject_authenticated_sender_login_mismatch",
    "reject_rhsbl_sender",
]


def names(app):
    return app.session.chain(SENDER).names()


def chain_list(app) -> ChainList:
    return app.screen.query_one(ChainList)


@pytest.mark.parametrize("down,up", [("j", "k"), ("down", "up")])
async def test_navigation_keys_and_edges(tmp_path, down, up):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        lst = chain_list(app)
        assert lst.highlighted == 0
        await pilot.press(up)
        assert lst.highlighted == 0  # top edge
        await pilot.press(down, down, down, down, down)
        assert lst.highlighted == 3  # bottom edge
        await pilot.press(up)
        assert lst.highlighted == 2
        assert not app.session.changed


@pytest.mark.parametrize(
    "move_down,move_up", [("J", "K"), ("shift+down", "shift+up"), ("ctrl+down", "ctrl+up")]
)
async def test_move_keys_follow_the_entry(tmp_path, move_down, move_up):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        lst = chain_list(app)
        await pilot.press(move_down)
        assert names(app)[:2] == [V75[1], V75[0]]
        assert lst.highlighted == 1
        await pilot.press(move_down, move_down)
        assert names(app)[-1] == V75[0] and lst.highlighted == 3
        await pilot.press(move_down)  # bottom edge: nothing moves
        assert names(app)[-1] == V75[0] and lst.highlighted == 3
        await pilot.press(move_up, move_up, move_up)
        assert names(app) == V75 and lst.highlighted == 0
        await pilot.press(move_up)  # top edge
        assert names(app) == V75
        assert not app.session.changed


@pytest.mark.parametrize("remove,undo", [("x", "z"), ("delete", "ctrl+z")])
async def test_remove_and_undo(tmp_path, remove, undo):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        lst = chain_list(app)
        await pilot.press("j", remove)
        assert names(app) == [V75[0], V75[2], V75[3]]
        assert lst.highlighted == 1
        await pilot.press("j", "j", remove)  # last entry: highlight stays on the new last
        assert names(app) == [V75[0], V75[2]]
        assert lst.highlighted == 1
        await pilot.press(remove, remove)
        assert names(app) == []
        await pilot.press(remove)  # empty list: nothing to remove, no crash
        await pilot.press(undo, undo, undo, undo)
        assert names(app) == V75
        assert not app.session.changed
        await pilot.press(undo)  # nothing left to undo
        assert names(app) == V75


@pytest.mark.parametrize("add", ["a", "insert"])
async def test_add_from_catalogue_with_argument(tmp_path, add):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", add)
        await pilot.pause()
        from pfwizard.screens.add_restriction import AddRestrictionScreen

        assert isinstance(app.screen, AddRestrictionScreen)
        await pilot.press(*"check_sender_acc")
        screen = app.screen
        assert [i.name for i in screen.shown] == ["check_sender_access"]
        await pilot.press("enter")
        await pilot.pause()
        arg = screen.query_one("#arg")
        assert arg.value.startswith("regexp:") and arg.value.endswith("pfwizard/sender_access")
        await pilot.press("enter")
        await pilot.pause()
        # A new own table opens the table editor right away.
        from pfwizard.screens.table_editor import TableEditorScreen

        assert isinstance(app.screen, TableEditorScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert names(app) == [V75[0], "check_sender_access", *V75[1:]]
        assert chain_list(app).highlighted == 1


async def test_add_filter_offers_only_stage_valid_entries(tmp_path):
    app = make_app(tmp_path, start="helo")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        shown = [i.name for i in app.screen.shown]
        from pfwizard import catalogue

        assert shown == [r.name for r in catalogue.for_list("helo")]
        assert "reject_multi_recipient_bounce" not in shown  # recipient/data only
        assert "reject_unknown_helo_hostname" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert not app.session.changed


async def test_add_without_argument_and_cancel(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", *"reject_non_fqdn_sender", "enter")
        await pilot.pause()
        assert names(app) == ["reject_non_fqdn_sender", *V75]
        await pilot.press("z")
        await pilot.press("a", "escape")
        await pilot.pause()
        assert names(app) == V75


@pytest.mark.parametrize("edit", ["e", "enter"])
async def test_edit_argument_validated(tmp_path, edit):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j", "j", edit)
        await pilot.pause()
        from pfwizard.screens.edit_argument import EditArgumentScreen

        screen = app.screen
        assert isinstance(screen, EditArgumentScreen)
        inp = screen.query_one("#arg")
        inp.value = "dbl.spamhaus.org, reject"
        await pilot.press("enter")
        await pilot.pause()
        assert "no spaces or commas" in str(screen.query_one("#error").render())
        inp.value = "dbl.spamhaus.org\x1b"
        await pilot.press("enter")
        await pilot.pause()
        assert "control characters" in str(screen.query_one("#error").render())
        inp.value = "dbl.example.test=127.0.1.2"
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.chain(SENDER).items[3].arg == "dbl.example.test=127.0.1.2"
        await pilot.press("z")
        assert app.session.chain(SENDER).items[3].arg == "dbl.spamhaus.org=127.0.1.[2..99]"


async def test_table_key_only_for_access_entries(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        from textual.screen import ModalScreen

        assert chain_list(app).check_action("table", ()) is False  # hidden in the footer
        await pilot.press("t")
        await pilot.pause()
        assert not isinstance(app.screen, ModalScreen)


async def test_fifteen_entry_chain_scrolls_and_moves(tmp_path):
    app = make_app(tmp_path, start="sender")
    for n in range(11):
        app.session.insert(
            SENDER,
            0,
            __import__("pfwizard.chain").chain.Item(
                "check_sender_access", f"hash:/etc/postfix/t{n}"
            ),
        )
    async with app.run_test(size=SIZE) as pilot:
        lst = chain_list(app)
        assert len(lst.items()) == 15
        await pilot.press(*["J"] * 14)
        assert lst.highlighted == 14
        assert names(app)[-1] == "check_sender_access"
        assert lst.scroll_offset.y > 0  # the moved entry stays in view
