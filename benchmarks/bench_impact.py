"""Benchmark: the impact preview's replay of N envelopes (default 10,000) on two staged
instances (root only).

    sudo python3 benchmarks/bench_impact.py [N] [--workers W] [--rate R]

The box is a bench config directory with MiaB v75's chains (stub DNS; the correspondents'
domains resolve, the Cisco ESA hosts' do not); the envelopes are a generated week's
(tests/impact_weeklog.py), repeated from distinct client addresses until there are N; the
change is seed 000's ESA allowlist. Times the whole preview (staging, both instances' start,
both replays, stop, clean-up) and reports envelopes per second and pfwizard's peak memory.
Unpaced by default (``--rate 0``): the figure is the replay's own speed, not the pace the
product keeps to by default (50 envelopes a second) to spare the box's resolver.
No assertions: the figures go into the issue's closing note.
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import tempfile
import time
from multiprocessing import Pipe, Process
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pfwizard.impact.envelope import Envelope
from pfwizard.impact.preview import preview
from pfwizard.impact.proposal import plan_change
from tests.bench.dns import StubDNS
from tests.bench.instance import PostfixInstance
from tests.bench.miab import miab_chains
from tests.impact_weeklog import write_week

PROFILE = """\
version: 1
chains:
  smtpd_sender_restrictions:
    operations:
      - insert: check_sender_access regexp:{cfg}/pfwizard/cisco_dmarc_sender_access
        before: reject_unknown_sender_domain
tables:
  {cfg}/pfwizard/cisco_dmarc_sender_access:
    type: regexp
    content: |
      /esa[0-9]*\\.?[acehimnops0-9]*[-]?[0-9]*\\.?[acps23]*\\.iphmx\\.com/i PERMIT
"""


def envelopes(week_envs: list[Envelope], n: int) -> list[Envelope]:
    """``n`` distinct envelopes: the week's, then copies from other client addresses."""
    out: list[Envelope] = []
    k = 0
    while len(out) < n:
        for e in week_envs:
            if len(out) >= n:
                break
            out.append(
                e
                if k == 0
                else dataclasses.replace(
                    e, client_address=f"127.{100 + k // 250}.{k % 250}.{len(out) % 250 + 1}"
                )
            )
        k += 1
    return out


def _serve_dns(domains: list[str], conn: Connection) -> None:
    dns = StubDNS()
    for d in domains:
        dns.zone.a[d] = "127.0.0.1"
        dns.zone.mx[d] = d
    dns.start()
    conn.send(dns.ip)
    conn.recv()  # until the benchmark is done
    dns.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=3, help="connections per instance")
    ap.add_argument("--rate", type=int, default=0, help="envelopes per second (0: unpaced)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-impact-"))
    week = write_week(tmp / "mail.log", domain="example.com")
    # The stub DNS in a process of its own, as the box's resolver is: in this process it
    # would share the replayer's GIL and slow it down.
    here, there = Pipe()
    dns = Process(target=_serve_dns, args=(week.resolvable_domains, there), daemon=True)
    dns.start()
    box = PostfixInstance(dns_ip=here.recv())  # only its config directory: never started
    try:
        etc = box.config_dir
        (etc / "week_mailboxes").write_text("".join(f"{m} ok\n" for m in week.mailboxes))
        (etc / "week_aliases").write_text("".join(f"{a} {t}\n" for a, t in week.aliases.items()))
        params = miab_chains("main.cf.v75-fresh", "inet:127.0.0.1:9", etc)
        params.update(
            {
                "virtual_mailbox_domains": "example.com",
                "virtual_mailbox_maps": f"texthash:{etc}/week_mailboxes",
                "virtual_alias_maps": f"texthash:{etc}/week_aliases",
            }
        )
        box.write_main_cf(params)
        week_envs = [
            Envelope(ip, name, helo, s, r, e.verdict, e.reply, e.authenticated, e.count)
            for (ip, name, helo, s, r), e in week.envelopes.items()
            if not e.authenticated
        ]
        envs = envelopes(week_envs, args.n)
        (tmp / "profile.yaml").write_text(PROFILE.format(cfg=etc))
        (tmp / "state").mkdir()
        plan = plan_change(etc, tmp / "state", tmp / "profile.yaml")
        t0 = time.perf_counter()
        rep = preview(
            "profile.yaml",
            etc,
            plan,
            envs,
            workers=args.workers,
            rate=args.rate,
            resolv_conf=box.root / "resolv.conf",
        )
        total = time.perf_counter() - t0
        self_use = resource.getrusage(resource.RUSAGE_SELF)
        peak = self_use.ru_maxrss / 1024
        print(
            f"{len(envs)} envelopes, {args.workers} connections per instance, both "
            f"instances at once, {f'paced at {args.rate}/s' if args.rate else 'unpaced'}"
        )
        print(f"distinct names the replay could look up: {rep.dns_names}")
        print(f"total (stage, start, replay both, stop, clean up): {total:.2f} s")
        print(f"envelopes per second (each asked of both instances): {len(envs) / total:.0f}")
        print(
            f"newly accepted {rep.newly_accepted_count}, newly rejected "
            f"{rep.newly_rejected_count}, unanswered {rep.unanswered}, accuracy "
            f"{rep.accuracy.ratio:.1%}"
        )
        print(f"peak memory (pfwizard's own process): {peak:.1f} MB")
        cpu = self_use.ru_utime + self_use.ru_stime
        print(f"CPU of this process (replayer and policy stub): {cpu:.1f} s")
    finally:
        box.stop()
        here.send("stop")
        dns.join(5)
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
