"""The state directory failing at each step, and a change killed between write and reload,
on the real-Postfix bench.

After each failure: every config file byte-identical (owner and mode too), Postfix giving the
same SMTP verdicts as before (port 25 and the submission path), a one-line message naming the
state directory, no traceback; exit 4 when nothing was written yet, 3 when it was written and
undone.  Then a change killed with SIGKILL between writing and reloading: ``status`` exits 1
naming it, and a no-op ``apply`` undoes it and reloads Postfix (same master, a new reload line
in the log).
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import pfwizard.engine.engine as engine_mod
import pfwizard.engine.validate as validate_mod
from pfwizard import exitcodes
from pfwizard.cli import main
from pfwizard.engine import Engine
from pfwizard.engine.instance import master_pid
from pfwizard.engine.journal import FAILED, IN_PROGRESS, RECOVERED, REFUSED
from tests.conftest import needs_bench, needs_postfix
from tests.miab_setup import box
from tests.test_engine_support import (
    backdate,
    seed000_and_authclean,
    snapshot,
    submission_verdict,
    verdicts,
)

ROOT = Path(__file__).resolve().parents[1]
NOSPACE = "no space left on device in "


def no_gate(cf, config_dir):
    return []


@pytest.fixture
def miab(bench):
    bench.configure_miab("main.cf.v75-fresh")
    bench.enable_submission()
    return bench


@contextlib.contextmanager
def tmpfs(size: str = "1m") -> Iterator[Path]:
    """A small tmpfs of its own (root only), unmounted afterwards."""
    mnt = Path(tempfile.mkdtemp(prefix="pfwizard-tmpfs-", dir="/tmp"))
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mnt)],
        check=True,
        timeout=30,
    )
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False, timeout=30)
        mnt.rmdir()


def fill(mnt: Path) -> None:
    """Fill the tmpfs to the last byte."""
    with open(mnt / "filler", "ab", buffering=0) as fh:
        block = b"\0" * 4096
        with contextlib.suppress(OSError):
            while True:
                fh.write(block)
        with contextlib.suppress(OSError):
            while True:
                fh.write(b"\0")


def enospc(filename: Path | None = None) -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(filename) if filename else None)


def fail_nth(obj: object, name: str, nth: int, journal=None) -> None:
    """The ``nth`` call of ``obj.name`` meets a full disk (inside the journal's own error
    handling, as a real one would)."""
    orig = getattr(obj, name)
    calls = [0]

    def wrapped(*a, **k):
        calls[0] += 1
        if calls[0] == nth:
            if journal is None:
                raise enospc()
            with journal.writing(name):
                raise enospc()
        return orig(*a, **k)

    setattr(obj, name, wrapped)


# Each step, and what the admin must get: refused (nothing written) or failed (undone).
STEPS = {
    "lock": REFUSED,
    "stage": REFUSED,
    "create": REFUSED,
    "backup": REFUSED,
    "diff": REFUSED,
    "entry": REFUSED,
    "finish": FAILED,
}


@needs_bench
@pytest.mark.parametrize("step", list(STEPS))
def test_state_dir_full_at_each_step(miab, tmp_path, monkeypatch, step):
    state = tmp_path / "state"
    eng = Engine(miab.config_dir, state, gate=no_gate, restart=miab.restart)
    eng.before_reload = lambda: backdate(miab.config_dir)
    j = eng.journal
    if step == "lock":
        real_hold = engine_mod.lock.hold

        @contextlib.contextmanager
        def hold(state_dir, wait=0.0):
            raise enospc(state_dir / "lock")
            yield  # pragma: no cover

        monkeypatch.setattr(engine_mod.lock, "hold", hold)
    elif step == "stage":

        def full_stage(self):
            raise enospc(self.root / "etc" / "main.cf")

        monkeypatch.setattr(validate_mod.Stage, "__enter__", full_stage)
    elif step == "create":
        fail_nth(j, "create", 1, j)
    elif step == "backup":
        fail_nth(j, "save_backup", 2, j)
    elif step == "diff":
        fail_nth(j, "save_diff", 1, j)
    elif step == "entry":
        fail_nth(j, "save", 1, j)
    elif step == "finish":
        fail_nth(j, "save", 2, j)  # the first save is the entry before writing
    before = snapshot(miab.config_dir)
    heard = verdicts(miab), submission_verdict(miab)
    res = eng.apply(eng.plan(seed000_and_authclean(miab.config_dir)))
    if step == "lock":
        monkeypatch.setattr(engine_mod.lock, "hold", real_hold)

    assert not res.ok and res.outcome == STEPS[step]
    assert res.refused is (STEPS[step] == REFUSED)  # the command's exit 4, else 3
    assert f"{NOSPACE}{state}" in (res.error or ""), res.error
    assert snapshot(miab.config_dir) == before
    assert not list(miab.config_dir.rglob(".pfwizard-tmp-*"))
    assert (verdicts(miab), submission_verdict(miab)) == heard
    if step == "finish":
        # Written, reloaded, then undone and reloaded again when the record failed.
        steps = [(e.step, e.status) for e in res.steps]
        assert ("write", "ok") in steps and steps.count(("reload", "start")) == 1
        assert ("restore", "ok") in steps
        assert "the change could not be recorded, so it was undone" in res.error
    else:
        assert not any(e.step == "write" and e.status == "ok" for e in res.steps)
    # Nothing half-done left behind for the next run to trip on.
    assert [e.outcome for e in eng.history() if e.outcome == IN_PROGRESS] == []


PROFILE = """\
version: 1
parameters:
  smtpd_helo_required:
    value: "yes"
"""


def pf(cfg: Path, state: Path, *argv: str) -> int:
    return main(["--config-dir", str(cfg), "--state-dir", str(state), *argv])


@needs_bench
def test_full_tmpfs_state_dir_through_the_command_line(miab, tmp_path, monkeypatch, capsys):
    cfg = miab.config_dir
    profile = tmp_path / "helo.yaml"
    profile.write_text(PROFILE)
    before = snapshot(cfg)
    heard = verdicts(miab), submission_verdict(miab)
    with tmpfs("256k") as mnt:
        state = mnt / "state"
        # Full before anything: refused, exit 4, the directory named.
        state.mkdir(mode=0o700)
        fill(mnt)
        assert pf(cfg, state, "apply", str(profile)) == exitcodes.REFUSED
        err = capsys.readouterr()
        assert f"{NOSPACE}{state}" in err.out + err.err and "Traceback" not in err.err
        assert snapshot(cfg) == before

        # Room until main.cf is written; the disk fills while Postfix reloads: the change
        # cannot be recorded, so it is undone (exit 3) and Postfix reloaded onto the old one.
        (mnt / "filler").unlink()
        real_reload = Engine._reload
        filled = []

        def reload_then_full(self):
            if not filled:
                backdate(cfg)
                fill(mnt)
                filled.append(1)
            return real_reload(self)

        monkeypatch.setattr(Engine, "_reload", reload_then_full)
        assert pf(cfg, state, "apply", str(profile)) == exitcodes.FAILED
        out = capsys.readouterr()
        text = out.out + out.err
        assert f"{NOSPACE}{state}" in text and "undone" in text and "Traceback" not in text
        assert snapshot(cfg) == before
        assert (verdicts(miab), submission_verdict(miab)) == heard
        # The disk is still full: the entry could not even say "failed"; status sees it,
        # and the next run with room undoes it again (a no-op on the files) and records it.
        assert pf(cfg, state, "status") == exitcodes.FINDINGS
        assert "was interrupted" in capsys.readouterr().out
        (mnt / "filler").unlink()
        monkeypatch.setattr(Engine, "_reload", real_reload)
        backdate(cfg)
        assert pf(cfg, state, "rollback", "--list") == exitcodes.OK
        assert "in-progress" in capsys.readouterr().out
        assert pf(cfg, state, "--dry-run", "apply", str(profile)) == exitcodes.CHANGED
        assert "interrupted" in capsys.readouterr().err
        assert snapshot(cfg) == before


CHILD = r"""
import os, sys, time
from pathlib import Path
from pfwizard.engine import Engine
from tests.test_engine_support import seed000_and_authclean
cfg, st = Path(sys.argv[1]), Path(sys.argv[2])
eng = Engine(cfg, st, gate=lambda cf, d: [], timeout=30)
def stop_here():
    print("written, about to reload", flush=True)
    time.sleep(60)
eng.before_reload = stop_here
eng.apply(eng.plan(seed000_and_authclean(cfg)))
"""


def reload_lines(bench, more_than: int = -1) -> int:
    """How many reloads master has logged (waiting a little for one more than given)."""
    deadline = time.monotonic() + 5
    while True:
        n = bench.instance.log_text().count("reload -- version")
        if n > more_than or time.monotonic() > deadline:
            return n
        time.sleep(0.1)


@needs_bench
def test_kill_between_write_and_reload_then_status_and_a_no_op_apply_heal(miab, tmp_path, capsys):
    cfg = miab.config_dir
    state = tmp_path / "state"
    profile = tmp_path / "helo.yaml"
    profile.write_text(PROFILE)
    # A profile applied earlier: applying it again has nothing to change.
    backdate(cfg)
    assert pf(cfg, state, "apply", str(profile)) == exitcodes.CHANGED
    capsys.readouterr()
    before = snapshot(cfg)
    heard = verdicts(miab), submission_verdict(miab)

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(cfg), str(state)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "written, about to reload\n"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert snapshot(cfg) != before  # half-applied: written, never reloaded
    entry = Engine(cfg, state).history()[-1]
    assert entry.outcome == IN_PROGRESS

    assert pf(cfg, state, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert f"journal entry {entry.id}" in out and "interrupted" in out and "restore" in out
    assert pf(cfg, state, "check") == exitcodes.FINDINGS
    assert f"X DANGER  journal entry {entry.id}" in capsys.readouterr().out

    queue = Path(
        subprocess.run(
            ["postconf", "-c", str(cfg), "-h", "queue_directory"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    master = master_pid(queue)
    reloads = reload_lines(miab)
    backdate(cfg)
    assert pf(cfg, state, "apply", str(profile)) == exitcodes.OK  # nothing else to change
    err = capsys.readouterr().err
    assert f"entry {entry.id} " in err and "was interrupted; undone" in err
    assert "Postfix reloaded" in err
    assert snapshot(cfg) == before
    assert master_pid(queue) == master  # reloaded, not restarted
    assert reload_lines(miab, reloads) > reloads
    assert (verdicts(miab), submission_verdict(miab)) == heard
    assert Engine(cfg, state).history()[int(entry.id) - 1].outcome == RECOVERED
    pf(cfg, state, "status")
    assert "interrupted" not in capsys.readouterr().out
    shutil.rmtree(state, ignore_errors=True)


STEP_WORDS = (
    "saving the backup copies",
    "saving the diff",
    "saving journal entry 1 failed; nothing was written",
    "the change could not be recorded, so it was undone",
)


@needs_postfix
def test_real_full_disk_at_every_step_after_validation(tmp_path, monkeypatch):
    """A real tmpfs left with 0, 1, 2, ... free pages once validation is over: the backups,
    the diff, the entry, the outcome each meet a real ENOSPC in turn, until the change fits.
    Every failing run leaves the files as they were and says so naming the directory."""
    cfg, _ = box(tmp_path, "main.cf.v75-fresh")
    before = snapshot(cfg)
    free = [0]
    real_exit = validate_mod.Stage.__exit__

    def exit_then_fill(self, *exc):
        real_exit(self, *exc)
        fill(self.root.parent.parent)
        with open(self.root.parent.parent / "filler", "r+b") as fh:
            fh.truncate(max(0, os.fstat(fh.fileno()).st_size - free[0] * 4096))

    monkeypatch.setattr(validate_mod.Stage, "__exit__", exit_then_fill)
    # Validation is not what is tried here (and costs a second a run).
    monkeypatch.setattr(engine_mod, "validate", lambda *a: "")
    outcomes: list[str] = []
    steps: set[str] = set()
    with tmpfs("2m") as mnt:
        state = mnt / "state"
        for pages in range(40):
            free[0] = pages
            eng = Engine(cfg, state, reload=False, gate=no_gate)
            res = eng.apply(eng.plan(seed000_and_authclean(cfg)))
            (mnt / "filler").unlink()
            shutil.rmtree(state)  # each run on its own: no earlier entry uses the room
            if res.ok:
                break
            outcomes.append(res.outcome)
            steps.add(next(w for w in STEP_WORDS if w in (res.error or "")))
            assert f"{NOSPACE}{state}" in (res.error or ""), res.error
            assert res.refused is (res.outcome == REFUSED)
            assert snapshot(cfg) == before, f"{pages} free pages"
            assert not list(cfg.rglob(".pfwizard-tmp-*"))
        else:
            pytest.fail("never fitted")
    assert res.ok and snapshot(cfg) != before
    # Both kinds were met: refused before anything was written, undone after; and each step.
    assert REFUSED in outcomes and FAILED in outcomes, outcomes
    assert steps == set(STEP_WORDS), steps
