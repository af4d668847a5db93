"""The impact report and the replay configuration, in-process (no Postfix needed)."""

from __future__ import annotations

from pfwizard.impact.envelope import Envelope
from pfwizard.impact.replay import Answer, helo_of, xtext
from pfwizard.impact.report import build, cause, depends_on_dns_or_policy, describe_senders, render
from pfwizard.impact.stage import rewrite

OK = Answer(250, "250 2.1.5 Ok")


def env(
    sender: str = "a@example.org",
    *,
    verdict: str = "accepted",
    reply: str = "",
    helo: str | None = "mx.example.org",
    count: int = 1,
    auth: bool = False,
) -> Envelope:
    return Envelope(
        "127.0.9.1",
        "mx.example.org",
        helo,
        sender,
        "admin@example.com",
        verdict,
        reply,
        auth,
        count,
    )  # type: ignore[arg-type]


def test_causes_leave_out_codes_addresses_and_clients():
    assert (
        cause(
            "450 4.1.8 <MAILER-DAEMON@esa1.x.iphmx.com>: Sender address rejected: Domain not found"
        )
        == "Sender address rejected: Domain not found"
    )
    assert (
        cause(
            "554 5.7.1 Service unavailable; Client host [127.0.0.66] blocked using "
            "zen.spamhaus.org; from=<a@b> to=<c@d> proto=ESMTP helo=<x>"
        )
        == "Service unavailable; Client host [client] blocked using zen.spamhaus.org"
    )


def test_dns_and_policy_dependent_replies():
    assert depends_on_dns_or_policy("450 4.1.8 <x@y>: Sender address rejected: Domain not found")
    assert depends_on_dns_or_policy("450 4.2.0 <r>: Recipient address rejected: Greylisted")
    assert not depends_on_dns_or_policy(
        "550 5.1.1 <r>: Recipient address rejected: User unknown in virtual mailbox table"
    )


def test_what_the_senders_have_in_common():
    assert (
        describe_senders(
            ["MAILER-DAEMON@esa1.hc3000-10.iphmx.com", "MAILER-DAEMON@esa4.hc3017-13.ap.iphmx.com"]
        )
        == "all MAILER-DAEMON@esa...iphmx.com"
    )
    assert describe_senders(["x@a.example", "x@a.example"]) == "all x@a.example"
    assert describe_senders(["x@a.example", "y@b.example"]) == "2 different senders"


def test_newly_rejected_and_accepted_are_weighted_by_count_and_keep_a_few_examples():
    envs = [env(f"s{i}@example.org", count=2) for i in range(5)] + [
        env(
            "MAILER-DAEMON@esa1.iphmx.com",
            verdict="rejected",
            count=3,
            reply="450 4.1.8 <MAILER-DAEMON@esa1.iphmx.com>: Sender address rejected: "
            "Domain not found",
        )
    ]
    bad = Answer(504, "504 5.5.2 <PC1>: Helo command rejected: need fully-qualified hostname")
    nxd = Answer(
        450, "450 4.1.8 <MAILER-DAEMON@esa1.iphmx.com>: Sender address rejected: Domain not found"
    )
    rep = build(
        "p.yaml",
        envs,
        [OK] * 5 + [nxd],
        [bad] * 5 + [OK],
        skipped=[env(auth=True, count=7)],
        policy_services=["inet:127.0.0.1:10023"],
    )
    assert rep.newly_rejected_count == 10 and rep.newly_accepted_count == 3
    assert len(rep.newly_rejected[0].examples) == 3
    assert rep.authenticated_skipped == 7 and rep.total == 20
    # The ESA reject depends on DNS: left out of the accuracy check.
    assert rep.accuracy.compared == 10 and rep.accuracy.left_out == 3
    text = "\n".join(render(rep))
    assert "newly rejected: 10 (5 different senders)" in text
    assert "with the client name as HELO" not in text  # every HELO here was logged
    assert "newly accepted: 3 (all MAILER-DAEMON@esa1.iphmx.com)" in text
    assert "inet:127.0.0.1:10023" in text and "7 authenticated submissions skipped" in text
    assert rep.to_json()["newly_rejected_count"] == 10


def test_every_disagreement_is_listed_with_its_reason():
    envs = [
        env(helo=None),
        env(
            "x@example.org",
            verdict="rejected",
            reply="550 5.1.1 <r>: Recipient address rejected: User unknown",
        ),
    ]
    helo = Answer(504, "504 5.5.2 <mx>: Helo command rejected: need fully-qualified hostname")
    rep = build("p.yaml", envs, [helo, OK], [helo, OK])
    assert rep.accuracy.ratio == 0.0
    reasons = [d.reason for d in rep.accuracy.disagreements]
    assert "client name stood in" in reasons[0]
    assert "no longer happens" in reasons[1]
    assert rep.helo_from_client_name == 1
    assert rep.newly_rejected == []  # the same answer from both copies: unchanged


def test_a_helo_rejection_says_how_many_had_a_stand_in_helo():
    helo = Answer(504, "504 5.5.2 <mx>: Helo command rejected: need fully-qualified hostname")
    rep = build("p.yaml", [env(helo=None, count=4), env()], [OK, OK], [helo, helo])
    assert rep.newly_rejected[0].helo_stand_ins == 4
    assert "(4 of them with the client name as HELO (*))" in "\n".join(render(rep))


def test_helo_stand_ins_and_xtext():
    assert helo_of(env(helo=None)) == "mx.example.org"
    unnamed = Envelope("127.0.9.2", "unknown", None, "a@b.example", "c@d.example", "accepted")
    assert helo_of(unnamed) == "[127.0.9.2]"
    assert xtext("a+b=c d") == "a+2Bb+3Dc+20d"


def test_the_replay_copy_neutralises_policy_services_milters_and_verification(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "main.cf").write_text(
        "smtpd_recipient_restrictions = permit_mynetworks, reject_unverified_recipient,\n"
        "    check_policy_service inet:127.0.0.1:10023,\n"
        "    check_policy_service { inet:127.0.0.1:12340, default_action=DUNNO }\n"
        "smtpd_milters = inet:127.0.0.1:8891\n"
    )
    (etc / "master.cf").write_text(
        "smtp inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n"
        "  -o smtpd_client_restrictions=check_policy_service,inet:127.0.0.1:10023\n"
        "submission inet n - y - - smtpd\n"
    )
    found = rewrite(etc, tmp_path, 2525, "inet:127.0.0.1:9999")
    assert found.policy_services == [
        "inet:127.0.0.1:10023",
        "{ inet:127.0.0.1:12340, default_action=DUNNO }",
    ]
    assert found.unverified == ["reject_unverified_recipient"]
    from pfwizard.maincf import MainCf

    cf = MainCf.read(etc / "main.cf")
    value = cf.get("smtpd_recipient_restrictions") or ""
    assert "10023" not in value and "12340" not in value and "unverified" not in value
    assert value.count("inet:127.0.0.1:9999") == 2
    assert cf.get("smtpd_milters") == "" and cf.get("smtpd_authorized_xclient_hosts") == "127.0.0.1"
    assert cf.get("queue_directory") == str(tmp_path / "spool")
    master = (etc / "master.cf").read_text()
    assert master.startswith("# pfwizard impact preview")
    assert "127.0.0.1:2525 inet n - n - - smtpd" in master
    assert "submission" not in master and "sasl" not in master and "10023" not in master


def test_a_symlinked_main_cf_in_the_copy_is_replaced_not_written_through(tmp_path):
    live = tmp_path / "live.cf"
    live.write_text("myhostname = box.example.com\n")
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "main.cf").symlink_to(live)
    rewrite(etc, tmp_path, 2525, "inet:127.0.0.1:9999")
    assert live.read_text() == "myhostname = box.example.com\n"
    assert not (etc / "main.cf").is_symlink()


def test_behind_postscreen_the_smtpd_pass_service_is_replayed_and_postscreen_is_named(tmp_path):
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "main.cf").write_text("myhostname = box.example.com\n")
    (etc / "master.cf").write_text(
        "smtp      inet  n       -       y       -       1       postscreen\n"
        "smtpd     pass  -       -       y       -       -       smtpd\n"
        "  -o smtpd_helo_restrictions=reject_non_fqdn_helo_hostname\n"
        "submission inet n       -       -       -       -       smtpd\n"
        "  -o smtpd_sasl_auth_enable=yes\n"
    )
    found = rewrite(etc, tmp_path, 2525, "inet:127.0.0.1:9999")
    assert found.postscreen
    master = (etc / "master.cf").read_text()
    assert "-o smtpd_helo_restrictions=reject_non_fqdn_helo_hostname" in master
    assert "postscreen" not in master.split("\n", 1)[1]
    rep = build("p.yaml", [], [], [])
    rep.postscreen = True
    assert any("postscreen's own checks" in line for line in render(rep))


def test_a_replay_instance_that_never_answers_is_given_up_on(monkeypatch):
    import socket

    from pfwizard.impact import replay as replay_mod

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    answers = replay_mod.replay(port, [env()] * 20, workers=2)
    assert all(a.stage == "error" for a in answers)
    rep = build("p.yaml", [env()] * 20, answers, answers)
    assert rep.unanswered == 20 and "no answer" in rep.unanswered_why


def test_miab_policy_services_are_named():
    from pfwizard.impact.report import policy_label

    assert policy_label("inet:127.0.0.1:10023") == "inet:127.0.0.1:10023 (postgrey)"
    assert policy_label("{ inet:127.0.0.1:12340, default_action=DUNNO }").endswith(
        "(Dovecot quota-status)"
    )
    assert policy_label("unix:private/policy") == "unix:private/policy"


def test_impact_json_says_what_stopped_it(tmp_path, capsys):
    import json

    from pfwizard.cli import main

    (tmp_path / "p.yaml").write_text("version: 1\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "main.cf").write_text("myhostname = box.example.com\n")
    code = main(
        [
            "--config-dir",
            str(tmp_path / "etc"),
            "--state-dir",
            str(tmp_path / "st"),
            "impact",
            str(tmp_path / "p.yaml"),
            "--log",
            str(tmp_path / "none.log"),
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == doc["exit_code"] != 0
    assert doc["command"] == "impact" and doc["error"]
