"""The reject-line parser, the cause table, --since and the constant-memory log scan."""

from __future__ import annotations

import datetime as dt
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from pfwizard import exitcodes
from pfwizard.cli import main
from pfwizard.explain import (
    BoxConfig,
    classify,
    explain,
    group,
    parse_line,
    parse_since,
    reject_lines,
    since_filter,
)
from pfwizard.maincf import MainCf
from tests.bench.miab import fixture_path
from tests.conftest import needs_postfix

# Seed 000, as the admin pasted it on the forum: no angle brackets, cut off after "to=<dmarc@".
SEED000 = (
    "NOQUEUE: reject: RCPT from esa.hc681-85.ap.iphmx.com[139.138.45.99]: 450 4.1.8 "
    "MAILER-DAEMON@esa2.hc681-85.ap.iphmx.com: Sender address rejected: Domain not found;"
    " from=MAILER-DAEMON@esa2.hc681-85.ap.iphmx.com to=<dmarc@"
)
FULL = (
    "Nov 22 03:54:03 box postfix/smtpd[11016]: NOQUEUE: reject: RCPT from unknown"
    "[127.0.0.3]: 450 4.1.8 <a@x.servfail.test>: Sender address rejected: Domain not found;"
    " from=<a@x.servfail.test> to=<admin@box.example.com> proto=ESMTP "
    "helo=<client.example.com>"
)
SUBMISSION = (
    "2026-11-22T03:54:03.123456+00:00 box postfix/submission/smtpd[77]: NOQUEUE: "
    "reject: RCPT from c[198.51.100.7]: 553 5.7.1 <boss@box.example.com>: Sender "
    "address rejected: not owned by user mick@box.example.com; "
    "from=<boss@box.example.com> to=<x@example.org> proto=ESMTP helo=<pc>"
)
HEADER = (
    "Nov 22 04:00:00 box postfix/cleanup[9]: 4F2A1B3C: reject: header From: "
    '"x" <nobody@box.example.com> from c[198.51.100.7]; from=<nobody@box.example.com> '
    "to=<x@example.org> proto=ESMTP helo=<pc>: 5.7.1 forged local sender"
)
MILTER = (
    "Nov 22 04:00:01 box postfix/cleanup[10]: 5B6C7D: milter-reject: END-OF-MESSAGE "
    "from mail.paypal.example[203.0.113.9]: 5.7.1 rejected by DMARC policy for paypal.com;"
    " from=<help@paypal.com> to=<someone@box.example.com> proto=ESMTP helo=<mail.paypal.com>"
)


def v75_box() -> BoxConfig:
    return BoxConfig.from_main_cf(MainCf.read(fixture_path("main.cf.v75-fresh")))


def test_seed000_forum_line_parses():
    line = parse_line(SEED000)
    assert line is not None
    assert (line.stage, line.code, line.dsn) == ("RCPT", 450, "4.1.8")
    assert line.client_name == "esa.hc681-85.ap.iphmx.com"
    assert line.client_ip == "139.138.45.99"
    assert line.sender == "MAILER-DAEMON@esa2.hc681-85.ap.iphmx.com"
    assert line.recipient == "dmarc@"
    assert line.reason == line.text  # no <object>: the forum ate the brackets
    assert line.temporary


def test_full_syslog_line_parses():
    line = parse_line(FULL)
    assert line is not None
    assert line.program == "postfix/smtpd" and line.syslog_name == "postfix"
    assert line.object == "a@x.servfail.test"
    assert line.reason == "Sender address rejected: Domain not found"
    assert (line.sender, line.recipient, line.helo) == (
        "a@x.servfail.test",
        "admin@box.example.com",
        "client.example.com",
    )


def test_other_shapes_parse():
    sub = parse_line(SUBMISSION)
    assert sub is not None and sub.syslog_name == "postfix/submission"
    assert classify(sub)[0].id == "sender-login-mismatch"
    hdr = parse_line(HEADER)
    assert hdr is not None and hdr.kind == "header" and hdr.header.startswith("From:")
    assert hdr.dsn == "5.7.1" and hdr.text == "forged local sender"
    mil = parse_line(MILTER)
    assert mil is not None and mil.kind == "milter-reject" and mil.stage == "END-OF-MESSAGE"
    assert parse_line("Nov 22 box postfix/smtpd[1]: connect from x[1.2.3.4]") is None


def test_seed000_explained_on_miab_without_postfix_tools():
    exp = explain(parse_line(SEED000), v75_box())  # type: ignore[arg-type]
    assert exp.where == "smtpd_sender_restrictions / reject_unknown_sender_domain"
    assert exp.placement is not None and exp.placement.position == 2
    assert exp.recipe == "allowlist-unresolved-senders"
    notes = " ".join(exp.notes)
    assert "check_policy_service inet:127.0.0.1:10023" in notes
    assert "does not help" in notes


def test_login_mismatch_and_header_and_milter_on_miab():
    box = v75_box()
    sub = explain(parse_line(SUBMISSION), box)  # type: ignore[arg-type]
    assert sub.restriction == "reject_authenticated_sender_login_mismatch"
    assert "mick@box.example.com" in sub.words
    hdr = explain(parse_line(HEADER), box)  # type: ignore[arg-type]
    assert hdr.cause.id == "header-checks" and hdr.recipe == "forged-local-senders"
    mil = explain(parse_line(MILTER), box)  # type: ignore[arg-type]
    assert mil.cause.id == "milter" and "8893" in (mil.setting or "")


def test_unknown_restriction_is_reported_not_guessed():
    cf = MainCf.parse("smtpd_sender_restrictions = reject_non_fqdn_sender\n")
    exp = explain(parse_line(FULL), BoxConfig.from_main_cf(cf))  # type: ignore[arg-type]
    assert not exp.explained
    assert "reject_unknown_sender_domain" in exp.notes[0]


def test_relay_default_list_when_main_cf_does_not_set_it():
    line = parse_line(
        FULL.replace(
            "450 4.1.8 <a@x.servfail.test>: Sender address rejected: Domain not found",
            "454 4.7.1 <x@elsewhere.example>: Relay access denied",
        )
    )
    exp = explain(line, BoxConfig.from_main_cf(MainCf.parse("")))  # type: ignore[arg-type]
    assert exp.where == "smtpd_relay_restrictions / defer_unauth_destination"


def test_unlisted_recipient_implicit_when_not_listed():
    line = parse_line(
        FULL.replace(
            "450 4.1.8 <a@x.servfail.test>: Sender address rejected: Domain not found",
            "550 5.1.1 <no@box.example.com>: Recipient address rejected: User unknown in "
            "virtual mailbox table",
        )
    )
    exp = explain(line, BoxConfig.from_main_cf(MainCf.parse("")))  # type: ignore[arg-type]
    assert exp.placement is None and exp.explained
    assert exp.setting == "smtpd_reject_unlisted_recipient = yes"


def test_rbl_without_filter_gets_a_note():
    cf = MainCf.parse(
        "smtpd_recipient_restrictions = permit_mynetworks, "
        "reject_rbl_client zen.spamhaus.org, reject_unauth_destination\n"
    )
    line = parse_line(
        FULL.replace(
            "450 4.1.8 <a@x.servfail.test>: Sender address rejected: Domain not found",
            "554 5.7.1 Service unavailable; Client host [127.0.0.66] blocked using "
            "zen.spamhaus.org; https://www.spamhaus.org/query/ip/127.0.0.66",
        )
    )
    exp = explain(line, BoxConfig.from_main_cf(cf))  # type: ignore[arg-type]
    assert exp.entry == "reject_rbl_client zen.spamhaus.org"
    assert any("no reply filter" in n for n in exp.notes)


def test_since_forms():
    now = dt.datetime(2026, 11, 22, 4, 0, 0)
    assert parse_since("6h", now) == dt.datetime(2026, 11, 21, 22, 0, 0)
    assert parse_since("2026-11-22 03:00", now) == dt.datetime(2026, 11, 22, 3, 0)
    assert parse_since("yesterday", now) == dt.datetime(2026, 11, 21)
    lines = [
        FULL,
        FULL.replace("Nov 22 03:54:03", "Nov 22 02:00:00"),
        SUBMISSION,
        FULL.replace("Nov 22", "Dec 31"),
    ]  # last year's (a stamp later than now)
    kept = list(since_filter(lines, dt.datetime(2026, 11, 22, 3, 0), now))
    assert kept == [FULL, SUBMISSION]


LOG = (
    "\n".join(
        [
            "Nov 22 03:54:02 box postfix/smtpd[1]: connect from unknown[127.0.0.3]",
            FULL,
            FULL.replace("a@x.servfail", "b@y.servfail"),
            HEADER,
            "Nov 22 03:54:04 box postfix/smtpd[1]: disconnect from unknown[127.0.0.3]",
            SUBMISSION,
        ]
    )
    + "\n"
)


@given(st.integers(min_value=1, max_value=400))
@settings(max_examples=60, deadline=None)
def test_scan_finds_the_same_lines_at_any_chunk_size(chunk):
    want = [ln for ln in LOG.splitlines() if "reject: " in ln]
    assert list(reject_lines(io.BytesIO(LOG.encode()), chunk_size=chunk)) == want
    assert list(reject_lines(io.BytesIO(LOG.rstrip("\n").encode()), chunk_size=chunk)) == want


def test_group_counts_by_cause():
    report = group(reject_lines(io.BytesIO(LOG.encode())), v75_box())
    assert report.lines == 4
    top = report.groups[0]
    assert top.count == 2 and top.explanation.restriction == "reject_unknown_sender_domain"
    assert dict(top.senders.top()) == {"a@x.servfail.test": 1, "b@y.servfail.test": 1}


def test_cli_log_from_stdin_and_exit_codes(tmp_path, capsys, monkeypatch):
    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "main.cf").write_bytes(fixture_path("main.cf.v75-fresh").read_bytes())
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(LOG.encode())))
    rc = main(["--config-dir", str(conf), "explain", "--log", "-"])
    out = capsys.readouterr().out
    assert rc == exitcodes.OK, out
    assert out.startswith("4 rejects in standard input, 3 causes")
    assert main(["--config-dir", str(conf), "explain", "hello"]) == exitcodes.ERROR
    assert main(["--config-dir", str(conf), "explain"]) == exitcodes.ERROR
    assert (
        main(["--config-dir", str(conf), "explain", "--log", str(tmp_path / "nope")])
        == exitcodes.ERROR
    )


@needs_postfix
def test_submission_rejects_use_the_services_master_cf_overrides(tmp_path):
    (tmp_path / "main.cf").write_bytes(fixture_path("main.cf.v75-fresh").read_bytes())
    (tmp_path / "master.cf").write_bytes(fixture_path("master.cf.v75").read_bytes())
    box = BoxConfig.load(tmp_path)
    assert box.source == "postconf"
    sub = box.for_syslog_name("postfix/submission")
    assert sub.get("smtpd_milters") == "inet:127.0.0.1:8891"  # OpenDKIM only on submission
    line = parse_line(SUBMISSION.replace(": NOQUEUE: reject: ", ": NOQUEUE: milter-reject: "))
    exp = explain(line, box)  # type: ignore[arg-type]
    assert exp.setting == "smtpd_milters = inet:127.0.0.1:8891"
    # A header_checks reject names the cleanup program, not the service: list every source.
    hdr = explain(parse_line(HEADER), box)  # type: ignore[arg-type]
    assert hdr.setting == (
        "header_checks (authclean in master.cf: pcre:/etc/postfix/outgoing_mail_header_filters)"
    )
