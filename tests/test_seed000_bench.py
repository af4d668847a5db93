"""Seed 000 end to end on the real-Postfix bench.

The Cisco ESA DMARC reporter ``MAILER-DAEMON@esa4.commscope.iphmx.com`` has a sender domain
that does not resolve, so MiaB v75's sender chain answers ``450 4.1.8 ... Domain not found``.
The forum's fix (an allowlist table before ``reject_unknown_sender_domain``) is made with the
core only, and the same RCPT then answers ``250 2.1.5 Ok``.

MiaB's v75 chains run as shipped except for the bench substitutions listed in
``tests.bench.miab.BENCH_SUBSTITUTIONS`` (policy services point at a local stub, the sqlite
login map becomes texthash, milters are not run).
"""

from __future__ import annotations

import subprocess

from pfwizard.chain import Chain, Item
from pfwizard.maincf import MainCf
from tests.conftest import needs_bench, needs_postfix

SEED_TABLE = (
    "# Cisco Secure Email Threat Defense (DMARC domains)\n"
    "/esa[0-9]*\\.?[acehimnops0-9]*[-]?[0-9]*\\.?[acps23]*\\.iphmx\\.com/i PERMIT\n"
)
SENDER = "MAILER-DAEMON@esa4.commscope.iphmx.com"


@needs_bench
def test_seed000_rejected_then_allowed(bench):
    bench.configure_miab("main.cf.v75-fresh")
    before = bench.dialogue(
        helo="esa4.commscope.iphmx.com", mail_from=SENDER, rcpt_to="admin@box.example.com"
    )
    assert before.mail.code == 250
    assert before.rcpt.code == 450, before.replies
    assert "4.1.8" in str(before.rcpt)
    assert "Sender address rejected: Domain not found" in str(before.rcpt)

    # The change, made with the core: no hand-written main.cf text.
    table = bench.config_dir / "cisco_dmarc_sender_access"
    table.write_text(SEED_TABLE)
    cf = MainCf.read(bench.instance.main_cf)
    chain = Chain.parse(cf.get("smtpd_sender_restrictions") or "")
    chain.insert_before(
        "reject_unknown_sender_domain", Item("check_sender_access", f"regexp:{table}")
    )
    cf.set("smtpd_sender_restrictions", chain.render())
    bench.instance.main_cf.write_bytes(cf.to_bytes())
    bench.instance.cool_down(table)
    bench.reload()

    after = bench.dialogue(
        helo="esa4.commscope.iphmx.com", mail_from=SENDER, rcpt_to="admin@box.example.com"
    )
    assert after.rcpt.code == 250, after.replies
    assert str(after.rcpt).startswith("250 2.1.5 Ok")

    # Only the target line changed.
    orig = bench.instance.main_cf.read_text().splitlines()
    assert sum("check_sender_access" in ln for ln in orig) == 1


@needs_postfix
def test_seed000_postmap_answers_as_the_seed_shows(tmp_path):
    (tmp_path / "main.cf").write_text("compatibility_level = 3.6\n")
    table = tmp_path / "cisco_dmarc_sender_access"
    table.write_text(SEED_TABLE)

    def q(key: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["postmap", "-c", str(tmp_path), "-q", key, f"regexp:{table}"],
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert q("MAILER-DAEMON@esa.hc3512-62.iphmx.com").stdout == "PERMIT\n"
    upper = q("MAILER-DAEMON@esa.HC3512-62.iphmx.com")
    assert upper.stdout == ""  # the seed's "There is no output."
    assert upper.returncode == 1  # postmap: key not found
