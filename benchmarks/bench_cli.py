"""`pfwizard status` and `pfwizard check` as cron and monitoring run them: whole processes.

Builds the MiaB v75 fixture with the customisations tests/miab_setup.customise records (seed
000's sender allowlist and seed 001's own-domain block, each with its table, plus HELO
hardening; the hash table's index built), then times, round after round, in turn:

- ``python -c pass``: the interpreter's own start, the floor no command can go under;
- ``pfwizard status`` and ``pfwizard check`` on that box (goal: status <= 0.15 s), as cron
  runs them: the answers the previous run kept in the state directory (pfwizard.memo) read
  back;
- ``status (nothing kept)``: the same with the state directory's ``cache/`` deleted before
  each run (the first run after an edit, an upgrade of pfwizard or of Postfix);
- with ``--vs DIR``, the same two commands from another checkout (e.g. ``git archive`` of the
  commit before a change), so that before and after share each round's load.

Each command runs this checkout's code (``python -m pfwizard`` from a neutral directory, the
checkout alone on PYTHONPATH).  Prints the median wall and CPU time of each and the median of
the round-by-round ratios; no assertions (speed is reported, not tested).

``--python PATH`` times another interpreter, e.g. the installed program's
(``/opt/pfwizard/venv/bin/python``: Debian's Python, without this VM's ``.pth`` hooks).

Run: ``python3 benchmarks/bench_cli.py [--runs N] [--vs DIR] [--python PATH]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.miab_setup import box, customise  # noqa: E402


def make_box(tmp: Path) -> tuple[Path, Path]:
    config_dir, state_dir = box(tmp, "main.cf.v75-fresh")
    customise(config_dir, state_dir)
    if shutil.which("postmap"):  # without its .db, status reports drift (a table to rebuild)
        subprocess.run(
            ["postmap", "-c", str(config_dir), f"hash:{config_dir}/pfwizard/own_domains"],
            check=True,
            timeout=60,
        )
    return config_dir, state_dir


def timed(argv: list[str], code: Path | None, forget: Path | None = None) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one run (``forget``: a directory deleted first)."""
    if forget is not None:
        shutil.rmtree(forget, ignore_errors=True)
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled once, then cached
    if code is not None:
        env["PYTHONPATH"] = str(code)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # A blocking wait, and a timer for the 60 s limit: ``subprocess.run(timeout=...)`` waits
    # by polling, with sleeps that double up to 50 ms, and so adds up to 50 ms to a run.
    proc = subprocess.Popen(argv, env=env, cwd="/", stdout=subprocess.DEVNULL)
    limit = threading.Timer(60, proc.kill)
    limit.start()
    try:
        proc.wait()
    finally:
        limit.cancel()
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument(
        "--vs",
        type=Path,
        metavar="DIR",
        help="another checkout to time in the same rounds (before/after)",
    )
    ap.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter to run pfwizard with (default: this one)",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config_dir, state_dir = make_box(Path(tmp))
        where = ["--config-dir", str(config_dir), "--state-dir", str(state_dir)]
        py = [args.python, "-m", "pfwizard", *where]
        kept = state_dir / "cache"
        cases: dict[str, tuple[list[str], Path | None, Path | None]] = {
            "python -c pass": ([args.python, "-c", "pass"], None, None),
            "status": ([*py, "status"], ROOT, None),
            "status (nothing kept)": ([*py, "status"], ROOT, kept),
            "check": ([*py, "check"], ROOT, None),
        }
        if args.vs is not None:
            vs = args.vs.resolve()
            cases["status (vs)"] = ([*py, "status"], vs, None)
            cases["check (vs)"] = ([*py, "check"], vs, None)
        for argv, code, forget in cases.values():  # warm-up: .pyc files, page cache
            timed(argv, code, forget)
        wall: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, (argv, code, forget) in cases.items():
                w, c = timed(argv, code, forget)
                wall[name].append(w)
                cpu[name].append(c)
    print(
        f"{args.runs} rounds, medians (load average now: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())})"
    )
    for name in cases:
        print(
            f"  {name:22} wall {statistics.median(wall[name]) * 1000:6.0f} ms   "
            f"cpu {statistics.median(cpu[name]) * 1000:6.0f} ms"
        )

    def ratio(a: str, b: str) -> str:
        w = statistics.median(x / y for x, y in zip(wall[a], wall[b], strict=True))
        c = statistics.median(x / y for x, y in zip(cpu[a], cpu[b], strict=True))
        return f"wall {w:.2f}x, cpu {c:.2f}x"

    if args.vs is not None:
        print(f"  status / status (vs): {ratio('status', 'status (vs)')}")
        cold = ratio("status (nothing kept)", "status (vs)")
        print(f"  status (nothing kept) / status (vs): {cold}")
        print(f"  check / check (vs):   {ratio('check', 'check (vs)')}")


if __name__ == "__main__":
    main()
