"""What each start-up path imports, run for real in a fresh interpreter.

`pfwizard status` and `pfwizard check` (cron, monitoring) load only what they run: never the
apply engine, the wizard or Textual; `check` not even the customisations' YAML library.  The
wizard's first screen waits for neither the engine (no journal: nothing to recover) nor the
analyser (its findings fill in after the first frame).  How fast that is, is measured by
benchmarks/bench_cli.py and bench_tui.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.miab_setup import box, customise

ROOT = Path(__file__).resolve().parent.parent
UI = ("textual", "rich", "pfwizard.tui", "pfwizard.screens")
ENGINE_ONLY = (
    "pfwizard.engine",
    "pfwizard.intent.writer",
    "pfwizard.intent.execute",
    "pfwizard.recipes",
    "pfwizard.session",
    "pfwizard.trail",
)


def modules_after(code: str) -> list[str]:
    """The modules loaded once ``code`` ran in a fresh interpreter (this checkout first)."""
    script = textwrap.dedent(code) + (
        "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    return list(json.loads(out.stdout.splitlines()[-1]))


def loaded(mods: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return [m for m in mods if m in prefixes or m.startswith(tuple(f"{p}." for p in prefixes))]


def run_command(config_dir: Path, state_dir: Path, *argv: str) -> list[str]:
    return modules_after(f"""
        import contextlib, io
        from pfwizard.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["--config-dir", {str(config_dir)!r}, "--state-dir",
                         {str(state_dir)!r}, *{list(argv)!r}])
        assert code in (0, 1), code
    """)


def test_status_loads_neither_the_engine_nor_the_wizard(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    customise(config_dir, state_dir)  # tables, intent and all: status reads every part
    mods = run_command(config_dir, state_dir, "status")
    assert "pfwizard.intent.rebase" in mods and "pfwizard.analyser" in mods  # it ran
    assert loaded(mods, ENGINE_ONLY + UI) == []


def test_status_reading_back_its_answers_loads_neither_the_yaml_library_nor_the_lint(tmp_path):
    """The second run finds the table lint and the validated customizations.yaml it kept
    (pfwizard.memo): the YAML library, the table checker and the table simulator stay
    unloaded.  The first run loads them, as every run did before."""
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    customise(config_dir, state_dir)
    heavy = ("ruamel.yaml", "pfwizard.intent.yamldoc", "pfwizard.tables.lint")
    heavy += ("pfwizard.tables.lookup", "pfwizard.tables.engines", "pfwizard.tables.validate")
    first = run_command(config_dir, state_dir, "status")
    assert "ruamel.yaml" in first and "pfwizard.tables.lint" in first
    again = run_command(config_dir, state_dir, "status")
    assert "pfwizard.intent.rebase" in again and "pfwizard.analyser" in again  # it ran
    assert loaded(again, heavy) == []


def test_status_on_a_box_with_its_miab_checkout_reads_back_as_well(tmp_path):
    """With a MiaB checkout (a release to name), the second run still loads neither."""
    import subprocess

    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    customise(config_dir, state_dir)
    checkout = tmp_path / "mailinabox"
    checkout.mkdir()
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for argv in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "v75"], ["tag", "v75"]):
        subprocess.run([*git, *argv], check=True, timeout=30)
    for _ in range(2):
        mods = run_command(config_dir, state_dir, "status", "--miab-dir", str(checkout))
    assert loaded(mods, ("ruamel.yaml", "pfwizard.intent.yamldoc", "pfwizard.tables.lint")) == []


def test_check_loads_only_the_analyser(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    customise(config_dir, state_dir)
    mods = run_command(config_dir, state_dir, "check")
    assert "pfwizard.analyser" in mods
    assert (
        loaded(
            mods,
            ENGINE_ONLY + UI + ("ruamel", "pfwizard.intent", "pfwizard.jsonout", "pfwizard.nagios"),
        )
        == []
    )


def test_the_wizard_first_screen_needs_neither_engine_nor_analyser(tmp_path):
    """Everything the Welcome's first frame needs, and the recovery check with no journal."""
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    mods = modules_after(f"""
        import argparse, sys
        from pfwizard.commands import wizard
        sys.stdin.isatty = sys.stdout.isatty = lambda: True  # as in a terminal
        args = argparse.Namespace(config_dir={str(config_dir)!r}, state_dir={str(state_dir)!r})
        assert wizard.recover_first(args) == ()
        session = wizard.Session.open(args.config_dir, args.state_dir, reload=False)
        import pfwizard.screens.welcome, pfwizard.tui.app
        app = pfwizard.tui.app.PfwizardApp(session)
        pfwizard.screens.welcome.WelcomeScreen()
    """)
    assert "pfwizard.tui.app" in mods and "textual.app" in mods
    # What the Welcome fills in after its first frame (findings, restore check, the mail
    # log's rejects) and what only the stages need load then, not before.
    assert (
        loaded(
            mods,
            (
                "pfwizard.engine",
                "pfwizard.analyser",
                "pfwizard.analysis",
                "pfwizard.tables",
                "pfwizard.intent",
                "ruamel",
                "pfwizard.explain",
                "pfwizard.catalogue",
                "pfwizard.mastercf",
            ),
        )
        == []
    )
