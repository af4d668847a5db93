"""An honest demo: the live probe never talks to the system's port 25 (only to a Postfix
running on the demo copy, else it says it cannot); Done says the change went to the copy and
nothing was reloaded; Postfix's 64 repeated warnings are one line per kind, f shows them all;
the temporary copy is removed however the demo ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pfwizard import live_probe
from pfwizard.commands.demo import localise, removed_on_exit
from pfwizard.demo import prepare_demo
from pfwizard.milters import queue_directory
from pfwizard.screens.apply import ApplyScreen
from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.done import DoneScreen, what_happened
from pfwizard.screens.probe import ProbeScreen
from pfwizard.session import Session
from pfwizard.wizard.state import Outcome, ProbeSample
from tests.conftest import needs_postfix
from tests.tui_app import SIZE, make_app
from tests.tui_fakes import Result, Step

SENDER = "smtpd_sender_restrictions"


def demo_session(tmp: Path) -> Session:
    root = prepare_demo(tmp / "pfwizard-demo-test")
    localise(root)
    old = time.time() - 60  # Postfix waits for a main.cf younger than ~2 s to cool down
    for name in ("main.cf", "master.cf"):
        os.utime(root / "etc" / name, (old, old))
    return Session.open(
        root / "etc", root / "state", reload=False, demo=True, miab_checkout=root / "mailinabox"
    )


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_demo_probe_says_it_cannot_and_never_connects(tmp_path, monkeypatch):
    def no_connection(*a, **kw):
        raise AssertionError("the demo must not probe anything")

    monkeypatch.setattr(live_probe, "check", no_connection)
    app = make_app(tmp_path, start="done", session=demo_session(tmp_path))
    app.state.probe_sample = ProbeSample(
        "MAILER-DAEMON@esa1.hc1234-5.iphmx.com", ("dmarc@box.example.com",)
    )
    app.state.outcome = Outcome.of(Result(True, steps=[Step("reload", "skipped", "--no-reload")]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        # After a recipe's Apply, Done opens the probe by itself: here it says it cannot.
        screen = app.screen
        assert isinstance(screen, ProbeScreen) and screen.host is None
        assert "no Postfix runs on it" in text_of(app, "#probe-target")
        assert "port 25" in text_of(app, "#probe-target")
        assert screen.written and screen.written[-1].startswith("Not probed:")
        await pilot.press("f5")
        await pilot.pause()
        assert screen.written[-1].startswith("Not probed:") and screen.running is False
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        body = text_of(app, "#done-body")
        assert "OK: written to the demo copy; nothing was reloaded." in body
        assert "only of a Postfix running on the demo copy" in body


def test_a_postfix_running_on_the_copy_is_the_demo_probe_target(tmp_path, monkeypatch):
    from pfwizard.engine import instance

    s = demo_session(tmp_path)
    assert live_probe.copy_target(s.config_dir, queue_directory(s)) is None
    monkeypatch.setattr(instance, "serving_master", lambda cdir, qdir: 4242)
    monkeypatch.setattr(live_probe, "smtp_listen_address", lambda cdir: ("127.0.0.1", 10025))
    assert live_probe.copy_target(s.config_dir, queue_directory(s)) == ("127.0.0.1", 10025)


def test_done_says_what_happened():
    skipped = Outcome.of(
        Result(
            True,
            steps=[
                Step("write", "ok"),
                Step(
                    "reload",
                    "skipped",
                    "--no-reload: Postfix picks the change up at its next reload",
                ),
            ],
        )
    )
    reloaded = Outcome.of(Result(True, steps=[Step("reload", "start"), Step("reload", "ok")]))
    assert what_happened(skipped, demo=True) == "written to the demo copy; nothing was reloaded."
    assert what_happened(reloaded, demo=False).startswith("the change is in force")
    said = what_happened(skipped, demo=False)
    assert "not reloaded (--no-reload" in said and "in force" not in said
    # A result that does not list its steps (restore's) is taken at the session's word.
    assert what_happened(Outcome(True), demo=False, reload=True).startswith("the change is in")
    assert "not reloaded (--no-reload)" in what_happened(Outcome(True), demo=False, reload=False)


@needs_postfix
async def test_demo_apply_folds_the_warnings_and_done_says_nothing_was_reloaded(tmp_path):
    s = demo_session(tmp_path)
    s.move(SENDER, 1, -1)
    app = make_app(tmp_path, start="review", session=s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ApplyScreen)
        end = time.monotonic() + 60
        while not screen.finished and time.monotonic() < end:
            await pilot.pause(0.1)
        shown = "\n".join(screen.written)
        assert app.state.outcome is not None and app.state.outcome.ok, shown
        # One line for the 64 sqlite warnings under the check step, none of them one by one.
        check = next(ln for ln in screen.written if ln.startswith("[  ok  ] check"))
        assert "warning lines of 1 kind" in check and "f shows every one" in check
        assert shown.count('open "sqlite" configuration') == 1
        assert 'x postconf: warning: open "sqlite" configuration' in shown
        assert "names Mail-in-a-Box's map files under /etc/postfix" in shown
        assert "apply.all_warnings" in {
            b.binding.id for b in app.active_bindings.values() if b.binding.id
        }
        await pilot.press("f")
        await pilot.pause()
        every = "\n".join(screen.written).split("Every line Postfix printed")[1]
        assert every.count('open "sqlite" configuration') == 4  # each distinct line once
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        body = text_of(app, "#done-body")
        assert "OK: written to the demo copy; nothing was reloaded." in body
        assert "in force" not in body
        assert "written to the demo copy" in text_of(app, "#title")


def test_the_copy_is_removed_on_exit_and_on_error(tmp_path):
    root = prepare_demo(tmp_path / "pfwizard-demo-a")
    with removed_on_exit(root):
        assert (root / "etc" / "main.cf").exists()
    assert not root.exists()
    root = prepare_demo(tmp_path / "pfwizard-demo-b")
    with pytest.raises(KeyboardInterrupt), removed_on_exit(root):
        raise KeyboardInterrupt
    assert not root.exists()
    root = prepare_demo(tmp_path / "pfwizard-demo-c")
    with removed_on_exit(root, keep=True):
        pass
    assert root.exists()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_the_copy_is_removed_when_the_demo_is_killed(tmp_path, sig):
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from pfwizard.commands.demo import removed_on_exit
        from pfwizard.demo import prepare_demo
        root = prepare_demo(Path({str(tmp_path)!r}) / "pfwizard-demo-killed")
        with removed_on_exit(root):
            print(root, flush=True)
            time.sleep(60)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    root = Path(proc.stdout.readline().strip())
    assert root.is_dir()
    proc.send_signal(sig)
    assert proc.wait(timeout=20) == -sig
    assert not root.exists()
