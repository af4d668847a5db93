"""SVG snapshots at 80x24 of every screen (pytest-textual-snapshot).

Update after an intended change: ``pytest tests/test_tui_snapshots.py --snapshot-update``.
Paths shown on screen come from a fixed directory so the pictures are stable.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tui_app import SIZE, make_app
from tests.tui_fakes import FakeEngine

SNAP_ROOT = Path("/tmp/pfwizard-snapshots")
SENDER = "smtpd_sender_restrictions"


@pytest.fixture
def root(request) -> Path:
    path = SNAP_ROOT / request.node.name.replace("[", "_").replace("]", "")
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def seed_change(app) -> str:
    s = app.session
    table = str(s.own_table_path("sender_access"))
    s.apply_answer(
        {
            "insert": f"check_sender_access regexp:{table}",
            "param": SENDER,
            "before": "reject_unknown_sender_domain",
        }
    )
    s.apply_answer(
        {
            "table": table,
            "type": "regexp",
            "content": "# Cisco Secure Email Threat Defense (DMARC domains)\n"
            "/^MAILER-DAEMON@esa[0-9]*\\.([a-z0-9-]+\\.){1,2}iphmx\\.com$/ "
            "PERMIT\n",
        }
    )
    return table


@pytest.mark.parametrize(
    "step", ["welcome", "helo", "sender", "recipient", "milter", "review", "rollback"]
)
def test_screen(snap_compare, root, step):
    assert snap_compare(make_app(root, start=step), terminal_size=SIZE)


def test_sender_after_seed_change(snap_compare, root):
    app = make_app(root, start="sender")
    seed_change(app)
    assert snap_compare(app, terminal_size=SIZE, press=["j"])


def test_add_dialog_filtered(snap_compare, root):
    assert snap_compare(make_app(root, start="sender"), terminal_size=SIZE, press=["a", *"unknown"])


def test_add_dialog_argument(snap_compare, root):
    assert snap_compare(
        make_app(root, start="sender"),
        terminal_size=SIZE,
        press=["a", *"check_sender_acc", "enter"],
    )


def test_edit_dialog(snap_compare, root):
    assert snap_compare(
        make_app(root, start="sender"), terminal_size=SIZE, press=["j", "j", "j", "e"]
    )


def test_table_editor(snap_compare, root):
    app = make_app(root, start="sender")
    seed_change(app)
    assert snap_compare(app, terminal_size=SIZE, press=["j", "t"])


def test_open_relay_stopped(snap_compare, root):
    assert snap_compare(
        make_app(root, start="recipient"), terminal_size=SIZE, press=["l", "j", "j", "x", "n"]
    )


def test_review_with_seed_diff(snap_compare, root):
    app = make_app(root, start="review")
    seed_change(app)
    assert snap_compare(app, terminal_size=SIZE)


def test_apply_and_done(snap_compare, root):
    app = make_app(root, start="review")
    seed_change(app)
    app._engine = FakeEngine(app.session.engine())

    async def run(pilot):
        await pilot.press("w", "y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_done(snap_compare, root):
    app = make_app(root, start="review")
    seed_change(app)
    app._engine = FakeEngine(app.session.engine())

    async def run(pilot):
        await pilot.press("w", "y")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.press("n")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run)


def test_help(snap_compare, root):
    assert snap_compare(make_app(root, start="sender"), terminal_size=SIZE, press=["f1"])


def test_quit_confirmation(snap_compare, root):
    async def run(pilot):
        await pilot.press("x")
        await pilot.pause(0.2)  # the risk panel follows the list a moment later (coalesced)
        await pilot.press("q")
        await pilot.pause()

    assert snap_compare(make_app(root, start="sender"), terminal_size=SIZE, run_before=run)


def test_no_color(snap_compare, root, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(root, start="sender", no_color=True)
    try:
        assert snap_compare(app, terminal_size=SIZE)
    finally:
        import os

        os.environ.pop("NO_COLOR", None)
