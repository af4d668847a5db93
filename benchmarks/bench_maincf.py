"""Benchmark: parse + one edit + write of MiaB v75's main.cf, N times (default 1000).

    python3 benchmarks/bench_maincf.py [N]

Prints the time per parse+edit+write cycle, and of each step on its own.  No assertions:
the figures go into the issue's closing note.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pfwizard.chain import Chain, Item  # noqa: E402
from pfwizard.maincf import MainCf  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "miab" / "main.cf.v75-fresh"
PARAM = "smtpd_sender_restrictions"


def cycle(data: bytes, out: Path) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    cf = MainCf.parse(data, str(FIXTURE))
    cf.definitions()
    t1 = time.perf_counter()
    chain = Chain.parse(cf.get(PARAM) or "")
    chain.insert_before(
        "reject_unknown_sender_domain",
        Item("check_sender_access", "regexp:/etc/postfix/sender_access"),
    )
    cf.set(PARAM, chain.render())
    cf.definitions()  # the edit is only done once the logical view is valid again
    t2 = time.perf_counter()
    out.write_bytes(cf.to_bytes())
    t3 = time.perf_counter()
    return t1 - t0, t2 - t1, t3 - t2


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    data = FIXTURE.read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "main.cf"
        cycle(data, out)  # warm-up: imports, caches
        started = time.perf_counter()
        steps = [cycle(data, out) for _ in range(n)]
        total = time.perf_counter() - started
    us = 1e6
    lines = data.count(b"\n")
    print(f"{FIXTURE.name}: {len(data)} bytes, {lines} lines; {n} cycles")
    print(f"parse + edit + write: {total / n * us:8.1f} us per cycle ({total:.3f} s total)")
    for k, name in enumerate(("parse", "edit (chain insert + set)", "write (to a temp file)")):
        print(f"  {name:27} median {statistics.median(s[k] for s in steps) * us:8.1f} us")


if __name__ == "__main__":
    main()
