"""On the real-Postfix bench: SMTP verdicts after `pfwizard restore` equal those before the
MiaB upgrade (v66 customised → v75 setup → restore)."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from pfwizard import exitcodes, miab, postfix
from pfwizard.cli import main
from tests.bench.miab import miab_chains
from tests.bench.smtp import INSIDE, LISTED_SBL, OUTSIDE
from tests.conftest import needs_bench
from tests.miab_setup import customise, run_setup_on

# (what it shows, dialogue arguments)
CASES = [
    (
        "seed 000: Cisco DMARC reporter allowed",
        {"helo": "esa4.commscope.iphmx.com", "mail_from": "MAILER-DAEMON@esa4.commscope.iphmx.com"},
    ),
    ("seed 001: own domain spoofed from outside", {"mail_from": "mick@box.example.com"}),
    (
        "seed 001: own domain from inside still fine",
        {"mail_from": "mick@box.example.com", "source": INSIDE},
    ),
    ("HELO hardening: non-FQDN HELO", {"helo": "localhost"}),
    ("ordinary sender", {"mail_from": "someone@gmail.com"}),
    ("unknown sender domain", {"mail_from": "x@nowhere.invalid"}),
    ("dbl-listed sender", {"mail_from": "bad@spammer.example"}),
    ("zen-listed client", {"mail_from": "someone@gmail.com", "source": LISTED_SBL}),
]


def verdicts(bench) -> dict[str, str]:
    out = {}
    for name, kw in CASES:
        kw = dict(kw)
        kw.setdefault("source", OUTSIDE)
        d = bench.dialogue(rcpt_to="admin@box.example.com", **kw)
        reply = d.rcpt if d.for_command("RCPT") else d.mail
        out[name] = f"{reply.code} {reply}"
    return out


def backdate(*paths: Path) -> None:
    old = time.time() - 10
    for p in paths:
        os.utime(p, (old, old))


@needs_bench
def test_smtp_verdicts_after_restore_equal_those_before_the_upgrade(bench):
    config_dir = bench.config_dir
    state_dir = Path(tempfile.mkdtemp(prefix="pfwizard-state-"))
    bench.configure_miab("main.cf.v66-fresh")
    customise(config_dir, state_dir)
    own = config_dir / "pfwizard" / "own_domains"
    backdate(config_dir / "main.cf", own)
    assert postfix.postmap(config_dir, f"hash:{own}").ok
    backdate(own, Path(f"{own}.db"), config_dir / "pfwizard" / "cisco_dmarc_sender_access")
    bench.reload()
    before = verdicts(bench)
    assert before["seed 000: Cisco DMARC reporter allowed"].startswith("250")
    assert before["seed 001: own domain spoofed from outside"].startswith("554")
    assert before["HELO hardening: non-FQDN HELO"].startswith("504")

    # MiaB v75's setup run, with the bench's substitutions for its policy services.
    v75 = miab_chains("main.cf.v75-fresh", bench.policy.address, config_dir)
    values: dict[str, str | None] = {n: v75[n] for n in miab.MANAGED_CHAINS}
    values.update(dict.fromkeys(sorted(miab.ERASED)))
    run_setup_on(config_dir / "main.cf", values)
    backdate(config_dir / "main.cf")
    bench.reload()
    upgraded = verdicts(bench)
    assert upgraded["seed 000: Cisco DMARC reporter allowed"].startswith("450")  # lost
    assert upgraded["seed 001: own domain spoofed from outside"].startswith("250")  # lost

    argv = ["--config-dir", str(config_dir), "--state-dir", str(state_dir)]
    # Through the engine: backup, check, reload, serving check.
    assert main([*argv, "restore", "--yes"]) == exitcodes.CHANGED
    assert verdicts(bench) == before
    assert main([*argv, "--no-reload", "restore", "--yes"]) == exitcodes.OK
    assert main([*argv, "status"]) == exitcodes.OK
