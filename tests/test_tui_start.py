"""Start-up order: the Welcome's slow checks wait for the first frame, then fill in."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pexpect

from tests.pty_driver import Screen
from tests.tui_app import SIZE, TestApp, make_config, make_session

ROOT = Path(__file__).resolve().parent.parent


class RecordingApp(TestApp):
    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.order: list[str] = []

    def on_ready(self) -> None:
        self.order.append("first frame")
        super().on_ready()


def test_first_frame_does_not_wait_for_the_restore_check(tmp_path):
    """In a real terminal (headless tests do not batch the first screen the same way):
    with a restore check that takes 2 s, Welcome is on screen, keys and all, before it."""
    etc = make_config(tmp_path)
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from pfwizard.session import Session
        real = Session.restore_status
        def slow(self):
            time.sleep(2)
            return real(self)
        Session.restore_status = slow
        from pfwizard.cli import main
        sys.exit(main(["--config-dir", {str(etc)!r}, "--state-dir", {str(tmp_path / "state")!r}]))
    """)
    child = pexpect.spawn(
        sys.executable,
        ["-c", code],
        dimensions=(24, 80),
        env={"TERM": "xterm-256color", "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        encoding="utf-8",
        codec_errors="replace",
        timeout=30,
    )
    screen = Screen()
    try:
        child.expect("History")  # the footer: the first frame is out
        screen.feed(child.before + child.after)
        while "Findings on" not in screen.text() or "r History" not in screen.text():
            screen.feed(child.read_nonblocking(65536, timeout=10))
        assert "Customisations: checking..." in screen.text()
        while "checking..." in screen.text():  # then the check's answer replaces it
            screen.feed(child.read_nonblocking(65536, timeout=10))
        assert "Mail-in-a-Box: release unknown" in screen.text()
    finally:
        child.terminate(force=True)


async def test_release_and_restore_check_fill_in_after_the_first_frame(tmp_path):
    session = make_session(tmp_path)
    app = RecordingApp(session)

    def release() -> str:
        app.order.append("git describe")
        return "v75"

    def restore_status() -> tuple[bool, list[str]]:
        app.order.append("restore check")
        return True, []

    session.miab_release = release  # type: ignore[method-assign]
    session.restore_status = restore_status  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.order == ["first frame", "git describe", "restore check"]
        body = str(app.screen.query_one("#welcome-body").render())
        assert "Mail-in-a-Box: v75 (git describe in" in body
        assert "checking..." not in body


async def test_welcome_shown_again_checks_again(tmp_path):
    session = make_session(tmp_path)
    app = RecordingApp(session)
    calls: list[int] = []
    real = session.restore_status

    def restore_status() -> tuple[bool, list[str]]:
        calls.append(1)
        return real()

    session.restore_status = restore_status  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("n")  # HELO
        await pilot.pause()
        await pilot.press("b")  # back to a new Welcome: the app painted long ago
        await pilot.pause()
        assert len(calls) == 2
        assert "checking..." not in str(app.screen.query_one("#welcome-body").render())
