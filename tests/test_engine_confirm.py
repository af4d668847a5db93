"""Confirm or revert, and recovery at the next start, on the real-Postfix bench.

The watcher is a real detached process: the test kills the process that applied the change
(as a dropped SSH session would) and the change is still rolled back in time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pfwizard.engine import Engine, Refused
from pfwizard.engine.journal import APPLIED, CONFIRMED, PENDING_CONFIRM, RECOVERED, REVERTED
from tests.conftest import needs_bench
from tests.test_engine_support import (
    backdate,
    seed000_and_authclean,
    snapshot,
    state_dir,
    submission_verdict,
    verdicts,
)

ROOT = Path(__file__).resolve().parents[1]


def no_gate(cf, config_dir):
    return []


@pytest.fixture
def state():
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def miab(bench):
    """MiaB v75 with its submission path: the standard change edits master.cf too."""
    bench.configure_miab("main.cf.v75-fresh")
    bench.enable_submission()
    return bench


def in_force(bench) -> str:
    """Which configuration Postfix runs: port 25 and the submission path agree."""
    heard = verdicts(bench), submission_verdict(bench)
    return {((450, 450), 250): "before", ((250, 250), 550): "after"}.get(heard, str(heard))


def wait_for(pred, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def outcome(state: Path, entry_id: str) -> str:
    return json.loads((state / "journal" / entry_id / "entry.json").read_text())["outcome"]


def watcher_pid(state: Path, entry_id: str) -> int:
    log = state / "journal" / entry_id / "watcher.log"
    wait_for(lambda: "watcher pid" in log.read_text(), 10, "the watcher to start")
    return int(log.read_text().split("watcher pid ")[1].split(":")[0])


APPLY_AND_DIE = r"""
import os, sys
from pathlib import Path
from pfwizard.engine import Engine
from tests.test_engine_support import backdate, seed000_and_authclean
cfg, st = Path(sys.argv[1]), Path(sys.argv[2])
eng = Engine(cfg, st, gate=lambda cf, d: [])
eng.before_reload = lambda: backdate(cfg)
res = eng.apply(eng.plan(seed000_and_authclean(cfg)), confirm_within=float(sys.argv[3]))
print(res.ok, res.outcome, res.entry_id, flush=True)
sys.stdin.readline()  # the admin's session hangs here until it is killed
"""


@needs_bench
def test_unconfirmed_change_reverts_itself_after_the_session_died(miab, state):
    before = snapshot(miab.config_dir)
    session = subprocess.Popen(
        [sys.executable, "-c", APPLY_AND_DIE, str(miab.config_dir), str(state), "3"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert session.stdout is not None
    ok, result, entry_id = session.stdout.readline().split()
    assert (ok, result) == ("True", PENDING_CONFIRM)
    assert in_force(miab) == "after"
    pid = watcher_pid(state, entry_id)
    os.killpg(session.pid, signal.SIGKILL)  # the SSH session drops: its process group dies
    session.wait()
    os.kill(pid, 0)  # the watcher is not in that process group: still alive
    wait_for(lambda: outcome(state, entry_id) == REVERTED, 30, "the automatic rollback")
    assert snapshot(miab.config_dir) == before
    assert in_force(miab) == "before"
    hist = Engine(miab.config_dir, state).history()
    assert [e.kind for e in hist] == ["apply", "revert"]
    assert hist[1].outcome == APPLIED and hist[1].rollback_of == entry_id
    assert "not confirmed in time" in hist[1].summary


@needs_bench
def test_confirmed_in_time_stays(miab, state):
    eng = Engine(miab.config_dir, state, gate=no_gate, restart=miab.restart)
    eng.before_reload = lambda: backdate(miab.config_dir)
    res = eng.apply(eng.plan(seed000_and_authclean(miab.config_dir)), confirm_within=1.5)
    assert res.ok and res.outcome == PENDING_CONFIRM
    assert any(e.step == "confirm" and "rollback --confirm" in e.detail for e in res.steps)
    eng.confirm(res.entry_id)
    assert outcome(state, res.entry_id) == CONFIRMED
    log = state / "journal" / str(res.entry_id) / "watcher.log"
    wait_for(lambda: "nothing to do" in log.read_text(), 20, "the watcher to stand down")
    assert outcome(state, res.entry_id) == CONFIRMED
    assert in_force(miab) == "after"
    eng.confirm(res.entry_id)  # confirming twice is harmless


@needs_bench
def test_overdue_change_is_reverted_at_the_next_start_if_the_watcher_died(miab, state):
    before = snapshot(miab.config_dir)
    eng = Engine(miab.config_dir, state, gate=no_gate, restart=miab.restart)
    eng.before_reload = lambda: backdate(miab.config_dir)
    res = eng.apply(eng.plan(seed000_and_authclean(miab.config_dir)), confirm_within=600)
    assert res.ok
    os.kill(watcher_pid(state, str(res.entry_id)), signal.SIGKILL)  # e.g. a reboot
    path = state / "journal" / str(res.entry_id) / "entry.json"
    data = json.loads(path.read_text())
    data["confirm_deadline"] = time.time() - 3600
    path.write_text(json.dumps(data))
    msgs = eng.recover()
    assert any("not confirmed in time" in m for m in msgs)
    assert outcome(state, str(res.entry_id)) == REVERTED
    assert snapshot(miab.config_dir) == before
    assert in_force(miab) == "before"
    with pytest.raises(Refused, match="not confirmed in time"):
        eng.confirm(str(res.entry_id))


KILLED_WHILE_WRITING = r"""
import os, signal, sys
from pathlib import Path
from pfwizard.engine import AtomicWriter, Engine
from tests.test_engine_support import seed000_and_authclean

class DiesOnWriting(AtomicWriter):
    def write(self, path, data, meta):
        if path.name == sys.argv[3]:
            os.kill(os.getpid(), signal.SIGKILL)  # power cut halfway through the writes
        super().write(path, data, meta)

cfg, st = Path(sys.argv[1]), Path(sys.argv[2])
eng = Engine(cfg, st, gate=lambda cf, d: [], writer=DiesOnWriting())
eng.apply(eng.plan(seed000_and_authclean(cfg)))
"""


@needs_bench
@pytest.mark.parametrize("dies_on", ["main.cf", "master.cf"])
def test_apply_killed_halfway_is_undone_at_the_next_start(miab, state, dies_on):
    before = snapshot(miab.config_dir)
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_WRITING, str(miab.config_dir), str(state), dies_on],
        cwd=ROOT,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL
    # Half done: the tables are in place (and main.cf or not), master.cf is not.
    assert (miab.config_dir / "pfwizard" / "dmarc_sender_domains.db").exists()
    assert snapshot(miab.config_dir) != before
    assert (miab.config_dir / "master.cf").read_bytes() == before["master.cf"][0]
    eng = Engine(miab.config_dir, state, gate=no_gate, restart=miab.restart)
    eng.before_reload = lambda: backdate(miab.config_dir)
    msgs = eng.recover()
    assert len(msgs) == 1 and "was interrupted; undone" in msgs[0]
    assert snapshot(miab.config_dir).items() >= before.items()
    assert {k for k in snapshot(miab.config_dir)} == set(before)
    [entry] = eng.history()
    assert entry.outcome == RECOVERED and "interrupted" in (entry.error or "")
    assert eng.recover() == []  # nothing left to do
    assert in_force(miab) == "before"
