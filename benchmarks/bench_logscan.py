"""Benchmark: reading a generated 1 GB week of MiaB mail log, against `grep -c NOQUEUE`.

    python3 benchmarks/bench_logscan.py [--size-mb 1024] [--runs 3] [--keep]

Generates the log once under /tmp with tests/impact_weeklog.py (ordinary mail, submissions,
greylisting and dictionary attacks growing with the size; 116 Cisco ESA DMARC rejects, own-domain
spoofing and bad HELO names at their fixed counts), warms the page cache, then times, each in a
process of its own (best of --runs):

- ``grep -c NOQUEUE`` (the reference);
- the shared block reader alone (``pfwizard.maillog.marked_lines`` for ``reject: ``): what
  ``explain --log`` reads with;
- ``pfwizard explain --log FILE --json`` as a whole (imports, config, grouping included);
- the impact preview's envelope extraction (``pfwizard.impact.logscan.extract``: rejects, and
  accepted mail joined by queue id, de-duplicated, sampled to 10,000);
- ``pflogsumm`` when installed.

GNU time gives each child's peak RSS, and its CPU time is read from ``RUSAGE_CHILDREN``
(``resource.getrusage``): on a shared machine the CPU ratio is the steadier one. The log is deleted
afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.impact_weeklog import write_week  # noqa: E402

READER = """
import sys
sys.path.insert(0, sys.argv[1])
from pfwizard.explain.scan import reject_lines
with open(sys.argv[2], 'rb') as f:
    n = sum(1 for _ in reject_lines(f))
print(n)
"""
EXTRACT = """
import datetime as dt, sys
sys.path.insert(0, sys.argv[1])
from pfwizard.impact.logscan import extract
s = extract(sys.argv[2], now=dt.datetime.fromisoformat(sys.argv[3]), rotated=False)
print(len(s.envelopes), s.distinct, s.occurrences, s.rejected, s.accepted, s.stride)
"""
EXPLAIN = """
import sys
sys.path.insert(0, sys.argv[1])
from pfwizard.cli import main
import io, contextlib
out = io.StringIO()
with contextlib.redirect_stdout(out):
    main(sys.argv[2:])
print(out.getvalue().count('"count"'))
"""


def best(argv: list[str], runs: int) -> tuple[float, float, int, str]:
    """Best wall time, best CPU time (user + sys of the child: what a shared, busy machine
    disturbs least), peak RSS in KiB, and the output.

    The peak RSS is GNU time's: a child forked straight from this process (which holds the
    generated week) would count this process's pages in its own peak.
    """
    walls, cpus, peak, out = [], [], 0, ""
    for _ in range(runs):
        with tempfile.NamedTemporaryFile() as rss:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            res = subprocess.run(
                ["/usr/bin/time", "-f", "%M", "-o", rss.name, *argv],
                capture_output=True,
                text=True,
                check=False,
            )
            walls.append(time.perf_counter() - t)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            peak = max(peak, int(Path(rss.name).read_text().split()[-1]))
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if res.returncode not in (0, 1):
            sys.exit(f"{argv[:3]} failed with exit {res.returncode}: {res.stderr[-2000:]}")
        out = res.stdout
    return min(walls), min(cpus), peak, out.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="pfwizard-bench-logscan-", dir="/tmp"))
    log = work / "mail.log"
    conf = work / "etc"
    conf.mkdir()
    (conf / "main.cf").write_bytes((ROOT / "tests/fixtures/miab/main.cf.v75-fresh").read_bytes())
    past = time.time() - 60
    os.utime(conf / "main.cf", (past, past))
    end = dt.datetime.now().replace(microsecond=0)
    try:
        t = time.perf_counter()
        week = write_week(log, end=end, size_mb=args.size_mb)
        size = log.stat().st_size
        mb = size / 1e6
        print(
            f"generated {mb:.0f} MB ({week.lines} lines) in {time.perf_counter() - t:.0f} s;"
            f" {week.counts()}"
        )
        subprocess.run(["cat", str(log)], stdout=subprocess.DEVNULL, check=True)
        py = [sys.executable, "-c"]
        rows: list[tuple[str, float, float, str]] = []
        g_wall, g_cpu, g_rss, g_out = best(["grep", "-c", "NOQUEUE", str(log)], args.runs)
        rows.append(
            ("grep -c NOQUEUE", g_wall, g_cpu, f"count {g_out}, peak RSS {g_rss / 1024:.0f} MiB")
        )
        r_wall, r_cpu, r_rss, r_out = best([*py, READER, str(ROOT), str(log)], args.runs)
        rows.append(
            (
                "block reader (reject: lines)",
                r_wall,
                r_cpu,
                f"{r_out} lines, peak RSS {r_rss / 1024:.0f} MiB",
            )
        )
        e_wall, e_cpu, e_rss, e_out = best(
            [
                *py,
                EXPLAIN,
                str(ROOT),
                "--config-dir",
                str(conf),
                "explain",
                "--log",
                str(log),
                "--json",
            ],
            args.runs,
        )
        rows.append(
            (
                "pfwizard explain --log",
                e_wall,
                e_cpu,
                f"{e_out} groups, peak RSS {e_rss / 1024:.0f} MiB",
            )
        )
        x_wall, x_cpu, x_rss, x_out = best(
            [*py, EXTRACT, str(ROOT), str(log), end.isoformat()], args.runs
        )
        kept, distinct, occ, rej, acc, stride = x_out.split()
        rows.append(
            (
                "impact envelope extraction",
                x_wall,
                x_cpu,
                f"{occ} envelopes ({rej} rejected, {acc} accepted, accepted mail read "
                f"from 1 block in {stride}), {distinct} distinct, {kept} sampled, "
                f"peak RSS {x_rss / 1024:.0f} MiB",
            )
        )
        if shutil.which("pflogsumm"):
            p_wall, p_cpu, _, _ = best(["pflogsumm", str(log)], 1)
            rows.append(("pflogsumm", p_wall, p_cpu, ""))
        else:
            print("pflogsumm is not installed: not compared")
        print(
            f"{'':30s} {'wall':>7s}   {'MB/s':>6s}  {'vs grep':>7s}   {'cpu':>6s}  {'vs grep':>7s}"
        )
        for name, wall, cpu, note in rows:
            print(
                f"{name:30s} {wall:7.2f} s {mb / wall:6.0f}  {g_wall / wall:6.2f}x  "
                f"{cpu:6.2f} s {g_cpu / cpu:6.2f}x  {note}"
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
