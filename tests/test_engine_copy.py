"""A copy stays a copy: pfwizard pointed at a copy of a running Postfix's config directory
writes the copy and never reloads, stops or starts that Postfix.

``live`` is a second private Postfix started for these tests: it stands for the system's
Postfix.  The copy is its config directory copied elsewhere, so the copy's main.cf names the
live instance's queue directory (and ``postfix -c COPY status`` answers for the live one).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pfwizard import cli, exitcodes
from pfwizard.engine import ChangeSet, Engine, PostfixTools, TableChange
from pfwizard.engine.instance import master_config_dir, master_pid, serving_master
from pfwizard.engine.journal import APPLIED, FAILED
from pfwizard.postfix import Result
from pfwizard.session import Session
from tests.bench.instance import PostfixInstance
from tests.conftest import needs_bench
from tests.test_engine_faults import FailingWriter
from tests.test_engine_support import backdate, snapshot, state_dir


@pytest.fixture(scope="module")
def live() -> Iterator[PostfixInstance]:
    if os.geteuid() != 0 or shutil.which("postconf") is None:
        pytest.skip("the Postfix bench needs root and Postfix installed")
    inst = PostfixInstance()
    inst.start()
    yield inst
    inst.stop()


@pytest.fixture
def copy(live: PostfixInstance) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="pfwizard-copy-", dir="/tmp"))
    os.chmod(root, 0o755)
    shutil.copytree(live.config_dir, root / "etc")
    backdate(root / "etc")
    yield root / "etc"
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def state() -> Iterator[Path]:
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


class Watch:
    """What the live instance looks like: master PID, smtpd children, log length, files."""

    def __init__(self, inst: PostfixInstance) -> None:
        self.inst = inst
        # One dialogue, so an smtpd child exists (it stays up idle): a reload would replace it.
        assert inst.probe_banner(timeout=2) == "ok"
        self.pid = master_pid(inst.root / "spool")
        self.children = self._children()
        self.mark = inst.log_mark()
        self.files = snapshot(inst.config_dir)

    def _children(self) -> set[int]:
        from pfwizard.engine.serving import smtpd_children

        return smtpd_children(self.pid)

    def assert_untouched(self) -> None:
        assert self.pid is not None
        assert master_pid(self.inst.root / "spool") == self.pid, "the live master changed"
        time.sleep(0.1)  # postlogd writes asynchronously
        new_log = self.inst.log_text()[self.mark :]
        assert "reload" not in new_log and "stopping" not in new_log, new_log
        assert self.children <= self._children(), "the live smtpd processes were replaced"
        assert snapshot(self.inst.config_dir) == self.files, "a live file changed"
        assert self.inst.probe_banner(timeout=2) == "ok"


class Spy(PostfixTools):
    """Records every reload/restart the engine asks Postfix for."""

    def __init__(self, fail_postmap_in: Path | None = None) -> None:
        super().__init__(30)
        self.calls: list[str] = []
        self.fail_postmap_in = fail_postmap_in

    def reload(self, config_dir: Path) -> Result:
        self.calls.append(f"reload {config_dir}")
        return super().reload(config_dir)

    def restart(self, config_dir: Path) -> Result:
        self.calls.append(f"restart {config_dir}")
        return super().restart(config_dir)

    def postmap(self, config_dir, map_type, path):
        if self.fail_postmap_in is not None and Path(config_dir) == self.fail_postmap_in:
            return Result(["postmap"], 1, "", "postmap: fatal: injected failure\n")
        return super().postmap(config_dir, map_type, path)


@needs_bench
def test_the_live_master_is_recognised_for_its_own_directory_only(live, copy):
    spool = live.root / "spool"
    pid = master_pid(spool)
    assert pid is not None
    assert master_config_dir(pid) == live.config_dir
    assert serving_master(live.config_dir, spool) == pid
    assert serving_master(copy, spool) is None
    # What pfwizard used to trust: `postfix -c COPY status` says "running" for the copy.
    assert PostfixTools(30).running(copy)


@needs_bench
def test_a_copy_is_written_and_the_live_postfix_is_not_reloaded(live, copy, state):
    watch = Watch(live)
    tools = Spy()
    restarts: list[int] = []
    eng = Engine(
        copy, state, tools=tools, gate=lambda cf, d: [], restart=lambda: restarts.append(1)
    )
    res = eng.apply(eng.plan(ChangeSet("helo required", {"smtpd_helo_required": "yes"}, [])))
    assert res.ok and res.outcome == APPLIED
    assert "smtpd_helo_required = yes" in (copy / "main.cf").read_text()
    skipped = [e for e in res.steps if e.step == "reload" and e.status == "skipped"]
    assert skipped and f"no running Postfix uses {copy}" in skipped[0].detail
    assert "nothing was reloaded" in skipped[0].detail
    assert tools.calls == [] and restarts == []
    watch.assert_untouched()


@needs_bench
def test_apply_on_a_copy_says_written_not_reloaded(live, copy, state, tmp_path, capsys):
    watch = Watch(live)
    profile = tmp_path / "profile.yaml"
    profile.write_text('version: 1\nparameters:\n  smtpd_helo_required:\n    value: "yes"\n')
    code = cli.main(["apply", str(profile), "--config-dir", str(copy), "--state-dir", str(state)])
    out = capsys.readouterr().out
    assert code == exitcodes.CHANGED, out
    assert f"no running Postfix uses {copy}: the change was written, nothing was reloaded" in out
    watch.assert_untouched()


@needs_bench
def test_a_failure_on_a_copy_never_stops_or_starts_the_live_postfix(live, copy, state):
    """postmap fails on the copy after main.cf's table was written: everything is put back
    in the copy, and no reload, stop or start reaches the live instance."""
    watch = Watch(live)
    before = snapshot(copy)
    tools = Spy(fail_postmap_in=copy)
    restarts: list[int] = []
    eng = Engine(
        copy, state, tools=tools, gate=lambda cf, d: [], restart=lambda: restarts.append(1)
    )
    table = copy / "pfwizard" / "senders"
    cs = ChangeSet(
        "a table",
        {"smtpd_sender_restrictions": f"check_sender_access hash:{table}"},
        [TableChange(Path("pfwizard/senders"), "a@example.org OK\n", "hash")],
    )
    res = eng.apply(eng.plan(cs))
    assert not res.ok and res.outcome == FAILED and "postmap" in (res.error or "")
    assert snapshot(copy) == before
    assert tools.calls == [] and restarts == []
    # Even asked directly (the throttled-smtpd remedy), the engine will not restart it.
    eng._served = None
    eng._restart(eng_run())
    assert tools.calls == [] and restarts == []
    watch.assert_untouched()


@needs_bench
def test_a_write_failure_on_a_copy_puts_it_back_without_touching_the_live_postfix(
    live, copy, state
):
    watch = Watch(live)
    before = snapshot(copy)
    tools = Spy()
    eng = Engine(
        copy, state, tools=tools, gate=lambda cf, d: [], writer=FailingWriter(2, errno.ENOSPC)
    )
    table = copy / "pfwizard" / "senders"
    cs = ChangeSet(
        "a table",
        {"smtpd_sender_restrictions": f"check_sender_access cidr:{table}"},
        [TableChange(Path("pfwizard/senders"), "127.0.0.9 OK\n", "cidr")],
    )
    res = eng.apply(eng.plan(cs))
    assert not res.ok and res.outcome == FAILED
    assert snapshot(copy) == before
    assert tools.calls == []
    watch.assert_untouched()


@needs_bench
def test_the_wizard_session_on_a_copy_does_not_reload_the_live_postfix(live, copy, state):
    watch = Watch(live)
    session = Session.open(copy, state)
    session.set_value("smtpd_helo_required", "yes")
    eng = session.engine()
    res = eng.apply(eng.plan(session.changeset()))
    assert res.ok, res.error
    assert any(e.step == "reload" and e.status == "skipped" for e in res.steps)
    watch.assert_untouched()


@needs_bench
def test_a_master_started_by_postfix_start_is_known_by_mail_config(copy):
    """`postfix -c DIR start` (as on a real box) passes DIR to master in MAIL_CONFIG, not on
    its command line: a third instance started that way is recognised, its copy is not."""
    inst = PostfixInstance()
    try:
        inst.make_queue_dirs()
        subprocess.run(
            ["postfix", "-c", str(inst.config_dir), "start"],
            check=True,
            capture_output=True,
            timeout=30,
        )
        inst.wait_listening()
        spool = inst.root / "spool"
        pid = master_pid(spool)
        assert pid is not None
        assert "-c" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
        assert master_config_dir(pid) == inst.config_dir
        assert serving_master(inst.config_dir, spool) == pid
        other = copy.parent / "other"
        shutil.copytree(inst.config_dir, other)
        assert serving_master(other, spool) is None
    finally:
        subprocess.run(
            ["postfix", "-c", str(inst.config_dir), "stop"], capture_output=True, timeout=30
        )
        inst.stop()


@needs_bench
def test_editing_the_live_directory_itself_reloads_it(live, state):
    """The positive case: the same engine on the live instance's own directory reloads it
    (master PID unchanged, a reload in its log) and proves it serves."""
    pid = master_pid(live.root / "spool")
    mark = live.log_mark()
    eng = Engine(live.config_dir, state, gate=lambda cf, d: [], restart=live.restart)
    eng.before_reload = lambda: backdate(live.config_dir)
    res = eng.apply(eng.plan(ChangeSet("helo required", {"smtpd_helo_required": "yes"}, [])))
    assert res.ok, res.error
    assert [e.status for e in res.steps if e.step == "reload"][-1] == "ok"
    assert [e.status for e in res.steps if e.step == "serve"][-1] == "ok"
    assert master_pid(live.root / "spool") == pid
    deadline = time.monotonic() + 2
    while "reload" not in live.log_text()[mark:] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert "reload" in live.log_text()[mark:]


def eng_run():
    from pfwizard.engine.engine import _Run

    return _Run(None)


KILLED_WHILE_WRITING = r"""
import os, signal, sys
from pathlib import Path
from pfwizard.engine import AtomicWriter, ChangeSet, Engine, TableChange

class DiesOnWriting(AtomicWriter):
    def write(self, path, data, meta):
        if path.name == "main.cf":
            os.kill(os.getpid(), signal.SIGKILL)  # power cut between the table and main.cf
        super().write(path, data, meta)

cfg, st = Path(sys.argv[1]), Path(sys.argv[2])
eng = Engine(cfg, st, gate=lambda cf, d: [], writer=DiesOnWriting())
table = cfg / "pfwizard" / "clients"
params = {"smtpd_client_restrictions": f"check_client_access cidr:{table}"}
eng.apply(eng.plan(ChangeSet("t", params,
                             [TableChange(Path("pfwizard/clients"), "127.0.0.9 OK\n", "cidr")])))
"""


@needs_bench
def test_recovery_on_a_copy_never_reloads_the_live_postfix(live, copy, state):
    """An apply on the copy killed halfway: the next start undoes it in the copy, and the
    recovery's reload (and its stop/start fallback) never reaches the live instance."""
    import sys

    watch = Watch(live)
    before = snapshot(copy)
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_WRITING, str(copy), str(state)], cwd=root, timeout=60
    )
    assert proc.returncode == -9
    assert (copy / "pfwizard" / "clients").exists()  # half done
    tools = Spy()
    restarts: list[int] = []
    eng = Engine(
        copy, state, tools=tools, gate=lambda cf, d: [], restart=lambda: restarts.append(1)
    )
    msgs = eng.recover()
    assert len(msgs) == 1 and "interrupted" in msgs[0]
    assert snapshot(copy) == before
    assert tools.calls == [] and restarts == []
    watch.assert_untouched()
