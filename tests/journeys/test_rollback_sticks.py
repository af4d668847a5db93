"""Journey: the admin applies a profile, changes their mind and rolls it back, then MiaB's
setup runs (an upgrade).  The rollback stays rolled back: `status` says in sync (exit 0) and
`restore` changes nothing, so the after-upgrade hook would not put the change back either.
All through the installed `pfwizard`, on the real-Postfix bench (it reloads the bench)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from pfwizard import exitcodes, miab
from pfwizard.maincf import MainCf
from tests.bench.miab import miab_chains
from tests.conftest import needs_bench
from tests.miab_setup import run_setup_on
from tests.pty_driver import pfwizard_script
from tests.test_engine_support import backdate

ESA = "MAILER-DAEMON@esa4.commscope.iphmx.com"
HAND = "# ticket 4711: customisations of this box\nversion: 1\n"
PROFILE = """\
version: 1
chains:
  smtpd_sender_restrictions:
    base: {base}
    operations:
      - insert: check_sender_access regexp:{cfg}/pfwizard/cisco_dmarc
        before: reject_unknown_sender_domain
        why: Cisco ESA DMARC reporters send from domains without DNS
tables:
  {cfg}/pfwizard/cisco_dmarc:
    type: regexp
    content: |
      /^[^@]+@esa[0-9]+\\.[a-z0-9-]+\\.iphmx\\.com$/ PERMIT
"""


def journal_entry(stdout: str) -> str:
    """The journal entry a change wrote, from its last line ``done (journal entry N)``."""
    (entry,) = [
        ln.split("journal entry ")[1].rstrip(")")
        for ln in stdout.splitlines()
        if ln.startswith("done (journal entry")
    ]
    return entry


def esa_reply(bench) -> int:
    d = bench.dialogue(
        helo="esa4.commscope.iphmx.com", mail_from=ESA, rcpt_to="admin@box.example.com"
    )
    return (d.rcpt if d.for_command("RCPT") else d.mail).code


def run(pf: list[str], *argv: str) -> subprocess.CompletedProcess[str]:
    # The environment as is: PYTHONPATH, when set, makes the console script run a checkout.
    return subprocess.run(
        [*pf, *argv], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180
    )


@needs_bench
def test_a_rollback_survives_the_next_miab_upgrade(bench):
    config_dir = bench.config_dir
    state_dir = Path(tempfile.mkdtemp(prefix="pfwizard-state-"))
    intent = state_dir / "customizations.yaml"
    intent.write_text(HAND)
    intent.chmod(0o600)
    bench.configure_miab("main.cf.v66-fresh")
    assert esa_reply(bench) == 450  # the sender domain does not resolve

    script = pfwizard_script()
    assert script, "pfwizard console script not installed"
    pf = [script, "--config-dir", str(config_dir), "--state-dir", str(state_dir)]
    base = MainCf.read(config_dir / "main.cf").get("smtpd_sender_restrictions")
    profile = Path(tempfile.mkdtemp(prefix="pfwizard-profile-")) / "cisco.yaml"
    profile.write_text(PROFILE.format(base=base, cfg=config_dir))

    applied = run(pf, "apply", str(profile))
    assert applied.returncode == exitcodes.CHANGED, applied.stdout + applied.stderr
    assert esa_reply(bench) == 250
    assert "cisco_dmarc" in intent.read_text()
    entry = journal_entry(applied.stdout)

    backdate(config_dir)
    rolled = run(pf, "rollback", "--to", entry, "--yes")
    assert rolled.returncode == exitcodes.CHANGED, rolled.stdout + rolled.stderr
    # The rollback's diff showed the recorded customisation going too.
    assert f"a{intent.resolve()}" in rolled.stdout and "-      - insert:" in rolled.stdout
    assert intent.read_text() == HAND
    assert esa_reply(bench) == 450

    # MiaB v75's setup run (the bench's policy-service substitutions kept).
    v75 = miab_chains("main.cf.v75-fresh", bench.policy.address, config_dir)
    values: dict[str, str | None] = {n: v75[n] for n in miab.MANAGED_CHAINS}
    values.update(dict.fromkeys(sorted(miab.ERASED)))
    before_upgrade = (config_dir / "main.cf").read_bytes()
    run_setup_on(config_dir / "main.cf", values)
    assert (config_dir / "main.cf").read_bytes() != before_upgrade
    backdate(config_dir)
    bench.reload()

    status = run(pf, "status")
    assert status.returncode == exitcodes.OK, status.stdout + status.stderr
    after_upgrade = (config_dir / "main.cf").read_bytes()
    restore = run(pf, "restore", "--yes")
    assert restore.returncode == exitcodes.OK, restore.stdout + restore.stderr
    assert (config_dir / "main.cf").read_bytes() == after_upgrade
    assert intent.read_text() == HAND
    assert not (config_dir / "pfwizard" / "cisco_dmarc").exists()
    assert esa_reply(bench) == 450
