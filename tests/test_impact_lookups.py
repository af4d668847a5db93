"""Pacing and the DNS side of the impact preview, in-process: the token bucket (on a fake
clock), the replay order, the count of names looked up, the resolver check, and the report's
lines about them."""

from __future__ import annotations

import threading

import pytest

from pfwizard.impact.envelope import Envelope
from pfwizard.impact.lookups import dns_names, replay_order, resolver
from pfwizard.impact.pacing import TokenBucket
from pfwizard.impact.report import ImpactReport, render


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_bucket_lets_a_burst_through_then_one_token_per_interval():
    clock = Clock()
    bucket = TokenBucket(10, burst=2, clock=clock)
    assert [bucket.reserve(), bucket.reserve()] == [0.0, 0.0]
    # Empty: each further take is given its own slot, 0.1 s apart, none starved.
    assert [round(bucket.reserve(), 6) for _ in range(3)] == [0.1, 0.2, 0.3]
    clock.now += 0.3  # the three reserved slots have passed
    assert bucket.reserve() == pytest.approx(0.1)
    clock.now += 60  # a long pause refills only up to the burst
    assert [bucket.reserve(), bucket.reserve()] == [0.0, 0.0]
    assert bucket.reserve() == pytest.approx(0.1)


def test_the_bucket_averages_its_rate_over_many_takes():
    clock = Clock()
    bucket = TokenBucket(50, burst=2, clock=clock)
    waits = [bucket.reserve() for _ in range(1002)]
    # 1002 takes at 50/s: the last one waits for 1000 tokens, i.e. 20 s.
    assert waits[-1] == pytest.approx(20.0)


def test_a_wait_for_a_token_ends_when_the_replay_is_stopped():
    bucket = TokenBucket(0.01)  # the next token in 100 s
    assert bucket.take()
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    assert bucket.take(stop) is False  # at once, not in 100 s
    with pytest.raises(ValueError):
        TokenBucket(0)


def env(
    ip: str, sender: str, name: str = "unknown", helo: str | None = None, rcpt: str = ""
) -> Envelope:
    return Envelope(ip, name, helo, sender, rcpt or "me@box.example", "accepted")


def test_the_replay_order_puts_one_sender_domain_and_one_client_together():
    envs = [
        env("127.0.0.5", "a@b.example"),
        env("127.0.0.9", "x@a.example"),
        env("127.0.0.5", "c@B.EXAMPLE"),
        env("127.0.0.7", "y@a.example"),
        env("127.0.0.9", "z@a.example"),
        env("127.0.0.5", ""),
    ]
    ordered = replay_order(envs)
    assert sorted(ordered, key=id) == sorted(envs, key=id)  # the same envelopes
    assert [(e.sender.partition("@")[2].lower(), e.client_address) for e in ordered] == [
        ("", "127.0.0.5"),
        ("a.example", "127.0.0.7"),
        ("a.example", "127.0.0.9"),
        ("a.example", "127.0.0.9"),
        ("b.example", "127.0.0.5"),
        ("b.example", "127.0.0.5"),
    ]


def test_names_looked_up_count_each_name_once():
    envs = [
        # client address, client name, HELO, sender and recipient domain: 5 names
        env("127.0.0.5", "a@Sender.example", "mx.sender.example", "helo.sender.example"),
        # the same names in another spelling, and the client name standing in for the HELO
        env("127.0.0.5", "b@sender.example.", "MX.sender.example", None),
        # unknown client, address-literal HELO, null sender: only address and recipient domain
        env("127.0.0.6", "", "unknown", "[127.0.0.6]", rcpt="me@other.example"),
        env("127.0.0.7", "c@sender.example", "unknown", None),  # HELO [127.0.0.7]: no lookup
    ]
    # 127.0.0.5, mx.sender.example, helo.sender.example, sender.example, box.example,
    # 127.0.0.6, other.example, 127.0.0.7
    assert dns_names(envs) == 8
    assert dns_names([]) == 0


def test_the_resolver_check_reads_resolv_conf(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("# written by MiaB's setup\nnameserver 127.0.0.1\n")
    assert resolver(conf).local and resolver(conf).nameservers == ["127.0.0.1"]
    conf.write_text("nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch example\n")
    assert resolver(conf).local  # systemd-resolved's stub caches too
    conf.write_text("nameserver ::1\n")
    assert resolver(conf).local
    conf.write_text("nameserver 10.255.255.53\nnameserver 127.0.0.1\n")
    assert not resolver(conf).local  # libc asks the first one first
    conf.write_text("nameserver fe80::1%eth0\n")
    assert not resolver(conf).local
    conf.write_text("search example\n")  # no nameserver: libc asks the local machine
    assert resolver(conf).local
    assert resolver(tmp_path / "missing").local


def test_the_report_says_how_lookups_were_paced_and_cached():
    rep = ImpactReport("p.yaml", rate=50, dns_names=1234, nameservers=["127.0.0.1"])
    text = "\n".join(render(rep))
    assert "about 1234 distinct names looked up; the box's resolver caches them" in text
    assert "lookups paced at 50 envelopes/s" in text
    assert "caution" not in text
    rep = ImpactReport("p.yaml", rate=0, dns_names=3, nameservers=["10.255.255.53"])
    rep.local_resolver = False
    text = "\n".join(render(rep))
    assert "lookups not paced" in text and "caches them" not in text
    assert "caution: this box has no caching resolver of its own" in text
    assert "10.255.255.53" in text
    doc = rep.to_json()
    assert doc["rate"] == 0 and doc["dns_names"] == 3 and doc["local_resolver"] is False
    assert doc["nameservers"] == ["10.255.255.53"]


def test_a_negative_rate_is_refused(tmp_path, capsys):
    import os

    from pfwizard.cli import main

    (tmp_path / "p.yaml").write_text("version: 1\n")
    argv = ["--config-dir", str(tmp_path), "--state-dir", str(tmp_path / "st")]
    code = main([*argv, "impact", str(tmp_path / "p.yaml"), "--rate", "-1"])
    assert code != 0
    if os.geteuid() == 0:  # without root, the preview is refused for that first
        assert "--rate must be 0 (no limit) or more" in capsys.readouterr().err
