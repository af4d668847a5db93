"""Benchmark: the real-Postfix bench's start-up, one SMTP dialogue, one reload (root only).

    sudo python3 benchmarks/bench_smtp.py [N]

Start-up is timed from nothing to a private instance that greets (median of N fresh
instances, default 10); the dialogue is EHLO, MAIL FROM, RCPT TO (a 450 from
reject_unknown_sender_domain via the stub DNS), RSET, QUIT from an outside address (median of
10 N).  No assertions: the figures go into the issue's closing note.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.bench.dns import StubDNS
from tests.bench.instance import PostfixInstance
from tests.bench.smtp import OUTSIDE, dialogue


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def ms(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1e3:7.1f} ms  "
        f"(min {min(values) * 1e3:.1f}, max {max(values) * 1e3:.1f}, n={len(values)})"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    dns = StubDNS()
    dns.start()
    try:
        starts: list[float] = []
        for _ in range(n):
            t0 = time.perf_counter()
            inst = PostfixInstance(dns_ip=dns.ip)
            inst.start()  # returns once smtpd has greeted a probe connection
            starts.append(time.perf_counter() - t0)
            inst.stop()

        with PostfixInstance(dns_ip=dns.ip) as inst:
            inst.write_main_cf({"smtpd_sender_restrictions": "reject_unknown_sender_domain"})
            inst.reload()
            first = timed(lambda: dialogue(inst.port, source=OUTSIDE))

            def one() -> None:
                d = dialogue(inst.port, source=OUTSIDE, mail_from="a@no-such-domain.example")
                assert d.rcpt.code == 450, d.replies

            dialogues = [timed(one) for _ in range(10 * n)]
            reloads = [timed(inst.reload) for _ in range(n)]
    finally:
        dns.stop()
    print(f"bench start-up (to first greeting): {ms(starts)}")
    print(f"first dialogue after a reload:      {first * 1e3:7.1f} ms (smtpd process start)")
    print(f"SMTP dialogue (EHLO..RCPT 450..QUIT): {ms(dialogues)}")
    print(f"postfix reload (until it greets):   {ms(reloads)}")


if __name__ == "__main__":
    main()
