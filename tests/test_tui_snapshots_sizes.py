"""SVG snapshots of every screen at 120x40 (test_tui_snapshots*.py hold them at 80x24), and of
two screens each with NO_COLOR, on the Linux console (TERM=linux) and with --ascii.

Update after an intended change:
``pytest tests/test_tui_snapshots_sizes.py --snapshot-update`` (then read the new SVGs' text).
"""

from __future__ import annotations

import os

import pytest

from pfwizard import live_probe
from pfwizard.tui import glyphs
from tests.test_tui_snapshots import root, seed_change  # noqa: F401  (stable paths)
from tests.test_tui_snapshots_tuix import upgraded_app
from tests.tui_app import SIZE, make_app
from tests.tui_fakes import FakeEngine

WIDE = (120, 40)


def _seeded(path, start):
    app = make_app(path, start=start)
    seed_change(app)
    return app


async def _applied(pilot, then=()):
    app = pilot.app
    await pilot.press("w", "y")
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    for key in then:
        await pilot.press(key)
    await pilot.pause()


async def _restored(pilot):
    await pilot.press("n")
    await pilot.pause()
    await _applied(pilot)
    for _ in range(200):  # the engine runs postfix check for real
        if getattr(pilot.app.screen, "finished", False):
            break
        await pilot.pause(0.05)
    await pilot.pause()


async def _probe(pilot):
    await pilot.press("f5")
    for _ in range(100):
        await pilot.pause(0.05)
        screen = pilot.app.screen
        if getattr(screen, "last", None) is not None or any(
            "failed" in w or "could not" in w for w in getattr(screen, "written", [])
        ):
            break


def _with_engine(app):
    app._engine = FakeEngine(app.session.engine())
    return app


SCREENS = {
    "welcome": (lambda p: make_app(p, start="welcome"), []),
    "helo": (lambda p: make_app(p, start="helo"), []),
    "sender": (lambda p: _seeded(p, "sender"), ["j"]),
    "recipient": (lambda p: make_app(p, start="recipient"), []),
    "milter": (lambda p: make_app(p, start="milter"), []),
    "review": (lambda p: _seeded(p, "review"), []),
    "apply": (lambda p: _with_engine(_seeded(p, "review")), _applied),
    "done": (
        lambda p: _with_engine(_seeded(p, "review")),
        lambda pilot: _applied(pilot, then=["n"]),
    ),
    "rollback": (lambda p: make_app(p, start="rollback"), []),
    "restore": (lambda p: upgraded_app(p, "restore"), []),
    "restore_review": (lambda p: upgraded_app(p, "restore"), ["n"]),
    # The real restore engine on the upgraded copy (backup, write, postfix check; no reload).
    "restore_apply": (lambda p: upgraded_app(p, "restore"), lambda pilot: _restored(pilot)),
    "recipes": (lambda p: make_app(p, start="recipes"), []),
    "recipe_form": (lambda p: make_app(p, start="recipes"), ["enter", "f4"]),
    "probe": (lambda p: make_app(p, start="done"), _probe),
    "add_dialog": (lambda p: make_app(p, start="sender"), ["a", *"sender", "down", "enter"]),
    "table_editor": (lambda p: _seeded(p, "sender"), ["j", "t"]),
    # The dialogs, each over the screen that opens it.
    "help": (lambda p: make_app(p, start="sender"), ["f1"]),
    "edit_dialog": (lambda p: make_app(p, start="sender"), ["j", "j", "j", "e"]),
    "milter_address": (lambda p: make_app(p, start="milter"), ["a", *"88g3", "enter"]),
    "quit_question": (lambda p: make_app(p, start="sender"), ["x", "q"]),
    "open_relay_stopped": (lambda p: make_app(p, start="recipient"), ["l", "j", "j", "x", "n"]),
    "skip_question": (lambda p: _seeded(p, "sender"), ["s"]),
    "apply_question": (lambda p: _with_engine(_seeded(p, "review")), ["w"]),
    "discard_question": (lambda p: _seeded(p, "sender"), ["j", "t", "end", *"x", "escape"]),
}

NEW_AT_80X24 = ["skip_question", "apply_question", "discard_question"]
"""Dialogs whose 80x24 picture the other snapshot files don't hold."""


def _snap(snap_compare, app, keys, size) -> bool:
    if callable(keys):
        return snap_compare(app, terminal_size=size, run_before=keys)

    async def press(pilot):
        for key in keys:
            await pilot.press(key)
            # The risk panel follows the list a moment later (coalesced): let it settle.
            await pilot.pause(0.1)

    return snap_compare(app, terminal_size=size, run_before=press)


@pytest.fixture(autouse=True)
def _no_probe(monkeypatch):
    monkeypatch.setattr(live_probe, "smtp_listen_address", lambda cdir: ("127.0.0.1", 1))


@pytest.mark.parametrize("screen", list(SCREENS))
def test_at_120x40(snap_compare, root, screen):  # noqa: F811
    build, keys = SCREENS[screen]
    assert _snap(snap_compare, build(root), keys, WIDE)


@pytest.mark.parametrize("screen", NEW_AT_80X24)
def test_at_80x24(snap_compare, root, screen):  # noqa: F811
    build, keys = SCREENS[screen]
    assert _snap(snap_compare, build(root), keys, SIZE)


def test_add_dialog_argument_at_80x24(snap_compare, root):  # noqa: F811
    """The Add dialog's argument, with the picked entry's whole risk above it (issue: the
    field was below the screen and the warning's end cut off)."""
    build, keys = SCREENS["add_dialog"]
    assert _snap(snap_compare, build(root), keys, SIZE)


@pytest.mark.parametrize("screen", ["sender", "review"])
def test_no_color(snap_compare, root, screen, monkeypatch):  # noqa: F811
    monkeypatch.delenv("NO_COLOR", raising=False)
    build, keys = SCREENS[screen]
    app = _rebuild_no_color(build(root))
    try:
        assert _snap(snap_compare, app, keys, SIZE)
    finally:
        os.environ.pop("NO_COLOR", None)  # --no-color set it for Textual


def _rebuild_no_color(app):
    """The same session in an app made with --no-color (Textual reads NO_COLOR at build)."""
    from tests.tui_app import TestApp

    new = TestApp(app.session, start=app.state.start, no_color=True)
    new.state.hook_dir = app.state.hook_dir
    return new


@pytest.mark.parametrize("screen", ["sender", "recipe_form"])
def test_linux_console(snap_compare, root, screen, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TERM", "linux")
    build, keys = SCREENS[screen]
    app = build(root)
    assert app.glyphs is glyphs.CONSOLE
    assert _snap(snap_compare, app, keys, SIZE)


@pytest.mark.parametrize("screen", ["review", "recipes"])
def test_ascii(snap_compare, root, screen):  # noqa: F811
    build, keys = SCREENS[screen]
    built = build(root)
    # The same session in an app made with --ascii (the glyphs are chosen at build, before
    # Textual first reads the CSS).
    from tests.tui_app import TestApp

    app = TestApp(built.session, start=built.state.start, ascii=True)
    app.state.hook_dir = built.state.hook_dir
    assert app.glyphs is glyphs.ASCII
    assert _snap(snap_compare, app, keys, SIZE)


def _impact_report() -> list[str]:
    """What the bench's allowlist change reports (a real ``render``, fixed figures)."""
    from pfwizard.impact.report import Accuracy, Example, Group, ImpactReport, render

    esa = Example(
        "127.0.0.21",
        "esa3.hc1234-5.iphmx.com",
        "MAILER-DAEMON@esa3.hc1234-5.iphmx.com",
        "dmarc@example.com",
        4,
        "450 4.1.8 Sender address rejected: Domain not found",
        "250 2.1.5 Ok",
        True,
    )
    rep = ImpactReport(
        "this change",
        total=1365,
        distinct=1124,
        replayed=1000,
        unchanged=884,
        newly_accepted=[
            Group("Sender address rejected: Domain not found", 116, 29, "", [esa], 116)
        ],
        newly_accepted_senders="all MAILER-DAEMON@esa...iphmx.com",
        authenticated_skipped=365,
        helo_from_client_name=884,
        policy_services=["inet:127.0.0.1:10023"],
        accuracy=Accuracy(compared=984, agreed=984, left_out=141),
        rate=50,
        dns_names=212,
    )
    return render(rep)


@pytest.mark.parametrize("size", [SIZE, WIDE], ids=["80x24", "120x40"])
def test_impact_panel(snap_compare, root, size, monkeypatch):  # noqa: F811
    """Review after I: the report under the diff, scrolled into view."""
    from pfwizard.screens import impact

    monkeypatch.setattr(impact, "unavailable", lambda session: None)
    monkeypatch.setattr(impact, "run", lambda *a: _impact_report())

    async def press(pilot):
        await pilot.press("I")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1)

    assert snap_compare(_seeded(root, "review"), terminal_size=size, run_before=press)
