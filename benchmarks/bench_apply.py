"""One apply of seed 000's change through the engine vs the raw Postfix commands it runs.

Seed 000's change: the sender chain edit in main.cf + one regexp table + one hash table, on a
private bench Postfix running MiaB v75's chains.

- raw: the files written in place (as an admin with an editor would), then
  ``postmap hash:TABLE`` + ``postfix check`` + ``postfix reload``;
- pfwizard: ``Engine.apply`` of the same change (guard, staged copy with postfix check,
  postmap and postconf, analyser gate, journal + backups with fsync, atomic writes, postmap on
  a temp source, reload, SMTP probe).

Each is measured twice: as it happens (main.cf was just written, so ``postfix reload`` waits out
Postfix's ~2 s "cool down" for young files), and with mtimes backdated before the reload (the
pure cost of the commands).  Overhead = (pfwizard - raw) / raw, medians of N rounds.

Run as root from the repository root:  python3 benchmarks/bench_apply.py [--rounds N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pfwizard.engine import Engine
from tests.bench.dns import StubDNS
from tests.bench.instance import PostfixInstance
from tests.bench.policy import PolicyServer
from tests.conftest import Bench
from tests.test_engine_support import backdate, seed000_changeset


def run(*argv: str) -> None:
    subprocess.run(list(argv), check=True, capture_output=True, timeout=60)


def reset(bench: Bench, base: dict[str, bytes]) -> None:
    """Back to MiaB's v75 chains, no tables; Postfix restarted on it; mtimes old.

    A restart, not a reload: reloads in quick succession with files rewritten in between
    sometimes leave this bench's smtpd waiting for proxymap (see tests/test_engine.py)."""
    shutil.rmtree(bench.config_dir / "pfwizard", ignore_errors=True)
    for name, data in base.items():
        (bench.config_dir / name).write_bytes(data)
    backdate(bench.config_dir)
    bench.restart()


def raw_apply(bench: Bench, cool_down: bool) -> float:
    """The same change by hand; times postmap + postfix check + postfix reload."""
    cfg = bench.config_dir
    plan = Engine(cfg, Path("/nonexistent")).plan(seed000_changeset(cfg))
    for f in plan.files:  # the editor's part, not timed
        f.path.parent.mkdir(exist_ok=True)
        f.path.write_bytes(f.after or b"")
    if not cool_down:
        backdate(cfg)
    hash_table = next(f.path for f in plan.files if f.map_type == "hash")
    t0 = time.monotonic()
    run("postmap", "-c", str(cfg), f"hash:{hash_table}")
    run("postfix", "-c", str(cfg), "check")
    run("postfix", "-c", str(cfg), "reload")
    return time.monotonic() - t0


def engine_apply(bench: Bench, state: Path, cool_down: bool, gate: bool) -> float:
    cfg = bench.config_dir
    eng = Engine(cfg, state, gate=None if gate else (lambda cf, d: []), restart=bench.restart)
    if not cool_down:
        eng.before_reload = lambda: backdate(cfg)
    t0 = time.monotonic()
    res = eng.apply(eng.plan(seed000_changeset(cfg)))
    took = time.monotonic() - t0
    if not res.ok:
        raise SystemExit(f"apply failed: {res.error}\n{res.postfix_output}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    dns = StubDNS()
    dns.start()
    policy = PolicyServer().start()
    inst = PostfixInstance(dns_ip=dns.ip)
    state = Path(tempfile.mkdtemp(prefix="pfwizard-bench-state-", dir="/tmp"))
    try:
        inst.start()
        bench = Bench(inst, dns, policy)
        bench.configure_miab("main.cf.v75-fresh")
        base = {
            n: (inst.config_dir / n).read_bytes()
            for n in ("main.cf", "master.cf", "sender_login_maps", "virtual_mailboxes")
        }
        times: dict[str, list[float]] = {}
        cases = [
            ("raw", False, False),
            ("pfwizard", False, False),
            ("pfwizard+analyser", False, True),
            ("raw", True, False),
            ("pfwizard", True, False),
        ]
        for _ in range(args.rounds):
            for name, cool, gate in cases:
                reset(bench, base)
                key = f"{name} ({'with cool-down' if cool else 'mtimes backdated'})"
                took = (
                    raw_apply(bench, cool)
                    if name == "raw"
                    else engine_apply(bench, state, cool, gate)
                )
                times.setdefault(key, []).append(took)
        med = {k: statistics.median(v) for k, v in times.items()}
        print(f"seed 000 change, median of {args.rounds} rounds (seconds):")
        for k, v in med.items():
            print(f"  {k:42} {v:7.3f}   (min {min(times[k]):.3f}, max {max(times[k]):.3f})")
        for mode in ("mtimes backdated", "with cool-down"):
            raw = med[f"raw ({mode})"]
            ours = med[f"pfwizard ({mode})"]
            print(f"overhead, {mode}: {ours - raw:+.3f} s = {100 * (ours - raw) / raw:+.0f}%")
        raw = med["raw (mtimes backdated)"]
        ours = med["pfwizard+analyser (mtimes backdated)"]
        print(
            f"overhead with the analyser gate, mtimes backdated: {100 * (ours - raw) / raw:+.0f}%"
        )
    finally:
        inst.stop()
        policy.stop()
        dns.stop()
        shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
