"""`pfwizard restore` on a terminal (the installed console script in a real pty, 80x24,
plain keys) opens the wizard's restore screen: a v66 box customised, then MiaB v75's setup
run on it; the admin reviews the plan and the diff and applies on that copy."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from pfwizard.chain import Chain
from tests.conftest import needs_postfix
from tests.miab_setup import box, customise, release_values, run_setup_on
from tests.pty_driver import Terminal, pfwizard_script

pytestmark = pytest.mark.skipif(
    pfwizard_script() is None, reason="the pfwizard console script is not installed"
)


def postconf_h(config_dir, name: str) -> str:
    old = time.time() - 10  # a younger main.cf makes postconf pause (cool down)
    os.utime(config_dir / "main.cf", (old, old))
    return subprocess.run(
        ["postconf", "-c", str(config_dir), "-h", name],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.strip()


@needs_postfix
@pytest.mark.parametrize("term", ["xterm-256color", "linux"])
def test_restore_on_a_terminal_opens_the_screen_and_applies(tmp_path, term):
    config_dir, state_dir = box(tmp_path)
    customise(config_dir, state_dir)
    run_setup_on(config_dir / "main.cf", release_values())
    before = (config_dir / "main.cf").read_bytes()
    args = ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload"]
    t = Terminal([*args, "restore"], term=term)
    try:
        t.wait_for(
            "Restore", "smtpd_sender_restrictions: customisations missing", "MiaB now:", "n Review"
        )
        assert (config_dir / "main.cf").read_bytes() == before
        t.press("n")
        t.wait_for("Restore: review", "w: apply", "MiaB added:")
        assert (config_dir / "main.cf").read_bytes() == before  # reviewed, not written
        t.press("w")
        t.wait_for("Apply now?")
        t.press("y")
        t.wait_for("Applied (journal entry", timeout=90)
        t.press("n")
        # --no-reload: Done says what was done, not "in force".
        t.wait_for("OK: written; Postfix was not reloaded (--no-reload)")
        t.press("q")
        assert t.finish() == 10  # `pfwizard restore`'s own code: restored
    finally:
        t.kill()
    sender = Chain.parse(postconf_h(config_dir, "smtpd_sender_restrictions")).names()
    assert sender.index("check_sender_access") == sender.index("reject_unknown_sender_domain") - 1
    assert "own_domains" in postconf_h(config_dir, "smtpd_recipient_restrictions")
    assert "dbl.spamhaus.org=127.0.1.[2..99]" in postconf_h(config_dir, "smtpd_sender_restrictions")
    status = subprocess.run(
        [pfwizard_script(), *args, "status"], capture_output=True, text=True, timeout=60
    )
    assert status.returncode == 0, status.stdout + status.stderr
