"""`pfwizard impact PROFILE.yaml` and `apply --impact` end to end: a generated week written as
a mail log, read by the log reader, replayed on the bench box; and Ctrl-C in the middle of a
replay leaves no Postfix process and no temporary directory behind."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from pfwizard.cli import main
from pfwizard.commands import impact as impact_cmd
from pfwizard.impact import preview as preview_mod
from tests import impact_box
from tests.conftest import needs_bench
from tests.impact_box import DOMAIN, ESA_PROFILE
from tests.impact_weeklog import write_week
from tests.test_json_output import check_schema

box = impact_box.box  # the fixture
ROOT = Path(__file__).resolve().parent.parent
# Seed 000's allowlist as posted is unanchored: the table checks refuse it unless the admin
# accepts both risks by name (the preview itself runs either way).
ACCEPT_ESA_RISKS = ("--accept-risk", "matches-local-part", "--accept-risk", "unanchored-end")


@pytest.fixture
def logged_week(tmp_path):
    log = tmp_path / "mail.log"
    week = write_week(log, domain=DOMAIN)
    return log, week


@pytest.fixture
def week(logged_week):
    return logged_week[1]


@pytest.fixture
def stub_resolver(box, monkeypatch):
    """The command's replay asks the bench's stub DNS (the product asks the box's resolver)."""
    monkeypatch.setattr(
        impact_cmd,
        "preview",
        functools.partial(preview_mod.preview, resolv_conf=box.instance.root / "resolv.conf"),
    )


def pf(box, tmp_path, *argv: str) -> int:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    return main(["--config-dir", str(box.config_dir), "--state-dir", str(state), *argv])


def profile(box, tmp_path) -> str:
    p = tmp_path / "esa.yaml"
    p.write_text(ESA_PROFILE.format(cfg=box.config_dir))
    return str(p)


@needs_bench
def test_impact_reads_the_log_and_reports(box, logged_week, stub_resolver, tmp_path, capsys):
    log, _ = logged_week
    argv = ["impact", profile(box, tmp_path), "--log", str(log), "--rate", "0"]
    assert pf(box, tmp_path, *argv) == 0
    out, err = capsys.readouterr()
    assert "newly accepted: 116 (all MAILER-DAEMON@esa...iphmx.com)" in out
    assert "newly rejected: 0" in out
    assert "authenticated submissions skipped" in out
    assert "DNS answers are today's" in out
    assert "reading the last 7 days" in err
    # Nothing was written: the change is only previewed.
    assert not (box.config_dir / "pfwizard" / "cisco_dmarc_sender_access").exists()


@needs_bench
def test_impact_json(box, logged_week, stub_resolver, tmp_path, capsys):
    log, _ = logged_week
    assert (
        pf(
            box,
            tmp_path,
            "impact",
            profile(box, tmp_path),
            "--log",
            str(log),
            "--json",
            "--max",
            "500",
            "--rate",
            "0",
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["command"] == "impact"
    assert doc["log"]["replayed"] <= 500 and doc["log"]["sampled"]
    assert doc["newly_rejected_count"] == 0
    assert doc["newly_accepted_count"] > 0
    assert doc["accuracy"]["ratio"] >= 0.95
    assert doc["policy_services"] and "today" in doc["dns"]
    assert doc["rate"] == 0 and doc["dns_names"] > 0 and doc["local_resolver"] is True
    check_schema(doc, "impact")  # keys and types as docs/json.md says


@needs_bench
def test_apply_impact_previews_then_applies(box, logged_week, stub_resolver, tmp_path, capsys):
    log, _ = logged_week
    code = pf(
        box,
        tmp_path,
        "--no-reload",
        "apply",
        profile(box, tmp_path),
        "--impact",
        "--log",
        str(log),
        "--rate",
        "0",
        *ACCEPT_ESA_RISKS,
        "--dry-run",
    )
    out, _ = capsys.readouterr()
    assert code == 10, out
    assert out.index("newly accepted: 116") < out.index("cisco_dmarc_sender_access")
    assert "dry run: nothing written" in out


def _processes_under(path: str) -> list[str]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if path in cmd:
            found.append(f"{pid}: {cmd}")
    return found


@needs_bench
def test_ctrl_c_stops_cleanly_and_leaves_nothing_behind(box, logged_week, tmp_path):
    log, _ = logged_week
    # Its own temporary directory, so what it leaves (or not) is told apart from others'.
    tmp = Path(tempfile.mkdtemp(prefix="impact-sigint-", dir="/tmp"))
    tmp.chmod(0o755)
    state = tmp_path / "state"
    state.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), TMPDIR=str(tmp))
    # Run in a private mount namespace whose /etc/resolv.conf is the bench's stub DNS: the
    # command's Postfix copies must not ask the machine's resolver.
    script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                str(box.instance.root / "resolv.conf"),
                sys.executable,
                "-m",
                "pfwizard",
                "--config-dir",
                str(box.config_dir),
                "--state-dir",
                str(state),
                "impact",
                profile(box, tmp_path),
                "--log",
                str(log),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )

    proc = start()
    try:
        # The replay is under way once both instances run (their masters live under tmp).
        deadline = time.monotonic() + 60
        retried = False
        while time.monotonic() < deadline:
            masters = [p for p in _processes_under(str(tmp)) if "master" in p]
            if len(masters) >= 2:
                break
            if proc.poll() is not None:
                out, err = proc.communicate()
                # A staged Postfix that did not answer in time (seen once in a loaded full
                # run) is not what this test is about: once more, then it counts.
                assert not retried and "did not answer on" in err, (out, err)
                retried = True
                proc = start()
                deadline = time.monotonic() + 60
                continue
            time.sleep(0.05)
        else:
            pytest.fail("the replay instances never started")
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, (out, err)
        assert "interrupted" in err
        assert "Traceback" not in err
        assert _processes_under(str(tmp)) == []
        assert os.listdir(tmp) == []
    finally:
        if proc.poll() is None:
            proc.kill()
        for p in _processes_under(str(tmp)):
            os.kill(int(p.split(":")[0]), signal.SIGKILL)
        if tmp.exists() and not os.listdir(tmp):
            tmp.rmdir()


@needs_bench
def test_apply_impact_json_carries_the_report(box, logged_week, stub_resolver, tmp_path, capsys):
    log, _ = logged_week
    code = pf(
        box,
        tmp_path,
        "--no-reload",
        "apply",
        profile(box, tmp_path),
        "--impact",
        "--log",
        str(log),
        "--max",
        "200",
        "--rate",
        "0",
        *ACCEPT_ESA_RISKS,
        "--dry-run",
        "--json",
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 10
    assert doc["impact"]["log"]["replayed"] <= 200
    assert doc["impact"]["newly_rejected_count"] == 0
