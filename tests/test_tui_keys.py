"""One key, one meaning, on every screen; and the keys that could hurt ask first.

Every binding of the wizard's screens and widgets has an id naming what it does; bindings
that do the same thing on different screens share it (``back``, ``cancel``, ``next``...).
A key bound under two ids anywhere means two different things: the test fails.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections import defaultdict

from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import TextArea

from pfwizard import screens, tui
from pfwizard.chain import Item
from pfwizard.screens.add_restriction import AddRestrictionScreen
from pfwizard.screens.choice import ChoiceScreen
from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.edit_argument import EditArgumentScreen
from pfwizard.screens.helo import HeloScreen
from pfwizard.screens.help import HelpScreen
from pfwizard.screens.milter_address import MilterAddressScreen
from pfwizard.screens.recipient import RecipientScreen
from pfwizard.screens.review import ReviewScreen
from pfwizard.screens.sender import SenderScreen
from pfwizard.screens.table_editor import TableEditorScreen
from pfwizard.screens.welcome import WelcomeScreen
from tests.tui_app import SIZE, make_app
from tests.tui_fakes import FakeEngine

SENDER = "smtpd_sender_restrictions"


def _modules() -> list[str]:
    names = []
    for pkg in (screens, tui, tui.widgets):
        names += [
            f"{pkg.__name__}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if not m.ispkg
        ]
    return names


def every_binding() -> list[tuple[str, Binding]]:
    """(class, binding) for every binding the wizard declares itself."""
    found = []
    for name in _modules():
        module = importlib.import_module(name)
        for cls_name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != name or not issubclass(cls, DOMNode):
                continue
            for b in cls.__dict__.get("BINDINGS", []):
                assert isinstance(b, Binding), f"{cls_name}: {b!r} is not a Binding"
                found.append((f"{name}.{cls_name}", b))
    return found


def meanings() -> dict[str, dict[str, list[str]]]:
    """key -> binding id -> where it is bound."""
    out: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for where, b in every_binding():
        for key in b.key.split(","):
            out[key.strip()][str(b.id)].append(where)
    return out


def test_every_binding_has_an_id():
    found = every_binding()
    assert len(found) > 40  # the collector sees the screens, the chain list and the app
    assert [w for w, b in found if not b.id] == []


def test_no_key_means_two_things():
    clashes = {key: dict(ids) for key, ids in meanings().items() if len(ids) > 1}
    assert clashes == {}, "keys bound to different actions: " + "; ".join(
        f"{key}: " + ", ".join(f"{i} ({', '.join(w)})" for i, w in ids.items())
        for key, ids in clashes.items()
    )


def test_apply_has_a_key_of_its_own():
    keys = meanings()
    apply_keys = {k for k, ids in keys.items() if "apply" in ids}
    assert apply_keys == {"w"}
    assert set(keys["w"]) == {"apply"}
    assert set(keys["a"]) == {"chain.add"}  # Add, never Apply


async def test_question_mark_opens_help_as_f1_does(tmp_path):
    app = make_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert "Apply" in app.screen.screen_help
        shown = "\n".join(str(s.render()) for s in app.screen.query("Static"))
        assert "w             apply" in shown and "? or f1" in shown  # the key list
        await pilot.press("question_mark")  # closes it again, like F1
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)
        await pilot.press("n", "f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("q")  # q is Quit elsewhere: it does not close help
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, HeloScreen)


async def test_question_mark_is_text_in_an_editor(tmp_path):
    app = make_app(tmp_path, start="sender")
    table = str(app.session.own_table_path("sender_access"))
    app.session.apply_answer(
        {
            "insert": f"check_sender_access regexp:{table}",
            "param": SENDER,
            "before": "reject_unknown_sender_domain",
        }
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "t")
        await pilot.pause()
        assert isinstance(app.screen, TableEditorScreen)
        await pilot.press(*"/a?b/", "space", *"OK")
        await pilot.pause()
        assert isinstance(app.screen, TableEditorScreen)
        assert "/a?b/ OK" in app.screen.query_one(TextArea).text


async def test_skip_without_edits_just_skips(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, RecipientScreen)


async def test_skip_with_edits_asks_keep_or_discard(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x", "s")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert SENDER in app.screen.question
        await pilot.press("escape")  # stay, edits kept
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen) and app.session.dirty("sender")
        await pilot.press("s", "j", "j", "enter")  # "Stay on this stage"
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen) and app.session.dirty("sender")
        await pilot.press("s", "enter")  # "Keep my changes and go on"
        await pilot.pause()
        assert isinstance(app.screen, RecipientScreen)
        assert app.session.dirty("sender")
        await pilot.press("b", "s", "j", "enter")  # back, then "Discard"
        await pilot.pause()
        assert isinstance(app.screen, RecipientScreen)
        assert not app.session.changed
        assert any("discarded" in n.message for n in app._notifications)
        await pilot.press("z")  # and undo brings them back
        assert app.session.dirty("sender")


async def test_apply_asks_naming_the_files_and_the_reload(tmp_path):
    app = make_app(tmp_path, start="review")
    table = str(app.session.own_table_path("sender_access"))
    app.session.apply_answer(
        {
            "insert": f"check_sender_access regexp:{table}",
            "param": SENDER,
            "before": "reject_unknown_sender_domain",
        }
    )
    app.session.apply_answer({"table": table, "content": "/x/ OK\n", "type": "regexp"})
    app.session.reload = True  # as on a real box (the question names the reload)
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")  # Add elsewhere; nothing here
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and app._engine.applied == []
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        q = app.screen.question
        assert f"change {app.session.config_dir}/main.cf" in q
        assert f"create {table}" in q
        assert f"reloads the Postfix that reads {app.session.config_dir}" in q
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and app._engine.applied == []
        await pilot.press("w", "y")
        await pilot.pause()
        assert len(app._engine.applied) == 1


async def test_apply_question_without_reload_says_so(tmp_path):
    app = make_app(tmp_path, start="review")
    app.session.set_value("smtpd_helo_required", "yes")
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await pilot.pause()
        assert "Nothing is reloaded" in app.screen.question


async def _open_table(app, pilot, *keys: str) -> TableEditorScreen:
    await pilot.press(*keys, "t")
    await pilot.pause()
    assert isinstance(app.screen, TableEditorScreen)
    return app.screen


async def test_escape_in_the_table_editor_asks_before_dropping_lines(tmp_path):
    app = make_app(tmp_path, start="sender")
    table = str(app.session.own_table_path("sender_access"))
    app.session.apply_answer(
        {
            "insert": f"check_sender_access regexp:{table}",
            "param": SENDER,
            "before": "reject_unknown_sender_domain",
        }
    )
    async with app.run_test(size=SIZE) as pilot:
        await _open_table(app, pilot, "j")
        await pilot.press("escape")  # nothing typed: leaves at once
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        editor = await _open_table(app, pilot)
        await pilot.press(*"/x/", "space", *"OK")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert table in app.screen.question
        await pilot.press("escape")  # keep editing
        await pilot.pause()
        assert app.screen is editor and "/x/ OK" in editor.content()
        await pilot.press("escape", "y")  # discard
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        assert app.session.table_text(table) == ""


async def test_escape_in_the_argument_editors_asks_when_typed(tmp_path):
    app = make_app(tmp_path, start="sender")
    table = str(app.session.own_table_path("sender_access"))
    app.session.apply_answer(
        {
            "insert": f"check_sender_access regexp:{table}",
            "param": SENDER,
            "before": "reject_unknown_sender_domain",
        }
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "e")
        await pilot.pause()
        assert isinstance(app.screen, EditArgumentScreen)
        await pilot.press("escape")  # unchanged: leaves at once
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        await pilot.press("e", "end", *"x")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        assert app.session.chain(SENDER).items[1] == Item("check_sender_access", f"regexp:{table}")
        # The Add dialog: the suggested argument changed by hand is typed text too.
        await pilot.press("a", *"check_sender_acc", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AddRestrictionScreen)
        await pilot.press("escape")  # the suggestion untouched: leaves at once
        await pilot.pause()
        assert isinstance(app.screen, SenderScreen)
        await pilot.press("a", *"check_sender_acc", "enter", "backspace")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AddRestrictionScreen)


async def test_escape_in_the_milter_address_asks_when_typed(tmp_path):
    app = make_app(tmp_path, start="milter")
    before = app.session.chain("smtpd_milters").names()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, MilterAddressScreen)
        await pilot.press(*"8891", "escape")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        assert not isinstance(app.screen, (ConfirmScreen, MilterAddressScreen))
        assert app.session.chain("smtpd_milters").names() == before


async def test_toggles_say_what_they_did(tmp_path):
    app = make_app(tmp_path, start="helo")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("h")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any("smtpd_helo_required = yes" in m and "HELO/EHLO" in m for m in said), said
        await pilot.press("h")
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any("smtpd_helo_required = no" in m for m in said), said
    app = make_app(tmp_path / "2", start="milter")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d", "p")
        await pilot.pause()
        said = " | ".join(n.message for n in app._notifications)
        assert "milter_default_action is now reject" in said
        assert "milter_protocol is now 5" in said
    app = make_app(tmp_path / "3", start="review")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("v")
        await pilot.pause()
        assert any("Confirm-or-revert is now on" in n.message for n in app._notifications)


async def test_an_answers_file_applies_without_the_question(tmp_path):
    from pfwizard.screens.apply import ApplyScreen

    answers = {
        "review": {"ops": [{"set": "smtpd_helo_required", "value": "yes"}], "action": "apply"}
    }
    app = make_app(tmp_path, start="review", answers=answers)
    app._engine = FakeEngine(app.session.engine())
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(20):
            await pilot.pause()
            if isinstance(app.screen, ApplyScreen):
                break
        assert isinstance(app.screen, ApplyScreen)
        await app.workers.wait_for_complete()
    assert len(app._engine.applied) == 1
