"""The live SMTP probe against the bench's real Postfix, with and without XCLIENT."""

from __future__ import annotations

from pfwizard.explain import BoxConfig, explain, parse_line
from pfwizard.probe import probe
from tests.bench.smtp import INSIDE, LISTED_SBL, OUTSIDE
from tests.conftest import needs_bench
from tests.test_explain_bench import configure_v75

CISCO = "MAILER-DAEMON@esa4.commscope.iphmx.com"


@needs_bench
def test_probe_without_xclient_says_what_it_cannot_show(bench):
    configure_v75(bench)
    res = probe(
        CISCO,
        ["admin@box.example.com"],
        port=bench.port,
        source=OUTSIDE,
        helo="esa4.commscope.iphmx.com",
    )
    assert res.ok, res.error
    assert not res.xclient
    [v] = res.verdicts
    assert (v.code, v.outcome) == (450, "deferred")
    assert "Domain not found" in v.text
    assert any("XCLIENT" in lim for lim in res.limits)
    assert [s.command.split(":")[0].split(" ")[0] for s in res.steps] == [
        "",
        "EHLO",
        "MAIL",
        "RCPT",
        "RSET",
        "QUIT",
    ]  # never DATA
    # The probe's refusal is explained like a log line.
    [line] = res.log_lines()
    exp = explain(parse_line(line), BoxConfig.load(bench.config_dir))  # type: ignore[arg-type]
    assert exp.where == "smtpd_sender_restrictions / reject_unknown_sender_domain"


@needs_bench
def test_xclient_shows_the_outsiders_view_from_inside(bench):
    configure_v75(bench, extra={"smtpd_authorized_xclient_hosts": "127.0.0.0/8"})
    rcpts = ["admin@box.example.com", "someone@elsewhere.example"]
    inside = probe("a@example.org", rcpts, port=bench.port, source=INSIDE, outside=None)
    assert [v.outcome for v in inside.verdicts] == ["accepted", "accepted"]

    outsider = probe(
        "a@example.org",
        rcpts,
        port=bench.port,
        source=INSIDE,
        outside=LISTED_SBL,
        helo="mx.example.org",
    )
    assert outsider.xclient and outsider.seen_as == LISTED_SBL
    assert not outsider.limits
    assert [v.code for v in outsider.verdicts] == [554, 554]
    assert "blocked using zen.spamhaus.org" in outsider.verdicts[0].text
    # smtpd_relay_restrictions runs before smtpd_recipient_restrictions (Postfix >= 2.10).
    assert "Relay access denied" in outsider.verdicts[1].text
    assert "DATA" not in outsider.transcript()

    plain_outsider = probe(
        "a@example.org", rcpts, port=bench.port, source=INSIDE, helo="mx.example.org"
    )  # default XCLIENT address: TEST-NET-1
    assert plain_outsider.xclient
    assert [v.outcome for v in plain_outsider.verdicts] == ["accepted", "rejected"]
    assert "Relay access denied" in plain_outsider.verdicts[1].text


@needs_bench
def test_probe_reports_a_dead_port():
    res = probe("a@example.org", ["b@example.org"], port=1, timeout=2)
    assert not res.ok and "cannot connect" in res.error


@needs_bench
def test_cli_probe_explains_the_refusal(bench, capsys):
    from pfwizard import exitcodes
    from pfwizard.cli import main

    configure_v75(bench, extra={"smtpd_authorized_xclient_hosts": "127.0.0.0/8"})
    rc = main(
        [
            "--config-dir",
            str(bench.config_dir),
            "explain",
            "--probe",
            CISCO,
            "dmarc@box.example.com",
            "--probe-port",
            str(bench.port),
            "--probe-helo",
            "esa4.commscope.iphmx.com",
        ]
    )
    out = capsys.readouterr().out
    assert rc == exitcodes.FINDINGS, out
    assert "outside client, via XCLIENT" in out
    assert "450 4.1.8" in out
    assert "smtpd_sender_restrictions / reject_unknown_sender_domain" in out
    assert "DATA" not in out.split("Transcript:")[1].split("\n\n")[0]
