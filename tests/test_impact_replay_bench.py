# ruff: noqa: E501  (a MiaB chain is one long line, as in main.cf)
"""The impact preview on the real-Postfix bench, with a generated week of this box's mail.

The envelopes come straight from the generator's own record of what it wrote
(``tests/impact_weeklog.Week.envelopes``), so these tests judge the replay and the report
alone, whatever the log reader does. The bench instance plays the box's live Postfix: the
replay must never touch it or its policy service.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pfwizard.impact import replay as replay_mod
from pfwizard.impact.preview import preview
from pfwizard.impact.proposal import plan_change
from pfwizard.impact.report import ImpactReport, render
from tests import impact_box
from tests.conftest import needs_bench
from tests.impact_box import DOMAIN, ESA_PROFILE, envelopes_of
from tests.impact_weeklog import BAD_HELOS, ESA_REPORTS, Week

box, week = impact_box.box, impact_box.week  # the fixtures

_reports: dict[tuple[int, str], ImpactReport] = {}


def run(box, tmp_path: Path, profile_text: str, week: Week, **kw) -> ImpactReport:
    """The preview of ``profile_text`` on the week; the same box, week and profile give the
    same report, so without test seams (``kw``) it is computed once per module."""
    key = (id(week), profile_text)
    if not kw and key in _reports:
        return _reports[key]
    _reports[key] = rep = _run(box, tmp_path, profile_text, week, **kw)
    return rep


def _run(box, tmp_path: Path, profile_text: str, week: Week, envelopes=None, **kw) -> ImpactReport:
    state = tmp_path / "state"
    state.mkdir(exist_ok=True)
    profile = tmp_path / "profile.yaml"
    profile.write_text(profile_text.format(cfg=box.config_dir))
    plan = plan_change(box.config_dir, state, profile)
    rep = preview(
        "profile.yaml",
        box.config_dir,
        plan,
        envelopes_of(week) if envelopes is None else envelopes,
        resolv_conf=box.instance.root / "resolv.conf",
        **{"rate": 0, **kw},  # unpaced: the stub DNS needs no sparing
    )
    print("\n".join(render(rep)))
    return rep


OWN_DOMAIN_PROFILE = f"""\
version: 1
chains:
  smtpd_recipient_restrictions:
    operations:
      - insert: check_sender_access hash:{{cfg}}/pfwizard/own_domain_senders
        after: permit_mynetworks
tables:
  {{cfg}}/pfwizard/own_domain_senders:
    type: hash
    content: |
      {DOMAIN} REJECT Not authorised to send as a local address: log in first
"""

HELO_PROFILE = """\
version: 1
parameters:
  smtpd_helo_required:
    value: "yes"
  smtpd_helo_restrictions:
    value: permit_sasl_authenticated, permit_mynetworks, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname
"""


@needs_bench
def test_the_esa_allowlist_accepts_the_116_dmarc_reports_and_rejects_nothing(box, week, tmp_path):
    rep = run(box, tmp_path, ESA_PROFILE, week)
    assert rep.newly_accepted_count == ESA_REPORTS == 116
    assert rep.newly_accepted_senders == "all MAILER-DAEMON@esa...iphmx.com"
    assert rep.newly_rejected_count == 0
    text = "\n".join(render(rep))
    assert "newly accepted: 116 (all MAILER-DAEMON@esa...iphmx.com)" in text
    assert "newly rejected: 0" in text
    [group] = rep.newly_accepted
    assert group.cause == "Sender address rejected: Domain not found"
    assert 0 < len(group.examples) <= 3
    # What could not be replayed is said.
    assert (
        rep.authenticated_skipped == week.counts()["authenticated"] or rep.authenticated_skipped > 0
    )
    assert "inet:127.0.0.1:" in " ".join(rep.policy_services)
    assert "DNS answers are today's" in text
    # The bench's resolver is the stub DNS on a loopback address: a local one.
    assert rep.local_resolver and "the box's resolver caches them" in text
    assert rep.dns_names > 100 and "lookups not paced" in text
    assert "(*)" in text or rep.helo_from_client_name > 0


@needs_bench
def test_the_own_domain_rule_rejects_the_spoofers_and_no_logged_in_user(box, week, tmp_path):
    rep = run(box, tmp_path, OWN_DOMAIN_PROFILE, week)
    spoofing = sum(e.count for e in week.envelopes.values() if e.kind == "spoofing")
    assert spoofing >= 30
    assert rep.newly_rejected_count == spoofing
    for g in rep.newly_rejected:
        assert "Not authorised to send as a local address" in g.cause
        for ex in g.examples:
            assert ex.sender.endswith("@" + DOMAIN) and ex.client.startswith("unknown[127.0.20.")
    assert rep.newly_accepted_count == 0
    # Logged-in users' mail is never replayed as outside mail, so never "newly rejected".
    assert (
        rep.authenticated_skipped
        == sum(e.count for e in week.envelopes.values() if e.authenticated)
        > 0
    )


@needs_bench
def test_a_helo_hardening_rejects_the_bad_helo_clients(box, week, tmp_path):
    rep = run(box, tmp_path, HELO_PROFILE, week)
    bad = {k for k, e in week.envelopes.items() if e.kind == "bad_helo"}
    assert (
        rep.newly_rejected_count == sum(week.envelopes[k].count for k in bad) == len(BAD_HELOS) * 2
    )
    helos = {ex.helo for g in rep.newly_rejected for ex in g.examples}
    assert helos <= set(BAD_HELOS)
    assert all("Helo command rejected" in g.cause for g in rep.newly_rejected)
    assert rep.newly_accepted_count == 0


@needs_bench
def test_replaying_the_current_configuration_reproduces_the_logs_verdicts(box, week, tmp_path):
    rep = run(box, tmp_path, ESA_PROFILE, week)
    acc = rep.accuracy
    assert acc.compared > 900
    assert acc.ratio >= 0.95, acc.disagreements[:10]
    # Left out: the DNS-dependent ESA rejects and the greylisted (policy service) ones.
    assert acc.left_out >= ESA_REPORTS
    text = "\n".join(render(rep))
    for d in acc.disagreements:
        assert d.reason and f"{d.recipient}" in text


@needs_bench
def test_nothing_is_sent_past_rcpt_nothing_is_queued_and_the_live_postfix_hears_nothing(
    box, week, tmp_path, monkeypatch
):
    sent: list[str] = []
    real_send = replay_mod.Connection.send

    def recording_send(self, text: str) -> None:
        sent.extend(text.splitlines())
        real_send(self, text)

    monkeypatch.setattr(replay_mod.Connection, "send", recording_send)
    live_policy = len(box.policy.requests)
    live_log = box.instance.log_mark()
    queues: list[list[str]] = []
    replay_logs: list[str] = []

    def look(instances) -> None:
        for inst in instances:
            for sub in ("incoming", "active", "deferred", "hold", "maildrop"):
                queues.append(os.listdir(inst.root / "spool" / sub))
            replay_logs.append(inst.log(tail=10**9))

    rep = run(box, tmp_path, ESA_PROFILE, week, on_done=look)
    assert rep.replayed > 0 and sent
    verbs = {line.split(" ", 1)[0].split(":", 1)[0].upper() for line in sent}
    assert verbs <= {"EHLO", "XCLIENT", "MAIL", "RCPT", "RSET", "QUIT"}, verbs
    assert not any(line.upper().startswith(("DATA", "BDAT")) for line in sent)
    assert queues and all(q == [] for q in queues)
    assert any("NOQUEUE: reject" in log for log in replay_logs)
    # The box's own Postfix and its policy service received nothing.
    assert len(box.policy.requests) == live_policy
    # (the bench's own start-up probe may still be logged: only envelopes would be ours)
    since = box.instance.log_text()[live_log:]
    assert "NOQUEUE" not in since and "iphmx" not in since and "XCLIENT" not in since
    assert box.instance.running
    assert os.listdir(box.instance.root / "spool" / "incoming") == []


@needs_bench
def test_the_replay_keeps_to_its_rate(box, week, tmp_path):
    """20 envelopes at 10 a second, each asked of both instances: about 2 s of replay."""
    envs = [e for e in envelopes_of(week) if not e.authenticated][:20]
    times: list[float] = []
    rep = _run(
        box,
        tmp_path,
        ESA_PROFILE,
        week,
        envelopes=envs,
        rate=10,
        progress=lambda done, total: times.append(time.monotonic()),
    )
    assert rep.replayed == 20 and rep.unanswered == 0 and len(times) == 40
    # The first envelope goes at once, the 20th 1.9 s later.
    assert 1.8 <= times[-1] - times[0] < 6, times[-1] - times[0]
    assert rep.rate == 10
    assert "lookups paced at 10 envelopes/s" in "\n".join(render(rep))
