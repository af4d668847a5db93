"""Benchmark: `pfwizard explain --log` on a generated 1 GB mail log, against `grep -c NOQUEUE`.

    python3 benchmarks/bench_explain.py [--size-mb 1024] [--keep]

Generates the log once under /tmp (a realistic mix: connects, deliveries, TLS lines and ~2 %
rejects of seven causes), times ``grep -c NOQUEUE`` and pfwizard's scan + grouping (run in a
child process so its peak RSS is its own), prints throughput and peak memory, and deletes the
log unless --keep. The box's config is MiaB v75 read from the fixtures (no postconf calls
inside the timed part beyond the one-off config load).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

NORMAL = [
    "postfix/smtpd[{pid}]: connect from mail-{n}.example.net[198.51.100.{o}]",
    "postfix/smtpd[{pid}]: Anonymous TLS connection established from mail-{n}.example.net"
    "[198.51.100.{o}]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
    "postfix/smtpd[{pid}]: {qid}: client=mail-{n}.example.net[198.51.100.{o}]",
    "postfix/cleanup[{pid}]: {qid}: message-id=<{n}.{pid}@example.net>",
    "postfix/qmgr[{pid}]: {qid}: from=<news{n}@example.net>, size={pid}, nrcpt=1 (queue active)",
    "postfix/lmtp[{pid}]: {qid}: to=<admin@box.example.com>, relay=127.0.0.1[127.0.0.1]:10025,"
    " delay=0.5, delays=0.1/0/0/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
    "postfix/qmgr[{pid}]: {qid}: removed",
    "postfix/smtpd[{pid}]: disconnect from mail-{n}.example.net[198.51.100.{o}] ehlo=2 "
    "starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
    "dovecot: imap-login: Login: user=<mick@box.example.com>, method=PLAIN, rip=203.0.113.{o}",
    "opendkim[{pid}]: {qid}: DKIM verification successful",
]
REJECTS = [
    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from esa{o}.hc{n}.iphmx.com[139.138.45.{o}]: "
    "450 4.1.8 <MAILER-DAEMON@esa{o}.hc{n}.iphmx.com>: Sender address rejected: Domain not "
    "found; from=<MAILER-DAEMON@esa{o}.hc{n}.iphmx.com> to=<dmarc@box.example.com> "
    "proto=ESMTP helo=<esa{o}.hc{n}.iphmx.com>",
    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[192.0.2.{o}]: 554 5.7.1 Service "
    "unavailable; Client host [192.0.2.{o}] blocked using zen.spamhaus.org; "
    "https://www.spamhaus.org/query/ip/192.0.2.{o}; from=<x{n}@spam.example> "
    "to=<admin@box.example.com> proto=ESMTP helo=<spam.example>",
    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[192.0.2.{o}]: 550 5.1.1 "
    "<nobody{n}@box.example.com>: Recipient address rejected: User unknown in virtual mailbox "
    "table; from=<a@example.org> to=<nobody{n}@box.example.com> proto=ESMTP helo=<x.example>",
    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[192.0.2.{o}]: 554 5.7.1 "
    "<x@elsewhere{n}.example>: Relay access denied; from=<a@example.org> "
    "to=<x@elsewhere{n}.example> proto=ESMTP helo=<x.example>",
    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[192.0.2.{o}]: 450 4.2.0 "
    "<admin@box.example.com>: Recipient address rejected: Greylisted, see "
    "http://postgrey.schweikert.ch/help/box.example.com.html; from=<n{n}@example.com> "
    "to=<admin@box.example.com> proto=ESMTP helo=<mx.example.com>",
    "postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from unknown[192.0.2.{o}]: 504 5.5.2 <bob>: "
    "Sender address rejected: need fully-qualified address; from=<bob> "
    "to=<admin@box.example.com> proto=ESMTP helo=<x>",
    "postfix/submission/smtpd[{pid}]: NOQUEUE: reject: RCPT from c[198.51.100.{o}]: 553 5.7.1 "
    "<boss@box.example.com>: Sender address rejected: not owned by user mick@box.example.com; "
    "from=<boss@box.example.com> to=<x{n}@example.org> proto=ESMTP helo=<pc>",
]


def make_block(rng: random.Random, size: int, reject_share: float) -> bytes:
    out: list[str] = []
    total = 0
    sec = 0
    while total < size:
        sec = (sec + 1) % 3600
        stamp = f"Nov 22 {sec // 3600 + 3:02d}:{sec // 60 % 60:02d}:{sec % 60:02d} box "
        tpl = rng.choice(REJECTS) if rng.random() < reject_share else rng.choice(NORMAL)
        line = (
            stamp
            + tpl.format(
                pid=rng.randint(1000, 99999),
                n=rng.randint(1, 500),
                o=rng.randint(1, 254),
                qid=f"{rng.getrandbits(40):010X}",
            )
            + "\n"
        )
        out.append(line)
        total += len(line)
    return "".join(out).encode()


def generate(path: Path, size_mb: int, reject_share: float) -> None:
    rng = random.Random(7)
    blocks = [make_block(rng, 1 << 20, reject_share) for _ in range(32)]
    with open(path, "wb") as f:
        for i in range(size_mb):
            f.write(blocks[i % len(blocks)])


def timed(argv: list[str]) -> tuple[float, str, int]:
    """Wall time, stdout and the command's own peak RSS (KiB).

    GNU time reports the exec'd program's peak: rusage of a child forked from this Python
    process would also count the pages the fork inherited before exec.
    """
    with tempfile.NamedTemporaryFile() as rss:
        t = time.perf_counter()
        res = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - t
        peak = int(Path(rss.name).read_text().split()[-1])
    if res.returncode not in (0, 1):
        sys.exit(f"{argv[0]} failed with exit {res.returncode}: {res.stderr}")
    return wall, res.stdout, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--reject-share", type=float, default=0.02)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pfwizard-bench-explain-", dir="/tmp"))
    log = work / "mail.log"
    conf = work / "etc"
    conf.mkdir()
    (conf / "main.cf").write_bytes((ROOT / "tests/fixtures/miab/main.cf.v75-fresh").read_bytes())
    past = time.time() - 60
    os.utime(conf / "main.cf", (past, past))
    try:
        t = time.perf_counter()
        generate(log, args.size_mb, args.reject_share)
        size = log.stat().st_size
        print(f"generated {size / 1e9:.2f} GB in {time.perf_counter() - t:.1f} s: {log}")
        # Warm the page cache once so both tools read from memory, then time each once.
        subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)
        g_wall, g_out, g_peak = timed(["grep", "-c", "NOQUEUE", str(log)])
        env_py = [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]); from pfwizard.cli import main;"
            " sys.exit(main(sys.argv[2:]))",
            str(ROOT),
        ]
        e_wall, e_out, e_peak = timed(
            [*env_py, "--config-dir", str(conf), "explain", "--log", str(log), "--json"]
        )
        import json

        report = json.loads(e_out)
        mb = size / 1e6
        print(
            f"grep -c NOQUEUE : {g_wall:6.2f} s  {mb / g_wall:7.0f} MB/s  "
            f"peak RSS {g_peak / 1024:.0f} MiB  count {g_out.strip()}"
        )
        print(
            f"pfwizard explain: {e_wall:6.2f} s  {mb / e_wall:7.0f} MB/s  "
            f"peak RSS {e_peak / 1024:.0f} MiB  rejects {report['rejects']} in "
            f"{len(report['groups'])} groups"
        )
        print(f"ratio explain/grep: {e_wall / g_wall:.1f}x")
    finally:
        if not args.keep:
            log.unlink(missing_ok=True)
            (conf / "main.cf").unlink(missing_ok=True)
            conf.rmdir()
            work.rmdir()


if __name__ == "__main__":
    main()
