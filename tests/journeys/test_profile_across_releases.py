"""Journey: one profile across MiaB releases.  The admin pushes a profile that removes
`reject_rbl_client zen.spamhaus.org` to a v66 box; MiaB's v75 setup runs over it and writes
v68's new form `zen.spamhaus.org=127.0.0.[2..11]`; the same profile, re-applied, stops on that
conflict (exit 4) instead of calling it "gone already"; `--on-conflict=remove-new` decides
it (exit 10), and from then on the profile applies clean (exit 0).  The live smtpd proves each
step: a client listed in zen is refused while MiaB's form is active, accepted once removed."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from pfwizard import exitcodes, miab
from tests.bench.miab import miab_chains
from tests.bench.smtp import LISTED_SBL
from tests.conftest import needs_bench
from tests.journeys.test_hook_after_upgrade import pfwizard_argv
from tests.miab_setup import run_setup_on

ZEN = "reject_rbl_client zen.spamhaus.org"
ZEN_V68 = "reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]"
PROFILE = f"""\
# Our standard for every MiaB box: Spamhaus is queried with our DQS key in postscreen,
# so the public zen lookup goes.
version: 1
chains:
  smtpd_recipient_restrictions:
    operations:
      - remove: {ZEN}
        why: Spamhaus via our DQS key, not the public mirrors
"""


def backdate(path: Path) -> None:
    # A main.cf younger than ~2 s makes Postfix programs pause: backdate it.
    old = time.time() - 10
    os.utime(path, (old, old))


def listed_client_verdict(bench) -> int:
    """What smtpd answers a client listed in zen (RCPT, or MAIL if refused earlier)."""
    d = bench.dialogue(
        mail_from="someone@gmail.com", rcpt_to="admin@box.example.com", source=LISTED_SBL
    )
    return (d.rcpt if d.for_command("RCPT") else d.mail).code


def postconf_h(config_dir: Path, name: str) -> str:
    res = subprocess.run(
        ["postconf", "-c", str(config_dir), "-h", name],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return res.stdout.strip()


@needs_bench
def test_a_v66_profile_meets_v75_decided_once_then_clean(bench):
    config_dir = bench.config_dir
    state_dir = Path(tempfile.mkdtemp(prefix="pfwizard-state-"))
    profile = Path(tempfile.mkdtemp(prefix="pfwizard-profile-")) / "standard.yaml"
    profile.write_text(PROFILE)
    bench.configure_miab("main.cf.v66-fresh")
    assert listed_client_verdict(bench) == 554  # v66's zen check, as MiaB ships it

    pf = [*pfwizard_argv(), "--config-dir", str(config_dir), "--state-dir", str(state_dir)]

    def apply(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*pf, "apply", str(profile), *extra],
            capture_output=True,
            text=True,
            timeout=180,
            stdin=subprocess.DEVNULL,
        )

    first = apply()
    assert first.returncode == exitcodes.CHANGED, first.stdout + first.stderr
    assert "MiaB changed the base" not in first.stdout  # a profile without a base
    assert listed_client_verdict(bench) == 250

    # MiaB v75's setup run (with the bench's policy-service addresses).
    v75 = miab_chains("main.cf.v75-fresh", bench.policy.address, config_dir)
    values: dict[str, str | None] = {n: v75[n] for n in miab.MANAGED_CHAINS}
    values.update(dict.fromkeys(sorted(miab.ERASED)))
    run_setup_on(config_dir / "main.cf", values)
    backdate(config_dir / "main.cf")
    bench.reload()
    assert ZEN_V68 in postconf_h(config_dir, "smtpd_recipient_restrictions")
    assert listed_client_verdict(bench) == 554

    # The same profile again: MiaB changed the form of the item it removes.
    before = (config_dir / "main.cf").read_bytes()
    stopped = apply()
    assert stopped.returncode == exitcodes.REFUSED, stopped.stdout + stopped.stderr
    assert f"you removed '{ZEN}'; MiaB now ships '{ZEN_V68}' instead" in stopped.stdout
    assert "--on-conflict=remove-new" in stopped.stdout
    assert "gone already" not in stopped.stdout
    assert (config_dir / "main.cf").read_bytes() == before
    assert listed_client_verdict(bench) == 554

    decided = apply("--on-conflict=remove-new")
    assert decided.returncode == exitcodes.CHANGED, decided.stdout + decided.stderr
    assert "decided (remove-new)" in decided.stdout
    rcpt = postconf_h(config_dir, "smtpd_recipient_restrictions")
    assert "zen.spamhaus.org" not in rcpt
    assert "check_policy_service" in rcpt and rcpt.count("check_policy_service") == 2  # v73's
    assert listed_client_verdict(bench) == 250
    assert f"also_remove: {ZEN_V68}" in (state_dir / "customizations.yaml").read_text()

    again = apply()
    assert again.returncode == exitcodes.OK, again.stdout + again.stderr
    status = subprocess.run([*pf, "status"], capture_output=True, text=True, timeout=120)
    assert status.returncode == exitcodes.OK, status.stdout + status.stderr
