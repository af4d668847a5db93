"""Journey: the admin installs the cron hook, MiaB's setup runs, cron runs the hook with its own
bare PATH; the customisation comes back.  A later run that cannot restore shows in `status`
(exit 1, with the reason) and in the system log (a stand-in log socket here)."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import tempfile
from pathlib import Path

from pfwizard import exitcodes
from pfwizard.intent.hook import OUTCOME_FILE
from tests.conftest import needs_bench
from tests.miab_setup import FIXTURES
from tests.pty_driver import pfwizard_script
from tests.test_restore_hook_bench import miab_upgrade
from tests.test_restore_services import KEY, MIAB, apply_recipe5, postconf_p

ROOT = Path(__file__).resolve().parents[2]


def pfwizard_argv() -> list[str]:
    script = pfwizard_script()
    assert script, "pfwizard console script not installed"
    return [script]


def cron_command(cron_file: Path) -> str:
    """The command of the installed cron line (what cron hands to /bin/sh)."""
    (line,) = [
        ln
        for ln in cron_file.read_text().splitlines()
        if ln and not ln.startswith("#") and "=" not in ln.split()[0]
    ]
    return line.split(" root ", 1)[1]


def run_as_cron(command: str, log_socket: Path) -> subprocess.CompletedProcess[str]:
    # cron's environment: PATH=/usr/bin:/bin and little else.  PYTHONPATH only when the test
    # itself runs a checkout's code (a developer's worktree); CI runs the installed program.
    env = ["PATH=/usr/bin:/bin", "HOME=/root", "SHELL=/bin/sh", f"PFWIZARD_LOG_SOCKET={log_socket}"]
    if os.environ.get("PYTHONPATH"):
        env.append(f"PYTHONPATH={os.environ['PYTHONPATH']}")
    return subprocess.run(
        ["env", "-i", *env, "/bin/sh", "-c", command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )


def received(sock: socket.socket) -> list[str]:
    lines = []
    while True:
        try:
            lines.append(sock.recv(8192).decode())
        except BlockingIOError:
            return lines


@needs_bench
def test_cron_hook_restores_under_crons_path_and_a_failed_run_shows(bench):
    config_dir, master = bench.config_dir, bench.config_dir / "master.cf"
    state_dir = Path(tempfile.mkdtemp(prefix="pfwizard-state-"))
    tmp = Path(tempfile.mkdtemp(prefix="pfwizard-hook-"))
    bench.configure_miab("main.cf.v75-fresh")
    v75 = (FIXTURES / "master.cf.v75").read_text()
    master.write_text(master.read_text() + v75[v75.index("authclean unix") :])
    bench.reload()
    ref = apply_recipe5(config_dir, state_dir, reload=True)

    pf = [*pfwizard_argv(), "--config-dir", str(config_dir), "--state-dir", str(state_dir)]
    inst = subprocess.run(
        [*pf, "restore", "--install-hook", "cron", "--hook-dir", str(tmp / "cron.d")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert inst.returncode == exitcodes.OK, inst.stderr
    cron_file = tmp / "cron.d" / "pfwizard-restore"
    assert "PATH=" in cron_file.read_text()
    command = cron_command(cron_file)

    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind(str(tmp / "log"))
    log.setblocking(False)
    try:
        miab_upgrade(master)
        bench.reload()
        assert postconf_p(config_dir, KEY) == MIAB
        res = run_as_cron(command, tmp / "log")
        assert res.returncode == exitcodes.CHANGED, res.stdout + res.stderr
        assert postconf_p(config_dir, KEY) == f"{MIAB},{ref}"
        ok = subprocess.run([*pf, "status"], capture_output=True, text=True, timeout=60)
        assert ok.returncode == exitcodes.OK, ok.stdout + ok.stderr
        assert "after-upgrade hook: last run" in ok.stdout
        assert "customisations restored" in ok.stdout
        lines = received(log)
        # <22>: facility mail (2), severity info (6).
        assert any(x.startswith("<22>") and "pfwizard[" in x and "restored" in x for x in lines), (
            lines
        )

        # The next upgrade comes while another pfwizard holds the lock: the run is refused.
        miab_upgrade(master)
        bench.reload()
        fd = os.open(state_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            run_as_cron(command, tmp / "log")
        finally:
            os.close(fd)
        assert postconf_p(config_dir, KEY) == MIAB
        assert (state_dir / OUTCOME_FILE).stat().st_mode & 0o077 == 0
        bad = subprocess.run([*pf, "status"], capture_output=True, text=True, timeout=60)
        assert bad.returncode == exitcodes.FINDINGS, bad.stdout + bad.stderr
        assert "FAILED (exit 4)" in bad.stdout and "another pfwizard" in bad.stdout
        lines = received(log)
        # <19>: mail.err.
        assert any(x.startswith("<19>") and "FAILED" in x for x in lines), lines
    finally:
        log.close()
