"""Journey: `status` from cron reads back what it worked out before (the state directory's
`cache/`), and still tells the truth at every turn of the admin's life: a profile applied, the
allowlist edited by hand in place (same size, same time), MiaB's setup run, the hook's
restore, a rollback.  All through the installed `pfwizard`, on the real-Postfix bench."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pfwizard import exitcodes, miab
from pfwizard.maincf import MainCf
from tests.bench.miab import miab_chains
from tests.conftest import needs_bench
from tests.journeys.test_rollback_sticks import PROFILE, esa_reply, journal_entry, run
from tests.miab_setup import run_setup_on
from tests.pty_driver import pfwizard_script
from tests.test_engine_support import backdate

LOOK_ALIKE = ".iphmx.com.attacker.example' regexp:"


def status(pf: list[str]) -> tuple[int, str]:
    res = run(pf, "status")
    return res.returncode, res.stdout + res.stderr


@needs_bench
def test_status_keeps_up_with_the_admin(bench):
    config_dir = bench.config_dir
    state_dir = Path(tempfile.mkdtemp(prefix="pfwizard-state-"))
    bench.configure_miab("main.cf.v75-fresh")
    script = pfwizard_script()
    assert script, "pfwizard console script not installed"
    pf = [script, "--config-dir", str(config_dir), "--state-dir", str(state_dir)]
    base = MainCf.read(config_dir / "main.cf").get("smtpd_sender_restrictions")
    profile = Path(tempfile.mkdtemp(prefix="pfwizard-profile-")) / "cisco.yaml"
    profile.write_text(PROFILE.format(base=base, cfg=config_dir))
    applied = run(pf, "apply", str(profile))
    assert applied.returncode == exitcodes.CHANGED, applied.stdout + applied.stderr
    entry = journal_entry(applied.stdout)
    assert esa_reply(bench) == 250

    first = status(pf)
    assert first[0] == exitcodes.OK, first[1]
    kept = state_dir / "cache"
    assert sorted(p.name for p in kept.iterdir()) == ["intent.json", "tablelint.json"]
    assert status(pf) == first  # read back

    # The allowlist edited by hand: its end anchor gone, same size and time.
    table = config_dir / "pfwizard" / "cisco_dmarc"
    text, st = table.read_text(), table.stat()
    table.write_text(text.replace("$/ PERMIT", "/  PERMIT"))
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))
    code, said = status(pf)
    assert code == exitcodes.FINDINGS and LOOK_ALIKE in said, said
    table.write_text(text)
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert status(pf) == first

    # MiaB's setup runs: drift; the hook's restore: in sync again.
    v75 = miab_chains("main.cf.v75-fresh", bench.policy.address, config_dir)
    values: dict[str, str | None] = {n: v75[n] for n in miab.MANAGED_CHAINS}
    values.update(dict.fromkeys(sorted(miab.ERASED)))
    run_setup_on(config_dir / "main.cf", values)
    backdate(config_dir)
    bench.reload()
    code, said = status(pf)
    assert code == exitcodes.FINDINGS and "customisations missing" in said, said
    restored = run(pf, "restore", "--yes")
    assert restored.returncode == exitcodes.CHANGED, restored.stdout + restored.stderr
    code, said = status(pf)
    assert code == exitcodes.OK and "=> in sync" in said, said
    assert esa_reply(bench) == 250

    # The admin rolls the restore back: the customisation is missing again, and status
    # (which kept answers about the files as the restore left them) says so.
    again = journal_entry(restored.stdout)
    assert again != entry
    backdate(config_dir)
    rolled = run(pf, "rollback", "--to", again, "--yes")
    assert rolled.returncode == exitcodes.CHANGED, rolled.stdout + rolled.stderr
    code, said = status(pf)
    assert code == exitcodes.FINDINGS and "customisations missing" in said, said
