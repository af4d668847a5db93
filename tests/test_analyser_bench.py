"""Findings whose claims the real smtpd proves: what the analyser says would happen, happens.

MiaB v75's chains run on the bench (``bench.configure_miab``), with the edits each finding is
about made through the core (MainCf/Chain), never hand-written main.cf text.
"""

from __future__ import annotations

import subprocess
import time

from pfwizard.analyser import analyse
from pfwizard.chain import Chain, Item
from pfwizard.findings import Severity
from pfwizard.maincf import MainCf
from tests.bench.smtp import LISTED_REFUSED_CODE
from tests.conftest import needs_bench

SEED_TABLE = (
    "# Cisco Secure Email Threat Defense (DMARC domains)\n"
    "/^MAILER-DAEMON@esa[0-9]*\\.([a-z0-9-]+\\.){1,2}iphmx\\.com$/ PERMIT\n"
)
# Matches the seed's allowlist pattern; the test lists its domain in the stub DBL.
LISTED_DOMAIN = "esa5.hc1234-5.iphmx.com"
LISTED_SENDER = f"MAILER-DAEMON@{LISTED_DOMAIN}"


# `postfix reload` only signals master; under load master may re-read main.cf a moment later,
# after the next test step already rewrote (truncated) it, and then runs on an empty config
# (seen: smtpd looking for /var/spool/postfix/private/proxymap and sleeping 10 s). So every
# reconfiguration here waits for master's own "reload" log line.
RELOADED = ("reload -- version", "daemon started")


def settle(bench, mark: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not any(r in bench.instance.log_text()[mark:] for r in RELOADED):
        if time.monotonic() > deadline:
            return
        time.sleep(0.02)


def configure(bench, params=None, miab: str | None = None):
    """bench.configure / configure_miab, returning only once master runs the new config."""
    mark = bench.instance.log_mark()
    out = bench.configure_miab(miab, params) if miab else bench.configure(params)
    settle(bench, mark)
    return out


def talk(bench, **kw):
    """One dialogue; once more on a restarted bench if smtpd gave no banner at all (a stalled
    bench under heavy machine load; a refused configuration answers 451 instead)."""
    kw.setdefault("timeout", 10)
    d = bench.dialogue(**kw)
    if d.replies and d.replies[0].code == 0:
        bench.restart()
        d = bench.dialogue(**kw)
    return d


def _edit_sender_chain(bench, edit) -> MainCf:
    cf = MainCf.read(bench.instance.main_cf)
    chain = Chain.parse(cf.get("smtpd_sender_restrictions") or "")
    edit(chain)
    cf.set("smtpd_sender_restrictions", chain.render())
    bench.instance.main_cf.write_bytes(cf.to_bytes())
    bench.instance.cool_down(*bench.config_dir.iterdir())
    mark = bench.instance.log_mark()
    bench.reload()
    settle(bench, mark)
    return cf


def _bypass(cf: MainCf, bench) -> list:
    return [
        f
        for f in analyse(cf, bench.config_dir)
        if f.code == "order-bypass" and f.severity is Severity.CAUTION
    ]


@needs_bench
def test_seed000_allowlist_before_dbl_lets_listed_senders_through(bench):
    configure(bench, miab="main.cf.v75-fresh")
    table = bench.config_dir / "cisco_dmarc_sender_access"
    table.write_text(SEED_TABLE)
    listed = f"{LISTED_DOMAIN}.dbl.spamhaus.org"
    bench.dns.zone.a[listed] = "127.0.1.2"
    try:
        _seed_before_and_after(bench, table)
    finally:
        del bench.dns.zone.a[listed]


def _seed_before_and_after(bench, table) -> None:
    entry = Item("check_sender_access", f"regexp:{table}")

    # The forum's fix: the allowlist before reject_unknown_sender_domain (and the DBL).
    cf = _edit_sender_chain(bench, lambda c: c.insert_before("reject_unknown_sender_domain", entry))
    found = _bypass(cf, bench)
    assert len(found) == 1 and "reject_rhsbl_sender" in found[0].message
    d = talk(bench, helo=LISTED_DOMAIN, mail_from=LISTED_SENDER, rcpt_to="dmarc@box.example.com")
    assert d.rcpt.code == 250, d.replies  # the DBL never saw it: the finding's claim holds

    # The admin's reordering (seed 000's last post): the DBL check first, the allowlist after.
    def reorder(c: Chain) -> None:
        by_name = {i.name: i for i in c}
        c.items = [by_name[n] for n in ("reject_non_fqdn_sender", "reject_rhsbl_sender")]
        c.items += [
            entry,
            by_name["reject_authenticated_sender_login_mismatch"],
            by_name["reject_unknown_sender_domain"],
        ]

    cf = _edit_sender_chain(bench, reorder)
    assert not _bypass(cf, bench)
    d = talk(bench, helo=LISTED_DOMAIN, mail_from=LISTED_SENDER, rcpt_to="dmarc@box.example.com")
    assert d.rcpt.code == 554 and "dbl.spamhaus.org" in d.rcpt.text, d.replies
    # ... while the sender the allowlist was written for still gets through
    d = talk(
        bench,
        helo="esa4.commscope.iphmx.com",
        mail_from="MAILER-DAEMON@esa4.commscope.iphmx.com",
        rcpt_to="dmarc@box.example.com",
    )
    assert d.rcpt.code == 250, d.replies


@needs_bench
def test_missing_table_is_found_before_smtpd_fails(bench):
    configure(bench, miab="main.cf.v75-fresh")
    gone = bench.config_dir / "not_written_yet"
    cf = _edit_sender_chain(
        bench, lambda c: c.items.insert(0, Item("check_sender_access", f"texthash:{gone}"))
    )
    findings = [f for f in analyse(cf, bench.config_dir) if f.code == "missing-table"]
    assert len(findings) == 1 and findings[0].severity is Severity.DANGER
    check = subprocess.run(
        ["postfix", "-c", str(bench.config_dir), "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0
    d = talk(bench, mail_from="someone@example.org", rcpt_to="admin@box.example.com")
    assert d.rcpt.code == 451 and "4.3.5" in d.rcpt.text, d.replies


@needs_bench
def test_rbl_without_reply_filter_rejects_on_an_error_answer(bench):
    """The stub zen.spamhaus.org answers 127.255.255.254 ("query refused") for this client."""
    params = configure(bench, miab="main.cf.v75-fresh")
    d = talk(
        bench,
        mail_from="someone@example.org",
        rcpt_to="admin@box.example.com",
        source=LISTED_REFUSED_CODE,
    )
    assert d.rcpt.code == 250, d.replies  # MiaB v68's filter ignores the error code

    old = params["smtpd_recipient_restrictions"].replace(
        "zen.spamhaus.org=127.0.0.[2..11]", "zen.spamhaus.org"
    )
    configure(bench, dict(params, smtpd_recipient_restrictions=old))
    cf = MainCf.read(bench.instance.main_cf)
    found = [f for f in analyse(cf, bench.config_dir) if f.code == "rbl-no-reply-filter"]
    assert len(found) == 1 and found[0].entry == "reject_rbl_client zen.spamhaus.org"
    d = talk(
        bench,
        mail_from="someone@example.org",
        rcpt_to="admin@box.example.com",
        source=LISTED_REFUSED_CODE,
    )
    assert d.rcpt.code == 554 and "zen.spamhaus.org" in d.rcpt.text, d.replies


@needs_bench
def test_dead_entry_never_runs(bench):
    configure(bench, {"smtpd_sender_restrictions": "permit, reject_unknown_sender_domain"})
    cf = MainCf.read(bench.instance.main_cf)
    dead = [f for f in analyse(cf, bench.config_dir) if f.code == "dead-entry"]
    assert len(dead) == 1 and dead[0].entry == "reject_unknown_sender_domain"
    d = talk(bench, mail_from="someone@nxdomain.example", rcpt_to="admin@box.example.com")
    assert d.rcpt.code == 250, d.replies  # the unknown domain was never checked
