"""The wizard's first frame from inside the process: CPU and wall time at Textual's ``Ready``.

bench_tui.py times the first screen from outside, as the admin sees it; on a loaded machine
its wall times swing.  This runs pfwizard (``pfwizard.cli.main`` with ``--config-dir``) and
the minimal app of minimal_textual_app.py (a Static and a Footer) in a pty at 80x24, each
with a hook on ``on_ready`` (sent once the first frame is displayed) that notes the process's
CPU time (``time.process_time``: what the program itself spent, whatever else the machine
runs) and the wall time since the interpreter started, then quits.  Rounds alternate the
programs, their order turning; ``--vs DIR`` adds another checkout (before/after).

Run: ``python3 benchmarks/bench_first_frame.py [--runs N] [--vs DIR]``.  No assertions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import textwrap
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_tui import make_config  # noqa: E402

# Both programs note (wall since start, CPU) in on_ready, write them to argv[1] and quit.
_NOTE = """
    import json, sys, time
    T0 = time.perf_counter()
    def note(app):
        json.dump([time.perf_counter() - T0, time.process_time()], open(sys.argv[1], "w"))
        app.exit(0)
"""
WIZARD = (
    _NOTE
    + """
    import pfwizard.tui.app
    real = tui.app.PfwizardApp.on_ready
    def on_ready(self):
        real(self)
        note(self)
    tui.app.PfwizardApp.on_ready = on_ready
    from pfwizard.cli import main
    main(sys.argv[2:])
"""
)
MINIMAL = (
    _NOTE
    + """
    sys.argv[0] = "minimal"
    from textual.app import App
    from textual.binding import Binding
    from textual.widgets import Footer, Static
    class Minimal(App):
        BINDINGS = [Binding("q", "quit", "Quit")]
        def compose(self):
            yield Static("minimal app ready")
            yield Footer()
        def on_ready(self):
            note(self)
    Minimal(ansi_color=True).run()
"""
)


def run_once(code: str, pythonpath: Path, out: Path, argv: list[str]) -> tuple[float, float]:
    env = {
        "TERM": "xterm-256color",
        "PATH": "/usr/sbin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(pythonpath),
    }
    child = pexpect.spawn(
        sys.executable,
        ["-c", textwrap.dedent(code), str(out), *argv],
        dimensions=(24, 80),
        env=env,
        cwd="/",
        encoding="utf-8",
        codec_errors="replace",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    wall, cpu = json.loads(out.read_text())
    out.unlink()
    return float(wall), float(cpu)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--vs", type=Path, metavar="DIR", help="another checkout, same rounds")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        etc = make_config(Path(tmp))
        wiz_argv = ["--config-dir", str(etc), "--state-dir", f"{tmp}/state"]
        out = Path(tmp) / "note.json"
        cases = {"minimal app": (MINIMAL, ROOT, []), "pfwizard": (WIZARD, ROOT, wiz_argv)}
        if args.vs is not None:
            cases[f"pfwizard {args.vs}"] = (WIZARD, args.vs.resolve(), wiz_argv)
        names = list(cases)
        for name in names:  # warm-up: .pyc files, page cache
            run_once(*cases[name][:2], out, cases[name][2])
        got: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
        for n in range(args.runs):
            k = n % len(names)
            for name in names[k:] + names[:k]:
                code, path, argv = cases[name]
                got[name].append(run_once(code, path, out, argv))
    base = got["minimal app"]
    print(f"first frame (Textual's Ready), medians of {args.runs} rounds")
    for name in names:
        wall = statistics.median(w for w, _ in got[name])
        cpu = statistics.median(c for _, c in got[name])
        rw = statistics.median(a[0] / b[0] for a, b in zip(got[name], base, strict=True))
        rc = statistics.median(a[1] / b[1] for a, b in zip(got[name], base, strict=True))
        print(
            f"  {name:24} wall {wall * 1000:5.0f} ms ({rw:.2f}x)   "
            f"CPU {cpu * 1000:5.0f} ms ({rc:.2f}x)"
        )


if __name__ == "__main__":
    main()
