"""At 80x24 every screen and dialog keeps what has the focus on screen: the field Enter
commits is never below the bottom row (the Add dialog's argument once was).

Each case opens a screen or dialog with keys, then walks the focus with Tab; every widget that
gets the focus must lie wholly on the screen and inside what its containers show.
"""

from __future__ import annotations

import pytest
from textual.geometry import Region
from textual.widgets import Footer, Input, TextArea

from pfwizard import live_probe
from tests.test_tui_snapshots import seed_change
from tests.test_tui_snapshots_tuix import upgraded_app
from tests.tui_app import SIZE, make_app

TAB_WALK = 8
"""How many Tab presses each case walks (enough to come round on every dialog)."""


def _on_screen(app) -> str | None:
    """Why the focused widget is not wholly visible (None: it is)."""
    widget = app.focused
    if widget is None:
        return None
    screen_region = Region(0, 0, *app.size)
    try:
        geometry = app.screen.find_widget(widget)
    except Exception:  # not in the screen's map: not drawn at all
        return f"{widget!r} has the focus but is not drawn"
    region, clip = geometry.region, geometry.clip
    if not screen_region.contains_region(region):
        return f"{widget!r} at {region} runs off the {app.size} screen"
    if not clip.contains_region(region):
        return f"{widget!r} at {region} is cut off by its container ({clip})"
    for footer in app.screen.query(Footer):
        if footer.region.overlaps(region):
            return f"{widget!r} at {region} lies under the footer"
    if isinstance(widget, (Input, TextArea)) and widget.content_region.height < 1:
        # A frame with no row inside: an empty box where the admin is to type.
        return f"{widget!r} at {region} has no row for its text"
    return None


def _seeded(tmp, start):
    app = make_app(tmp, start=start)
    seed_change(app)
    return app


CASES = {
    # screens
    "welcome": (lambda t: make_app(t, start="welcome"), []),
    "helo": (lambda t: make_app(t, start="helo"), []),
    "sender": (lambda t: _seeded(t, "sender"), []),
    "recipient": (lambda t: make_app(t, start="recipient"), []),
    "milter": (lambda t: make_app(t, start="milter"), []),
    "review": (lambda t: _seeded(t, "review"), []),
    "rollback": (lambda t: make_app(t, start="rollback"), []),
    "recipes": (lambda t: make_app(t, start="recipes"), []),
    "recipe form": (lambda t: make_app(t, start="recipes"), ["enter"]),
    "recipe form 5": (lambda t: make_app(t, start="recipes"), ["end", "enter"]),
    "done": (lambda t: make_app(t, start="done"), []),
    "live probe": (lambda t: make_app(t, start="done"), ["f5"]),
    "restore": (lambda t: upgraded_app(t, "restore"), []),
    "restore review": (lambda t: upgraded_app(t, "restore"), ["n"]),
    # dialogs
    "add: filter": (lambda t: make_app(t, start="sender"), ["a"]),
    "add: list": (lambda t: make_app(t, start="sender"), ["a", *"sender", "down"]),
    "add: argument": (lambda t: make_app(t, start="sender"), ["a", *"sender", "down", "enter"]),
    "add: helo": (lambda t: make_app(t, start="helo"), ["a"]),
    "edit argument": (lambda t: make_app(t, start="sender"), ["j", "j", "j", "e"]),
    "edit, no argument": (lambda t: make_app(t, start="sender"), ["e"]),
    "table editor": (lambda t: _seeded(t, "sender"), ["j", "t"]),
    "table editor lookup": (lambda t: _seeded(t, "sender"), ["j", "t", "f3"]),
    "milter address": (lambda t: make_app(t, start="milter"), ["a"]),
    "skip with edits": (lambda t: make_app(t, start="sender"), ["x", "s"]),
    "quit question": (lambda t: make_app(t, start="sender"), ["x", "q"]),
    "accept danger": (lambda t: make_app(t, start="recipient"), ["l", "j", "j", "x", "n"]),
    "apply question": (lambda t: _seeded(t, "review"), ["w"]),
    "help": (lambda t: make_app(t, start="sender"), ["f1"]),
    "help on review": (lambda t: _seeded(t, "review"), ["question_mark"]),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_focused_widget_is_on_screen_at_80x24(tmp_path, case, monkeypatch):
    monkeypatch.setattr(live_probe, "smtp_listen_address", lambda cdir: ("127.0.0.1", 1))
    build, keys = CASES[case]
    app = build(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.1)
        screen = app.screen
        problem = _on_screen(app)
        assert problem is None, f"{case}: {problem}"
        for n in range(TAB_WALK):
            await pilot.press("tab")
            await pilot.pause()
            if app.screen is not screen:  # Tab never leaves a screen; stop if it did
                break
            problem = _on_screen(app)
            assert problem is None, f"{case}, after {n + 1} tab(s): {problem}"
