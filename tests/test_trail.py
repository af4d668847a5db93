"""The trail: one system-log line per change written (applied, restored, rolled back, undone
after a failure), to a stand-in log socket, and an etckeeper commit of /etc after a change in
force (a stand-in etckeeper on PATH) that never fails the change."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path

import pytest

from pfwizard import etckeeper, exitcodes, trail
from pfwizard.cli import main
from pfwizard.engine import Engine
from tests.conftest import needs_postfix
from tests.miab_setup import box, customise, release_values, run_setup_on
from tests.test_engine_support import seed000_changeset

MAIL_INFO, MAIL_WARNING = "<22>", "<20>"  # facility mail (2) * 8 + info (6) / warning (4)


@pytest.fixture
def syslog(tmp_path, monkeypatch):
    """A stand-in /dev/log; returns a function giving the lines received so far."""
    path = tmp_path / "log"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv(trail.SOCKET_ENV, str(path))

    def received() -> list[str]:
        lines = []
        while True:
            try:
                lines.append(sock.recv(8192).decode())
            except BlockingIOError:
                return lines

    yield received
    sock.close()


def fake_etckeeper(bin_dir: Path, exit_code: int = 0) -> Path:
    """An ``etckeeper`` that records its arguments, one per line, and exits ``exit_code``."""
    bin_dir.mkdir(exist_ok=True)
    record = bin_dir / "etckeeper.args"
    script = bin_dir / "etckeeper"
    script.write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {record}\n"
        f"echo 'fatal: not a git repository' >&2\nexit {exit_code}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return record


def pf(config_dir, state_dir, *argv):
    return main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )


@needs_postfix
def test_restore_and_rollback_each_leave_one_line_naming_entry_files_and_admin(
    tmp_path, syslog, monkeypatch, capsys
):
    monkeypatch.setenv("SUDO_USER", "alice")
    config_dir, state_dir = box(tmp_path)
    customise(config_dir, state_dir)
    run_setup_on(config_dir / "main.cf", release_values())
    syslog()  # what customise() itself applied
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.CHANGED
    (line,) = syslog()
    assert line.startswith(MAIL_INFO) and " pfwizard[" in line
    assert "restored: entry=" in line and "kind=restore" in line
    files = line.split("files=")[1].split()[0].split(",")
    assert f"{config_dir}/main.cf" in files and "sudo_user=alice" in line
    entry = line.split("entry=")[1].split()[0]
    assert pf(config_dir, state_dir, "rollback", "--to", entry, "--yes") == exitcodes.CHANGED
    (line,) = syslog()
    assert f"rolled back entry {entry}: entry=" in line and "kind=rollback" in line
    assert f"{config_dir}/main.cf" in line and "\n" not in line
    # Nothing written, nothing logged.
    capsys.readouterr()
    assert pf(config_dir, state_dir, "--dry-run", "restore") == exitcodes.CHANGED
    assert syslog() == []


@needs_postfix
def test_apply_logs_and_commits_etc_with_a_message_naming_the_entry(tmp_path, syslog, monkeypatch):
    monkeypatch.delenv("SUDO_USER", raising=False)
    config_dir, state_dir = box(tmp_path)  # config_dir is tmp_path/etc: our stand-in /etc
    (config_dir / ".etckeeper").write_text("")
    record = fake_etckeeper(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(etckeeper, "ETC", config_dir)
    eng = Engine(config_dir, state_dir, reload=False, gate=lambda cf, d: [])
    res = eng.apply(eng.plan(seed000_changeset(config_dir)))
    assert res.ok, res.error
    (line,) = syslog()
    assert f"applied: entry={res.entry_id} kind=apply" in line and "user=" in line
    assert "summary=seed 000: let Cisco ESA DMARC reporters through" in line
    assert not line.endswith(".db")
    args = record.read_text().splitlines()
    assert args == [
        "commit",
        "-d",
        str(config_dir),
        f"pfwizard: entry {res.entry_id} applied: seed 000: let Cisco ESA DMARC reporters through",
    ]


@needs_postfix
def test_a_failing_etckeeper_never_fails_the_change(tmp_path, syslog, monkeypatch):
    config_dir, state_dir = box(tmp_path)
    (config_dir / ".etckeeper").write_text("")
    fake_etckeeper(tmp_path / "bin", exit_code=1)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(etckeeper, "ETC", config_dir)
    eng = Engine(config_dir, state_dir, reload=False, gate=lambda cf, d: [])
    res = eng.apply(eng.plan(seed000_changeset(config_dir)))
    assert res.ok and res.outcome == "applied"
    (failed,) = [e for e in res.steps if e.step == "etckeeper"]
    assert failed.status == "failed" and "exit 1" in failed.detail
    assert "not a git repository" in failed.detail and "in force" in failed.detail
    assert len(syslog()) == 1


def test_etckeeper_only_for_files_under_a_kept_etc(tmp_path, monkeypatch):
    etc = tmp_path / "etc"
    etc.mkdir()
    record = fake_etckeeper(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert etckeeper.commit("m", [str(etc / "postfix/main.cf")], etc) is None
    assert not record.exists(), "/etc not kept by etckeeper: no commit"
    (etc / ".etckeeper").write_text("")
    assert etckeeper.commit("m", [str(tmp_path / "copy/main.cf")], etc) is None
    assert not record.exists(), "a copy outside /etc: no commit"
    monkeypatch.setenv("PATH", "/nonexistent")
    assert not etckeeper.applies([str(etc / "postfix/main.cf")], etc)


def test_the_change_line_is_one_line_even_with_a_hostile_summary(monkeypatch):
    monkeypatch.setenv("SUDO_USER", "bob")
    text = trail.change_line(
        "applied", "7", "apply", ["/etc/postfix/main.cf"], "evil\nINJECTED: root"
    )
    sent = trail.line(text)
    assert sent.startswith(MAIL_INFO) and "\n" not in sent
    assert "entry=7 kind=apply files=/etc/postfix/main.cf sudo_user=bob" in sent
    assert trail.line(text, warning=True).startswith(MAIL_WARNING)


@needs_postfix
def test_the_wizards_apply_leaves_its_line_too(tmp_path, syslog, monkeypatch):
    from pfwizard.session import Session
    from tests.test_session import seed_change
    from tests.tui_app import make_config

    monkeypatch.setenv("SUDO_USER", "carol")
    etc = make_config(tmp_path)
    main_cf = etc / "main.cf"  # this machine has no /etc/mailname, which postfix check reads
    main_cf.write_text(
        main_cf.read_text().replace(
            "\nmyorigin = /etc/mailname\n", "\nmyorigin = box.example.com\n"
        )
    )
    s = Session.open(
        etc, tmp_path / "state", reload=False, miab_checkout=tmp_path / "no-mailinabox"
    )
    seed_change(s)
    eng = s.engine()  # what the wizard's apply screen runs
    res = eng.apply(eng.plan(s.changeset()))
    assert res.ok, res.error
    (line,) = syslog()
    assert f"applied: entry={res.entry_id} kind=apply" in line and "sudo_user=carol" in line
    assert "sender_access" in line and "main.cf" in line


@needs_postfix
def test_a_hook_run_leaves_one_line_with_the_change_folded_in(tmp_path, syslog, capsys):
    config_dir, state_dir = box(tmp_path)
    customise(config_dir, state_dir)
    run_setup_on(config_dir / "main.cf", release_values())
    syslog()  # what customise() itself applied
    assert pf(config_dir, state_dir, "restore", "--hook", "--yes") == exitcodes.CHANGED
    (line,) = syslog()
    assert line.startswith(MAIL_INFO) and "after-upgrade restore ok (exit 10)" in line
    assert "restored: entry=" in line and "kind=restore" in line and "\n" not in line
    # A run with nothing to do: one line too.
    assert pf(config_dir, state_dir, "restore", "--hook", "--yes") == exitcodes.OK
    (line,) = syslog()
    assert "after-upgrade restore ok (exit 0): nothing to restore" in line
    # Outside the hook, the engine's own line goes out as before.
    run_setup_on(config_dir / "main.cf", release_values())
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.CHANGED
    (line,) = syslog()
    assert line.split(": ", 1)[1].startswith("restored: entry=")
