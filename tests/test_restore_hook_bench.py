"""The installed after-upgrade hook, run as systemd or cron would run it: its command line,
non-interactive (no terminal, no --no-reload), on the real-Postfix bench after a simulated MiaB
setup run reset authclean; the recipe-5 table is back in authclean's header_checks."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from pfwizard import exitcodes
from pfwizard.intent.hook import render
from tests.conftest import needs_bench
from tests.miab_setup import FIXTURES, release_services, run_master_setup_on
from tests.test_engine_support import backdate
from tests.test_restore_services import KEY, MIAB, apply_recipe5, postconf_p

ROOT = Path(__file__).resolve().parent.parent


def hook_commands(config_dir: Path, state_dir: Path) -> list[list[str]]:
    """The command of the systemd unit's ExecStart and of the cron line, as installed."""
    unit = render("pfwizard-restore.service", str(config_dir), str(state_dir))
    (exec_start,) = [ln.split("=", 1)[1] for ln in unit.splitlines() if ln.startswith("ExecStart=")]
    cron = render("pfwizard-restore.cron", str(config_dir), str(state_dir))
    (line,) = [
        ln
        for ln in cron.splitlines()
        if ln and not ln.startswith("#") and not ln.startswith("PATH=")
    ]
    cron_cmd = line.split(" root ", 1)[1].split(" >/dev/null")[0]
    return [shlex.split(exec_start), shlex.split(cron_cmd)]


def run_hook(argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))  # this checkout's pfwizard (not installed)
    return subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )


def miab_upgrade(master: Path) -> None:
    run_master_setup_on(master, {"authclean": release_services()["authclean"]})
    backdate(master.parent)


@needs_bench
def test_the_installed_hook_restores_authclean_after_an_upgrade(bench):
    config_dir = bench.config_dir
    state_dir = Path(tempfile.mkdtemp(prefix="pfwizard-state-"))
    bench.configure_miab("main.cf.v75-fresh")
    # MiaB's authclean cleanup service, as v75 writes it, on the bench's master.cf.
    v75 = (FIXTURES / "master.cf.v75").read_text()
    master = config_dir / "master.cf"
    master.write_text(master.read_text() + v75[v75.index("authclean unix") :])
    bench.reload()
    ref = apply_recipe5(config_dir, state_dir, reload=True)
    for argv in hook_commands(config_dir, state_dir):
        miab_upgrade(master)
        bench.reload()
        assert postconf_p(config_dir, KEY) == MIAB
        res = run_hook(argv)
        assert res.returncode == exitcodes.CHANGED, res.stdout + res.stderr
        assert postconf_p(config_dir, KEY) == f"{MIAB},{ref}"
        again = run_hook(argv)  # the hook's own write triggers one more run: nothing to do
        assert again.returncode == exitcodes.OK, again.stdout + again.stderr
