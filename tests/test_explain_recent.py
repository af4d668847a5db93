"""The box's recent rejects for the Welcome: last 7 days of the log, grouped by cause, top
five with counts; a big log is read from the window's start, not from its beginning."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import time
from pathlib import Path

import pytest

from pfwizard.demo import restamp
from pfwizard.explain import BoxConfig
from pfwizard.explain import recent as recent_mod
from pfwizard.explain.causes import RECIPE_ALLOWLIST
from pfwizard.explain.recent import (
    JOURNAL,
    fix_for,
    log_source,
    pasted_reject,
    recent_rejects,
    seek_window,
)
from pfwizard.maincf import MainCf
from pfwizard.postfix_warnings import fold
from tests.bench.miab import fixture_path

NOW = dt.datetime(2026, 11, 22, 12, 0, 0)


def esa(n: int, host: str = "esa1.hc1234-5.iphmx.com") -> str:
    return (
        f"postfix/smtpd[{100 + n}]: NOQUEUE: reject: RCPT from {host}[127.0.0.{10 + n % 5}]: "
        f"450 4.1.8 <MAILER-DAEMON@{host}>: Sender address rejected: Domain not found; "
        f"from=<MAILER-DAEMON@{host}> to=<dmarc@box.example.com> proto=ESMTP helo=<{host}>"
    )


GREY = (
    "postfix/smtpd[9]: NOQUEUE: reject: RCPT from a.example[127.0.0.20]: 450 4.2.0 "
    "<me@box.example.com>: Recipient address rejected: Greylisted, see http://x/; "
    "from=<n@a.example> to=<me@box.example.com> proto=ESMTP helo=<a.example>"
)
RELAY = (
    "postfix/smtpd[9]: NOQUEUE: reject: RCPT from unknown[127.0.0.21]: 454 4.7.1 "
    "<v@else.example>: Relay access denied; from=<s@b.example> to=<v@else.example> "
    "proto=ESMTP helo=<x>"
)
RBL = (
    "postfix/smtpd[9]: NOQUEUE: reject: RCPT from unknown[127.0.0.22]: 554 5.7.1 Service "
    "unavailable; Client host [127.0.0.22] blocked using zen.spamhaus.org; from=<o@c.example> "
    "to=<me@box.example.com> proto=ESMTP helo=<c.example>"
)
USER = (
    "postfix/smtpd[9]: NOQUEUE: reject: RCPT from mx.d.example[127.0.0.23]: 550 5.1.1 "
    "<nobody@box.example.com>: Recipient address rejected: User unknown in virtual mailbox "
    "table; from=<b@d.example> to=<nobody@box.example.com> proto=ESMTP helo=<mx.d.example>"
)
HELO = (
    "postfix/smtpd[9]: NOQUEUE: reject: RCPT from unknown[127.0.0.24]: 504 5.5.2 "
    "<localhost>: Helo command rejected: need fully-qualified hostname; from=<x@e.example> "
    "to=<me@box.example.com> proto=SMTP helo=<localhost>"
)
NONFQDN = (
    "postfix/smtpd[9]: NOQUEUE: reject: RCPT from unknown[127.0.0.25]: 504 5.5.2 "
    "<root>: Sender address rejected: need fully-qualified address; from=<root> "
    "to=<me@box.example.com> proto=SMTP helo=<h.example>"
)


def stamp(when: dt.datetime, body: str) -> str:
    return f"{when:%b} {when.day:2d} {when:%H:%M:%S} box {body}"


@pytest.fixture(scope="module")
def box() -> BoxConfig:
    # From main.cf alone: no postconf run per test (fast, and the same answer for these lists).
    return BoxConfig.from_main_cf(MainCf.read(fixture_path("main.cf.v75-fresh")))


def write_log(
    path: Path, counts: dict[str, int], age: dt.timedelta = dt.timedelta(hours=2), old: int = 0
) -> Path:
    lines = []
    for i in range(old):  # ten days ago: outside the window
        lines.append(stamp(NOW - dt.timedelta(days=10, seconds=-i), esa(i, "esa9.old.iphmx.com")))
    n = 0
    for body, count in counts.items():
        for _ in range(count):
            lines.append(stamp(NOW - age + dt.timedelta(seconds=n), body))
            n += 1
    path.write_text("\n".join(lines) + "\n")
    return path


def test_top_five_causes_with_counts(tmp_path, box):
    log = write_log(
        tmp_path / "mail.log", {esa(1): 4, GREY: 6, RELAY: 3, RBL: 2, USER: 5, HELO: 1, NONFQDN: 1}
    )
    found = recent_rejects(box, str(log), now=NOW)
    assert found.error == "" and found.total == 22 and found.source == str(log)
    assert [(c.cause, c.count) for c in found.causes] == [
        ("greylisted", 6),
        ("unlisted-recipient", 5),
        ("unknown-sender-domain", 4),
        ("relay-denied", 3),
        ("rbl-client", 2),
    ]
    esa_cause = found.causes[2]
    assert esa_cause.recipe == RECIPE_ALLOWLIST
    assert esa_cause.parameter == "smtpd_sender_restrictions"
    assert esa_cause.restriction == "reject_unknown_sender_domain"
    assert esa_cause.label() == "   4 x Sender address rejected: Domain not found"
    labels = {c.cause: c.label().strip() for c in found.causes}
    assert labels["greylisted"] == "6 x Recipient address rejected: Greylisted"
    assert labels["rbl-client"] == "2 x Client host blocked using zen.spamhaus.org"
    assert esa_cause.senders == ("MAILER-DAEMON@esa1.hc1234-5.iphmx.com",)


def test_same_cause_from_many_senders_is_one_group(tmp_path, box):
    hosts = ["esa1.hc1234-5.iphmx.com", "esa2.hc77-1.ap.iphmx.com", "esa.hc3512-62.iphmx.com"]
    log = write_log(tmp_path / "mail.log", {esa(i, h): 2 for i, h in enumerate(hosts)})
    (cause,) = recent_rejects(box, str(log), now=NOW).causes
    assert cause.count == 6 and len(cause.senders) == 3


def test_only_the_last_seven_days(tmp_path, box):
    log = write_log(tmp_path / "mail.log", {GREY: 2}, old=30)
    found = recent_rejects(box, str(log), now=NOW)
    assert found.total == 2 and [c.cause for c in found.causes] == ["greylisted"]


def test_a_gzipped_log_reads_too(tmp_path, box):
    plain = write_log(tmp_path / "mail.log", {esa(1): 3})
    gz = tmp_path / "mail.log.1.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    assert recent_rejects(box, str(gz), now=NOW).causes[0].count == 3


def test_a_log_it_cannot_read_is_said_not_raised(tmp_path, box):
    found = recent_rejects(box, str(tmp_path / "nope.log"), now=NOW)
    assert found.causes == () and "cannot read it" in found.error


def test_no_mail_log_means_the_journal(tmp_path, monkeypatch):
    monkeypatch.setattr(recent_mod, "DEFAULT_LOG", tmp_path / "absent.log")
    assert log_source(None) == JOURNAL
    assert log_source("/some/where.log") == "/some/where.log"
    (tmp_path / "absent.log").write_text("")
    assert log_source(None) == str(tmp_path / "absent.log")


def test_a_big_log_is_read_from_the_window_only(tmp_path, box):
    """20 MB of last month's lines, then today's rejects: bisection jumps over the old part."""
    path = tmp_path / "big.log"
    line = stamp(NOW - dt.timedelta(days=30), esa(1)) + "\n"
    with open(path, "w") as f:
        f.write(line * (20 * 1024 * 1024 // len(line)))
        for i in range(3):
            f.write(stamp(NOW - dt.timedelta(hours=1, seconds=-i), GREY) + "\n")
    with open(path, "rb") as stream:
        offset = seek_window(stream, NOW - dt.timedelta(days=7), NOW)
    size = path.stat().st_size
    assert size - offset < 256 * 1024
    start = time.perf_counter()
    found = recent_rejects(box, str(path), now=NOW)
    took = time.perf_counter() - start
    assert [(c.cause, c.count) for c in found.causes] == [("greylisted", 3)]
    assert took < 0.5, took  # a full scan of these 20 MB takes about 2 s


def test_a_pasted_line_is_one_cause(box):
    cause = pasted_reject(stamp(NOW, esa(1)), box)
    assert cause is not None and cause.cause == "unknown-sender-domain" and cause.count == 1
    assert cause.recipe == RECIPE_ALLOWLIST
    # The bare NOQUEUE part, as admins paste it from a bounce or the forum.
    bare = esa(1).split(": ", 1)[1]
    assert pasted_reject(bare, box) is not None
    assert pasted_reject("hello, it does not work", box) is None


def test_the_allowlist_is_learned_from_the_senders_refused(tmp_path, box):
    hosts = ["esa1.hc1234-5.iphmx.com", "esa2.hc77-1.ap.iphmx.com", "esa.hc3512-62.iphmx.com"]
    log = write_log(tmp_path / "mail.log", {esa(i, h): 1 for i, h in enumerate(hosts)})
    fix = fix_for(recent_rejects(box, str(log), now=NOW).causes[0])
    assert fix.recipe == RECIPE_ALLOWLIST and fix.parameter == "smtpd_sender_restrictions"
    (entry,) = [ln for ln in fix.table.splitlines() if not ln.startswith("#")]
    pattern = re.fullmatch(r"/(.*)/ PERMIT", entry)
    assert pattern, entry
    for h in hosts:
        assert re.search(pattern.group(1), f"MAILER-DAEMON@{h}", re.IGNORECASE)
    assert not re.search(pattern.group(1), "MAILER-DAEMON@iphmx.com.evil.example")
    assert fix.sender.startswith("MAILER-DAEMON@") and fix.recipients == ("dmarc@box.example.com",)
    assert "seed" not in fix.table.lower()


def test_unrelated_senders_are_left_out_of_the_learned_allowlist(tmp_path, box):
    """A spammer refused for the same reason as the Cisco reporters stays refused."""
    hosts = ["esa1.hc1234-5.iphmx.com", "esa2.hc77-1.ap.iphmx.com", "spam.bulk.example"]
    log = write_log(tmp_path / "mail.log", {esa(i, h): 1 for i, h in enumerate(hosts)})
    fix = fix_for(recent_rejects(box, str(log), now=NOW).causes[0])
    (entry,) = [ln for ln in fix.table.splitlines() if not ln.startswith("#")]
    assert "iphmx" in entry and "bulk" not in fix.table
    assert "under iphmx.com" in fix.said
    assert "left out (another domain): MAILER-DAEMON@spam.bulk.example" in fix.said


def test_senders_without_a_shared_domain_get_one_exact_line_each(tmp_path, box):
    log = write_log(tmp_path / "mail.log", {esa(1, "localhost"): 1})
    fix = fix_for(recent_rejects(box, str(log), now=NOW).causes[0])
    entries = [ln for ln in fix.table.splitlines() if not ln.startswith("#")]
    assert entries == ["/^MAILER-DAEMON@localhost$/ PERMIT"]


def test_the_demo_log_is_restamped_into_the_window():
    sample = "Nov 14 03:20:09 box a\nNov 19 22:00:00 box b\nnot a log line\n"
    out = restamp(sample, NOW).splitlines()
    assert out[1].startswith("Nov 22 11:00:00 box b")
    assert out[0].startswith("Nov 16 16:20:09 box a") and out[2] == "not a log line"


def test_the_bundled_demo_log_lists_the_esa_rejects_first(tmp_path, box):
    from importlib import resources

    log = tmp_path / "mail.log"
    log.write_text(
        restamp(resources.files("pfwizard.assets.demo").joinpath("mail.log").read_text(), NOW)
    )
    found = recent_rejects(box, str(log), now=NOW)
    assert found.causes[0].cause == "unknown-sender-domain" and len(found.causes) == 5


def test_repeated_postfix_warnings_fold_into_one_line_per_kind():
    lines = [
        f'/usr/sbin/postconf: warning: open "sqlite" configuration "/etc/postfix/{n}.cf": '
        "No such file or directory"
        for n in ("a", "b", "c", "d") * 16
    ]
    lines.append("postfix/postfix-script: warning: symlink leaves directory: /etc/postfix/./x")
    kinds = fold(lines)
    assert [k.count for k in kinds] == [64, 1]
    assert kinds[0].summary().startswith('64 x postconf: warning: open "sqlite" configuration')
    assert "(4 different)" in kinds[0].summary() and len(kinds[0].distinct) == 4
    assert kinds[1].summary() == lines[-1]


def test_folded_warnings_read_the_same_whatever_order_postfix_printed_them():
    # Postfix walks its maps in an order that changes between runs; the summary must not.
    lines = [
        f'/usr/sbin/postconf: warning: open "sqlite" configuration "/etc/postfix/{n}.cf": '
        "No such file or directory"
        for n in ("d", "b", "a", "c") * 4
    ]
    once, again = fold(lines), fold(list(reversed(lines)))
    assert [k.summary() for k in once] == [k.summary() for k in again]
    assert once[0].distinct == again[0].distinct
    assert '"/etc/postfix/a.cf"' in once[0].summary()
