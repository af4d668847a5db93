"""Wizard speed, measured the way an admin feels it: in a real pty at 80x24.

1. Start-up: from launching ``pfwizard`` (the installed console script) to its first
   interactive screen, against a minimal Textual app launched the same way (goal <= 1.2x).
2. Key press to redrawn screen: move an entry (``J``/``K``) in a 15-entry chain and wait until
   the entry is drawn on its new row (goal: median <= 50 ms).  The same moves in
   ``minimal_move_app.py`` give Textual's own floor.

Run: ``.venv/bin/python benchmarks/bench_tui.py [--runs N]`` (needs the console script; see
COMMON.md).  Prints medians; no assertions (speed is reported, not tested).  The console script
runs this checkout's code (its root goes first on PYTHONPATH); ``--vs DIR`` also times another
checkout (e.g. ``git archive`` of the commit before a change) in the same rounds, so a before/after
pair sees the same load; ``--startup-only`` skips the key presses.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pexpect  # noqa: E402

from pfwizard.maincf import MainCf  # noqa: E402
from tests.pty_driver import Screen, pfwizard_script  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "miab" / "main.cf.v75-fresh"


def make_config(tmp: Path, extra_entries: int = 0) -> Path:
    etc = tmp / "etc"
    etc.mkdir(parents=True)
    shutil.copy(FIXTURE, etc / "main.cf")
    shutil.copy(FIXTURE.with_name("master.cf.v75"), etc / "master.cf")  # as on a real box
    if extra_entries:
        cf = MainCf.read(etc / "main.cf")
        for n in range(extra_entries):
            (etc / f"t{n:02}").write_text(f"sender{n}@example.com OK\n")
        tables = ",".join(
            f"check_sender_access texthash:{etc}/t{n:02}" for n in range(extra_entries)
        )
        cf.set("smtpd_sender_restrictions", f"{tables},{cf.get('smtpd_sender_restrictions')}")
        (etc / "main.cf").write_bytes(cf.to_bytes())
    return etc


def spawn(argv: list[str], code: Path = ROOT) -> pexpect.spawn:
    env = {
        "TERM": "xterm-256color",
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(code),
    }  # the checkout measured, not an installed copy
    child = pexpect.spawn(
        argv[0],
        argv[1:],
        dimensions=(24, 80),
        env=env,
        encoding="utf-8",
        codec_errors="replace",
        timeout=30,
    )
    # pexpect sleeps 50 ms before every send() (delaybeforesend, a workaround for password
    # prompts echoing); inside the timed key press it made every move 50 ms slower than
    # the admin sees it.  Keys are sent only once the app is up, in raw mode.
    child.delaybeforesend = None
    return child


def wait_screen(child: pexpect.spawn, screen: Screen, needle: str, timeout: float = 30) -> float:
    deadline = time.perf_counter() + timeout
    while needle not in screen.text():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{needle!r} not on screen:\n{screen.text()}")
        with contextlib.suppress(pexpect.TIMEOUT):
            screen.feed(child.read_nonblocking(65536, timeout=0.002))
    return time.perf_counter()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used so far, from /proc: in
    clock ticks (10 ms), so only medians of many runs mean anything.  Read when the bench
    sees the first screen, it also counts what the program did since drawing it (pfwizard
    starts the Welcome's checks right then; the minimal app does nothing): it errs against
    pfwizard, more so when the machine is loaded."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def time_start(
    argv: list[str], ready: str, complete: str | None = None, code: Path = ROOT
) -> tuple[float, float, float]:
    """Seconds to the first screen (``ready`` drawn), CPU seconds the program used by then
    (less sensitive to the machine's load than the wall time) and, if asked, seconds until
    the screen also has no ``checking...`` left and shows ``complete`` (what Welcome fills
    in after the first frame)."""
    t0 = time.perf_counter()
    child = spawn(argv, code)
    screen = Screen()
    t1 = wait_screen(child, screen, ready)
    cpu = cpu_seconds(child.pid)
    t2 = t1
    if complete is not None:
        deadline = t1 + 30
        while complete not in screen.text() or "checking..." in screen.text():
            if time.perf_counter() > deadline:
                raise TimeoutError(f"Welcome not complete:\n{screen.text()}")
            with contextlib.suppress(pexpect.TIMEOUT):
                screen.feed(child.read_nonblocking(65536, timeout=0.002))
        t2 = time.perf_counter()
    child.terminate(force=True)
    return t1 - t0, cpu, t2 - t0


def startup(runs: int, vs: Path | None = None, journal: bool = False) -> dict[str, list[float]]:
    """Per round: pfwizard's first screen and complete Welcome, the minimal app's first
    screen, and (``vs``) the other checkout's two figures.  ``journal``: the state directory
    has a journal, as on a box where pfwizard applied a change before (the wizard then
    checks it for an interrupted change before reading main.cf)."""
    with tempfile.TemporaryDirectory() as tmp:
        etc = make_config(Path(tmp))
        if journal:
            (Path(tmp) / "state" / "journal").mkdir(mode=0o700, parents=True)
            (Path(tmp) / "state").chmod(0o700)
        wiz = [
            pfwizard_script() or "pfwizard",
            "--config-dir",
            str(etc),
            "--state-dir",
            f"{tmp}/state",
        ]
        mini = [sys.executable, str(ROOT / "benchmarks" / "minimal_textual_app.py")]
        codes = {"": ROOT, **({"vs ": vs} if vs is not None else {})}
        # One warm-up each: the first run pays for cold .pyc and page cache.
        for code in codes.values():
            time_start(wiz, "r History", code=code)
        time_start(mini, "Quit")
        out: dict[str, list[float]] = {}
        # Interleaved, so that a burst of load from elsewhere hits all; the order turns
        # round by round, so that none always runs first (or right after another).
        order: list[str | None] = [None, *codes]
        for n in range(runs):
            k = n % len(order)
            for name in order[k:] + order[:k]:
                if name is None:
                    first, cpu, _ = time_start(mini, "Quit")
                    out.setdefault("minimal", []).append(first)
                    out.setdefault("minimal cpu", []).append(cpu)
                    continue
                first, cpu, complete = time_start(
                    wiz, "r History", complete="Findings on", code=codes[name]
                )
                out.setdefault(f"{name}first", []).append(first)
                out.setdefault(f"{name}cpu", []).append(cpu)
                out.setdefault(f"{name}complete", []).append(complete)
    return out


def ms(s: list[float]) -> str:
    return f"{statistics.median(s) * 1000:.0f} ms"


def ratio(a: list[float], b: list[float]) -> str:
    """The median of the round-by-round ratios (each pair ran back to back)."""
    return f"{statistics.median(x / y for x, y in zip(a, b, strict=True)):.2f}x"


def row_of(screen: Screen, needle: str) -> int:
    for n, line in enumerate(screen.text().splitlines()):
        if needle in line[:50]:  # the chain list only, not the risk panel beside it
            return n
    return -1


def time_moves(child: pexpect.spawn, screen: Screen, moves: int) -> list[float]:
    """Move entry 1 down to the end and back (J/K), timing each key press until the entry
    is drawn on its new row (its number on the line above its argument)."""
    samples: list[float] = []
    for i in range(moves):
        down = (i // 14) % 2 == 0
        pos = (i % 14) + 1 if down else 14 - (i % 14) - 1
        target = f"{pos + 1:2}. check_sender_access"
        expected_arg = "/t00"
        t0 = time.perf_counter()
        child.send("J" if down else "K")
        deadline = t0 + 5
        while True:
            text = screen.text()
            r = row_of(screen, expected_arg)
            if r > 0 and target in text.splitlines()[r - 1][:50]:
                break
            if time.perf_counter() > deadline:
                raise TimeoutError(f"move {i}: {target!r} not drawn:\n{text}")
            with contextlib.suppress(pexpect.TIMEOUT):
                screen.feed(child.read_nonblocking(65536, timeout=0.001))
        samples.append(time.perf_counter() - t0)
    return samples


def keypress(moves: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        etc = make_config(Path(tmp), extra_entries=11)  # + MiaB's 4 = 15 entries
        child = spawn(
            [
                pfwizard_script() or "pfwizard",
                "--config-dir",
                str(etc),
                "--state-dir",
                f"{tmp}/state",
                "--no-reload",
            ]
        )
        screen = Screen()
        wait_screen(child, screen, "r History")
        child.send("n")
        wait_screen(child, screen, "HELO")
        child.send("n")
        wait_screen(child, screen, " 1. check_sender_access")
        samples = time_moves(child, screen, moves)
        child.terminate(force=True)
    return samples


def keypress_floor(moves: int) -> list[float]:
    """The same moves in minimal_move_app.py: what Textual alone costs per redraw."""
    child = spawn([sys.executable, str(ROOT / "benchmarks" / "minimal_move_app.py")])
    screen = Screen()
    wait_screen(child, screen, " 1. check_sender_access")
    samples = time_moves(child, screen, moves)
    child.terminate(force=True)
    return samples


def summary(s: list[float]) -> str:
    return (
        f"median {statistics.median(s) * 1000:.1f} ms, p90 "
        f"{sorted(s)[int(len(s) * 0.9)] * 1000:.1f} ms, max {max(s) * 1000:.1f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--moves", type=int, default=56)
    ap.add_argument(
        "--vs",
        type=Path,
        metavar="DIR",
        help="another checkout to time in the same rounds (before/after)",
    )
    ap.add_argument("--startup-only", action="store_true", help="skip the key presses")
    ap.add_argument(
        "--journal",
        action="store_true",
        help="start with a journal in the state directory (a box where pfwizard applied before)",
    )
    args = ap.parse_args()
    t = startup(args.runs, args.vs.resolve() if args.vs else None, args.journal)
    m, mc = t["minimal"], t["minimal cpu"]
    print(
        f"start-up to first screen (medians of {args.runs} rounds): minimal Textual app "
        f"{ms(m)}, CPU {ms(mc)}"
    )
    for name, label in (("", "this checkout"), ("vs ", f"{args.vs}")):
        if f"{name}first" not in t:
            continue
        first, cpu, complete = t[f"{name}first"], t[f"{name}cpu"], t[f"{name}complete"]
        print(
            f"  pfwizard ({label}): first screen {ms(first)}, ratio {ratio(first, m)} "
            f"(goal <= 1.2x); CPU {ms(cpu)}, ratio {ratio(cpu, mc)}; "
            f"Welcome complete {ms(complete)}, ratio {ratio(complete, m)}"
        )
    if args.vs:
        print(
            f"  this checkout / {args.vs}: first screen {ratio(t['first'], t['vs first'])}, "
            f"CPU {ratio(t['cpu'], t['vs cpu'])}"
        )
    if args.startup_only:
        return
    s = keypress(args.moves)
    print(
        f"key press to redrawn move in a 15-entry chain ({len(s)} moves): {summary(s)} "
        f"(goal: median <= 50 ms)"
    )
    print(f"  floor, the same moves in minimal_move_app.py: {summary(keypress_floor(args.moves))}")


if __name__ == "__main__":
    main()
