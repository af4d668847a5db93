"""Journey: an admin customised main.cf and master.cf by hand before pfwizard; a MiaB setup run
commented both out.  `status` names both, `restore --adopt --yes` brings them back (through
the engine, gate included), Postfix itself shows the admin's values again, the old lines stay
in the files as comments under a note, and the next `status` is in sync."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from pfwizard import exitcodes
from pfwizard.chain import Chain
from pfwizard.intent.adopt import ADOPTED_NOTE
from tests.conftest import needs_postfix
from tests.journeys.test_hook_after_upgrade import pfwizard_argv
from tests.miab_setup import FIXTURES

SENDER, RCPT = "smtpd_sender_restrictions", "smtpd_recipient_restrictions"
KEY = "submission/inet/smtpd_client_restrictions"


def scratch(tmp: Path, stage: str) -> Path:
    """A config directory holding the ``stage`` fixtures (``before`` or ``after`` MiaB's v75
    setup run).  Only ``myorigin`` is localised: this machine has no /etc/mailname."""
    config_dir = tmp / stage / "etc"
    config_dir.mkdir(parents=True)
    main = (FIXTURES / f"main.cf.customized-{stage}-v75-setup").read_text()
    (config_dir / "main.cf").write_text(
        main.replace("\nmyorigin = /etc/mailname\n", "\nmyorigin = box.example.com\n")
    )
    shutil.copyfile(FIXTURES / f"master.cf.customized-{stage}-v75-setup", config_dir / "master.cf")
    return config_dir


def postconf(config_dir: Path, *args: str) -> list[str]:
    # A main.cf younger than ~2 s makes Postfix programs pause: backdate it.
    old = time.time() - 10
    os.utime(config_dir / "main.cf", (old, old))
    res = subprocess.run(
        ["postconf", "-c", str(config_dir), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return res.stdout.splitlines()


def chains(config_dir: Path) -> list[tuple[object, ...]]:
    return [Chain.parse(v).items for v in postconf(config_dir, "-h", SENDER, RCPT)]


@needs_postfix
@pytest.mark.skipif(os.geteuid() != 0, reason="pfwizard writes Postfix's files as root")
def test_adopt_brings_back_hand_edits_to_main_cf_and_master_cf_and_keeps_them_as_comments(tmp_path):
    admins = scratch(tmp_path, "before")  # what the admin had: Postfix's own reading of it
    config_dir = scratch(tmp_path, "after")
    state_dir = config_dir.parent / "state"
    pf = [*pfwizard_argv(), "--config-dir", str(config_dir), "--state-dir", str(state_dir)]
    assert postconf(config_dir, "-P", KEY) == []
    assert chains(config_dir) != chains(admins)

    status = subprocess.run([*pf, "status"], capture_output=True, text=True, timeout=60)
    assert status.returncode == exitcodes.FINDINGS, status.stdout + status.stderr
    assert "commented out by MiaB: smtpd_sender_restrictions" in status.stdout
    assert f"commented out by MiaB: master.cf {KEY}" in status.stdout

    adopt = subprocess.run(
        [*pf, "restore", "--adopt", "--yes"], capture_output=True, text=True, timeout=180
    )
    assert adopt.returncode == exitcodes.CHANGED, adopt.stdout + adopt.stderr
    assert "safety check: ok" in adopt.stdout  # through the safety check, like any restore

    assert (
        postconf(config_dir, "-P", KEY)
        == postconf(admins, "-P", KEY)
        == [f"{KEY} = permit_sasl_authenticated,reject"]
    )
    assert chains(config_dir) == chains(admins)

    # The glued lines and the old submission entry stay, commented, under pfwizard's note.
    main = (config_dir / "main.cf").read_text().splitlines()
    k = main.index("#smtpd_sender_restrictions =")
    assert main[k - 1].startswith(ADOPTED_NOTE)
    assert main[k + 1 : k + 3] == [
        "#    permit_sasl_authenticated,",
        "#    reject_non_fqdn_sender,",
    ]
    master = (config_dir / "master.cf").read_text().splitlines()
    k = master.index("#submission inet n       -       -       -       -       smtpd")
    assert master[k - 1].startswith(ADOPTED_NOTE)
    assert "#  -o smtpd_client_restrictions=permit_sasl_authenticated,reject" in master[k : k + 8]

    again = subprocess.run([*pf, "status"], capture_output=True, text=True, timeout=60)
    assert again.returncode == exitcodes.OK, again.stdout + again.stderr
    assert "=> in sync" in again.stdout
