"""Recipes 1 and 2 end to end on the bench's real Postfix: propose, apply through
pfwizard.engine, and check the SMTP verdicts before and after against what the seeds say."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from pfwizard.allowlist import propose
from pfwizard.engine import Engine
from pfwizard.maincf import MainCf
from pfwizard.recipes import (
    allowlist_unresolved_senders,
    box_domains,
    reject_own_domain_senders,
)
from tests.bench.smtp import INSIDE, OUTSIDE
from tests.conftest import needs_bench
from tests.test_explain_bench import configure_v75, settle

CISCO = "MAILER-DAEMON@esa4.commscope.iphmx.com"
SEED_SENDERS = [CISCO, "MAILER-DAEMON@esa2.hc681-85.ap.iphmx.com",
                "MAILER-DAEMON@esa.hc3512-62.iphmx.com"]
DBL_LISTED = "MAILER-DAEMON@esa9.listed.iphmx.com"  # on the stub DBL (tests/bench/dns.py)


def apply(bench, proposal) -> None:
    state = Path(tempfile.mkdtemp(prefix="pfwizard-state-", dir="/tmp"))
    engine = Engine(bench.config_dir, state, restart=bench.restart)
    plan = engine.plan(proposal.changeset())
    result = engine.apply(plan)
    assert result.ok, (result.error, result.postfix_output, result.steps)
    bench.instance.cool_down(*[Path(t.path) for t in proposal.tables])
    settle(bench)


def rcpt(bench, sender, source=OUTSIDE):
    return bench.dialogue(mail_from=sender, rcpt_to="dmarc@box.example.com", source=source,
                          helo="esa4.commscope.iphmx.com").rcpt


@needs_bench
@pytest.mark.parametrize("placement", ["before-unknown", "after-rhsbl"])
def test_recipe1_seed000_allowlist(bench, placement):
    configure_v75(bench)
    assert rcpt(bench, CISCO).code == 450
    learned = propose(SEED_SENDERS)
    assert learned.ok
    cf = MainCf.read(bench.instance.main_cf)
    prop = allowlist_unresolved_senders(cf, bench.config_dir, learned.table_text(), placement)
    assert {p.key for p in prop.placements} == {"before-unknown", "after-rhsbl"}
    assert "DBL" in prop.chosen.risk
    apply(bench, prop)

    after = rcpt(bench, CISCO)
    assert str(after).startswith("250 2.1.5"), after
    # An unrelated unresolvable sender is still refused: the allowlist is narrow.
    assert rcpt(bench, "bounce@nowhere.invalid-example").code == 450
    # A look-alike is refused too.
    assert rcpt(bench, "MAILER-DAEMON@esa4.commscope.iphmx.com.evil.example").code == 450
    # The DBL: the first placement lets a listed matching domain through; the second doesn't.
    listed = rcpt(bench, DBL_LISTED)
    if placement == "before-unknown":
        assert listed.code == 250, listed
    else:
        assert listed.code == 554 and "dbl.spamhaus.org" in str(listed), listed


@needs_bench
def test_recipe2_seed001_outsider_rejected_inside_passes(bench):
    configure_v75(bench)
    me = "mick@box.example.com"
    before = bench.dialogue(mail_from=me, rcpt_to=me, source=OUTSIDE).rcpt
    assert before.code == 250  # seed 001's hole: an outsider may send as you, to you
    cf = MainCf.read(bench.instance.main_cf)
    domains = box_domains(bench.config_dir)
    assert domains == ["box.example.com"]
    prop = reject_own_domain_senders(cf, bench.config_dir, domains)
    assert prop.placement == "recipient"
    chain = prop.params["smtpd_recipient_restrictions"] or ""
    assert chain.startswith("permit_sasl_authenticated,permit_mynetworks,check_sender_access")
    assert "smtpd_sender_restrictions" not in prop.params
    apply(bench, prop)

    outsider = bench.dialogue(mail_from=me, rcpt_to=me, source=OUTSIDE).rcpt
    assert outsider.code == 554 and "Not authorised" in str(outsider), outsider
    inside = bench.dialogue(mail_from=me, rcpt_to=me, source=INSIDE).rcpt
    assert inside.code == 250, inside
    stranger = bench.dialogue(mail_from="a@example.org", rcpt_to=me, source=OUTSIDE).rcpt
    assert stranger.code == 250


@needs_bench
def test_recipe2_sender_placement_keeps_login_mismatch_first(bench):
    configure_v75(bench)
    cf = MainCf.read(bench.instance.main_cf)
    prop = reject_own_domain_senders(cf, bench.config_dir, ["box.example.com"], "sender")
    chain = prop.params["smtpd_sender_restrictions"] or ""
    names = [w for w in chain.replace(",", " ").split() if w.startswith(("reject", "permit"))]
    assert names.index("reject_authenticated_sender_login_mismatch") < \
        names.index("permit_sasl_authenticated")
    apply(bench, prop)
    me = "mick@box.example.com"
    assert bench.dialogue(mail_from=me, rcpt_to=me, source=OUTSIDE).rcpt.code == 554
    assert bench.dialogue(mail_from=me, rcpt_to=me, source=INSIDE).rcpt.code == 250
