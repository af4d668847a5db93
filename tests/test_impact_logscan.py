"""The impact preview's log reader: envelopes from a generated week of MiaB mail log."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
from pathlib import Path

import pytest

from pfwizard import maillog
from pfwizard.impact.envelope import Envelope
from pfwizard.impact.logscan import Extractor, extract, sample, stride_for
from tests.impact_weeklog import BAD_HELOS, ESA_REPORTS, Week, write_week

END = dt.datetime(2026, 12, 3, 3, 0, 0)


@pytest.fixture(scope="module")
def week(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Week]:
    path = tmp_path_factory.mktemp("weeklog") / "mail.log"
    return path, write_week(path, hostname="box.example.com", domain="example.com", seed=1, end=END)


def _by_key(envs: list[Envelope]) -> dict[tuple[str, str, str | None, str, str], Envelope]:
    return {e.key(): e for e in envs}


def test_every_envelope_of_the_week_is_found_with_its_verdict_and_count(week):
    path, wk = week
    scan = extract(str(path), now=END, rotated=False)
    got = _by_key(scan.envelopes)
    assert set(got) == set(wk.envelopes)
    for key, exp in wk.envelopes.items():
        env = got[key]
        assert (env.verdict, env.count, env.authenticated) == (
            exp.verdict,
            exp.count,
            exp.authenticated,
        ), key
        if exp.verdict == "rejected":
            assert env.reply == exp.reply
    counts = wk.counts()
    assert (scan.distinct, scan.occurrences) == (counts["envelopes"], counts["occurrences"])
    assert not scan.sampled


def test_the_kinds_the_preview_must_show(week):
    path, wk = week
    envs = extract(str(path), now=END, rotated=False).envelopes
    esa = [e for e in envs if ".iphmx.com" in e.sender]
    assert len(esa) == ESA_REPORTS == 116
    assert all(
        e.verdict == "rejected"
        and e.reply.startswith("450 4.1.8 <MAILER-DAEMON@esa")
        and e.helo == e.client_name
        and e.client_address.startswith("127.")
        for e in esa
    )
    spoof = [e for e in envs if e.sender.endswith("@example.com") and not e.authenticated]
    assert len(spoof) == 30 and all(e.verdict == "accepted" for e in spoof)
    bad = [e for e in envs if e.helo in BAD_HELOS and e.verdict == "accepted"]
    assert len(bad) == 20  # HELO learned from the same session's reject
    subs = [e for e in envs if e.authenticated]
    assert subs and all(e.sender.endswith("@example.com") for e in subs)
    # Accepted mail without a reject in its session has no HELO in the log.
    assert any(e.helo is None and e.verdict == "accepted" for e in envs)
    # orig_to: the alias the client gave, not the mailbox it was delivered to.
    assert any(e.recipient in wk.aliases for e in envs if e.verdict == "accepted")


def test_small_blocks_give_the_same_result(week):
    """Lines and messages cut by block boundaries are joined the same way."""
    path, _ = week
    whole = Extractor(now=END)
    with open(path, "rb") as f:
        whole.feed(f)
    small = Extractor(now=END)
    with open(path, "rb") as f:
        small.feed(f, block_size=4096)
    a, b = whole.result(), small.result()
    assert _by_key(a.envelopes) == _by_key(b.envelopes)


def test_rotations_plain_and_gz_read_oldest_first(week, tmp_path):
    path, wk = week
    lines = path.read_bytes().splitlines(keepends=True)
    third = len(lines) // 3
    log = tmp_path / "mail.log"
    # The cuts fall inside sessions: the join carries on across files.
    with gzip.open(tmp_path / "mail.log.2.gz", "wb") as gz:
        gz.write(b"".join(lines[:third]))
    (tmp_path / "mail.log.1").write_bytes(b"".join(lines[third : 2 * third]))
    log.write_bytes(b"".join(lines[2 * third :]))
    old = tmp_path / "mail.log.3.gz"  # last written before the window: never opened
    old.write_bytes(b"not gzip at all")
    stamp = (END - dt.timedelta(days=30)).timestamp()
    os.utime(old, (stamp, stamp))
    for name in ("mail.log.2.gz", "mail.log.1", "mail.log"):
        os.utime(tmp_path / name, (END.timestamp(), END.timestamp()))
    assert maillog.rotations(str(log), END - dt.timedelta(days=7)) == [
        str(tmp_path / "mail.log.2.gz"),
        str(tmp_path / "mail.log.1"),
        str(log),
    ]
    scan = extract(str(log), now=END)
    assert _by_key(scan.envelopes).keys() == wk.envelopes.keys()
    assert scan.occurrences == wk.counts()["occurrences"]


@pytest.mark.parametrize("block", [maillog.BLOCK, 8192])
def test_day_window_keeps_only_the_last_days(week, block):
    path, wk = week
    since = END - dt.timedelta(days=3)
    ex = Extractor(since=since, now=END)
    with open(path, "rb") as f:
        ex.feed(f, block_size=block)
    got = _by_key(ex.result().envelopes)
    want = {k for k, e in wk.envelopes.items() if e.last is not None and e.last >= since}
    # A message whose session began just before the cut may lose its client= line: at most
    # the one or two sessions that straddle it differ.
    assert len(set(got) ^ want) <= 2
    assert 0 < len(got) < len(wk.envelopes)
    assert extract(str(path), now=END, days=3, rotated=False).distinct == len(got)


def test_window_across_new_year_takes_december_as_last_year(tmp_path):
    log = tmp_path / "mail.log"
    write_week(log, end=dt.datetime(2027, 1, 2, 12, 0, 0), seed=2)
    scan = extract(str(log), now=dt.datetime(2027, 1, 2, 12, 0, 0), days=7, rotated=False)
    assert scan.distinct > 1000  # December 27..31 stamps are not taken as December 2027


def _msg(qid: str, n: int, sender: str = "a@corr1.example.org") -> list[str]:
    return [
        f"Dec  3 02:00:{n % 60:02d} box postfix/smtpd[{100 + n}]: {qid}: "
        f"client=mail.x.example[127.0.10.{n + 1}]",
        f"Dec  3 02:00:{n % 60:02d} box postfix/qmgr[9]: {qid}: from=<{sender}>, size=10, "
        "nrcpt=1 (queue active)",
        f"Dec  3 02:00:{n % 60:02d} box postfix/lmtp[7]: {qid}: to=<alice@example.com>, "
        "relay=127.0.0.1[127.0.0.1]:10025, delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, "
        "status=sent (250 2.0.0 Ok)",
    ]


def test_queue_ids_that_never_complete_are_evicted_and_the_table_stays_bounded():
    # 10 messages open at once, then completed: with room for 3, the 7 oldest are dropped.
    msgs = [_msg(f"{0xA0000 + i:010X}", i) for i in range(10)]
    lines = [m[0] for m in msgs] + [m[1] for m in msgs] + [m[2] for m in msgs]
    lines.append("Dec  3 02:01:00 box postfix/smtpd[99]: 00000FFFFF: client=unknown[127.0.0.9]")
    ex = Extractor(now=END, max_pending=3)
    ex.feed(io.BytesIO("\n".join(lines).encode()))
    assert len(ex.pending) <= 3
    scan = ex.result()
    assert [e.client_address for e in scan.envelopes] == ["127.0.10.8", "127.0.10.9", "127.0.10.10"]
    assert scan.evicted == 8  # 7 pushed out + 1 still waiting at the end of the log


def test_distinct_table_is_bounded_and_keeps_exact_counts(week):
    path, wk = week
    ex = Extractor(now=END, max_distinct=200)
    with open(path, "rb") as f:
        ex.feed(f)
    assert len(ex.found) <= 200
    scan = ex.result(limit=10_000)
    assert scan.halvings >= 2
    truth = len(wk.envelopes)
    assert truth / 2 < scan.distinct < truth * 2
    for env in scan.envelopes:
        assert env.count == wk.envelopes[env.key()].count


def _envs(counts: list[int]) -> list[Envelope]:
    return [
        Envelope(
            f"127.0.10.{i % 250}",
            "unknown",
            None,
            f"s{i}@corr1.example.org",
            "alice@example.com",
            "accepted",
            count=c,
        )
        for i, c in enumerate(counts)
    ]


def test_sampling_is_proportional_to_traffic_and_deterministic():
    envs = _envs([1] * 500 + [9] * 500)
    a = sample(envs, 100, seed=3)
    assert a == sample(envs, 100, seed=3)
    assert a != sample(envs, 100, seed=4)
    assert len(a) == 100
    heavy = sum(e.count == 9 for e in a)
    assert 80 <= heavy <= 97  # ~90 expected: nine times the traffic, nine times the chance
    assert sample(envs[:50], 100) == envs[:50]  # under the limit: all, in order


def test_extract_samples_the_week_down_to_the_limit(week):
    path, wk = week
    a = extract(str(path), now=END, rotated=False, limit=300, seed=5)
    b = extract(str(path), now=END, rotated=False, limit=300, seed=5)
    assert a.envelopes == b.envelopes and len(a.envelopes) == 300 and a.sampled
    assert a.distinct == len(wk.envelopes)


def test_journal_is_read_through_journalctl(week, monkeypatch):
    path, wk = week
    seen: list[dt.datetime | None] = []

    def fake(since: dt.datetime | None) -> list[str]:
        seen.append(since)
        return ["cat", str(path)]

    monkeypatch.setattr(maillog, "journal_command", fake)
    scan = extract(journal=True, now=END)
    assert seen == [END - dt.timedelta(days=7)]
    assert scan.sources == ["the systemd journal"]
    assert _by_key(scan.envelopes).keys() == wk.envelopes.keys()


def test_reject_at_a_submission_port_is_marked_authenticated():
    line = (
        "Dec  3 02:00:00 box postfix/submission/smtpd[5]: NOQUEUE: reject: RCPT from "
        "unknown[127.0.40.1]: 553 5.7.1 <boss@example.com>: Sender address rejected: not "
        "owned by user alice@example.com; from=<boss@example.com> to=<x@example.org> "
        "proto=ESMTP helo=<pc>\n"
    )
    ex = Extractor(now=END)
    ex.feed(io.BytesIO(line.encode()))
    (env,) = ex.result().envelopes
    assert env.authenticated and env.verdict == "rejected" and env.helo == "pc"


def test_a_big_log_reads_accepted_mail_from_even_stretches_and_every_reject(week):
    path, wk = week
    ex = Extractor(now=END)
    with open(path, "rb") as f:
        ex.feed(f, block_size=16384, stride=4)
    scan = ex.result()
    truth = wk.counts()
    got = _by_key(scan.envelopes)
    rejected = {k: e for k, e in wk.envelopes.items() if e.verdict == "rejected"}
    # Rejects: every one, with its exact count.
    assert {k: got[k].count for k in rejected} == {k: e.count for k, e in rejected.items()}
    # Accepted mail: one stretch in four, each message counting four times.
    accepted = [e for e in scan.envelopes if e.verdict == "accepted"]
    assert all(e.count % 4 == 0 for e in accepted)
    assert 0.75 * truth["accepted"] < len(accepted) * 4
    assert (
        abs(scan.accepted - (truth["occurrences"] - sum(e.count for e in rejected.values())))
        < 0.25 * scan.accepted
    )


def test_stride_grows_with_the_log_past_the_full_read_budget():
    mib = 1024 * 1024
    assert stride_for(30 * mib) == 1  # a week of a busy MiaB box: every message is read
    assert stride_for(32 * mib) == 1
    assert stride_for(33 * mib) == 2
    assert stride_for(1024 * mib) == 32
    assert stride_for(1024 * mib, full_bytes=512 * mib) == 2


def test_mapped_file_and_read_stream_give_the_same_lines(week, tmp_path):
    """A regular file is mapped, a stream is read: same lines, even a last one without its
    newline, whatever the block size."""
    path, _ = week
    data = path.read_bytes()
    last = (
        b"Dec  3 02:59:59 box postfix/smtpd[9]: NOQUEUE: reject: RCPT from unknown"
        b"[127.0.0.9]: 554 5.7.1 <x@example.com>: Relay access denied; from=<a@b.example> "
        b"to=<x@example.com> proto=ESMTP helo=<h>"
    )
    log = tmp_path / "mail.log"
    log.write_bytes(data + last)
    for block in (4096, maillog.BLOCK):
        with open(log, "rb") as f:
            mapped = list(maillog.marked_lines(f, b"reject: ", block))
        streamed = list(maillog.marked_lines(io.BytesIO(data + last), b"reject: ", block))
        assert mapped == streamed
        assert mapped[-1] == last.decode()
        assert len(mapped) == data.count(b"reject: ") + 1


@pytest.mark.parametrize("rare", [2048, 10**12])
def test_the_literal_search_finds_every_mark_whichever_way_it_searches(week, rare, monkeypatch):
    """The memchr jump between rare bytes (the usual case) and the regex (a log where the
    rare byte is not rare) find the same places."""
    path, _ = week
    data = path.read_bytes()
    monkeypatch.setattr(maillog.Literal, "RARE", rare)
    lit = maillog.Literal(b"reject: ")
    got = list(lit.positions(data, 0, len(data)))
    assert bool(lit.byte) == (rare == 2048)
    want, p = [], data.find(b"reject: ")
    while p >= 0:
        want.append(p)
        p = data.find(b"reject: ", p + 1)
    assert got == want and want


def test_a_log_truncated_while_mapped_ends_the_read_instead_of_faulting(tmp_path):
    log = tmp_path / "mail.log"
    log.write_bytes(b"Dec  3 02:00:00 box postfix/smtpd[1]: connect from x[127.0.0.9]\n" * 2000)
    with open(log, "rb") as f:
        blocks = maillog.line_blocks(f, 4096)
        buf, begin, end = next(blocks)
        assert buf[begin:end].endswith(b"\n")
        with open(log, "r+b") as w:
            w.truncate(end)  # logrotate's copytruncate, with the reader half way
        assert list(blocks) == []
