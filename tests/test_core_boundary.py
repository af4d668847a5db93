"""The core never imports Textual: non-TUI commands start fast and the core is usable alone."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pfwizard

# The wizard's packages: installed inside pfwizard, but not part of its core.
UI = ("pfwizard.tui", "pfwizard.screens", "pfwizard.assets")


def core_modules() -> list[str]:
    mods = pkgutil.walk_packages(pfwizard.__path__, "pfwizard.")
    return sorted(
        m.name for m in mods if not m.name.endswith("__main__") and not m.name.startswith(UI)
    )


def test_importing_every_core_module_does_not_load_textual():
    mods = core_modules()
    assert "pfwizard.maincf" in mods
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}: importlib.import_module(m)\n"
        "bad = sorted(k for k in sys.modules if k == 'textual' or k.startswith('textual.')"
        f" or k.startswith({UI!r}))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "", f"core imported UI modules: {out.stdout}"


def test_cli_help_does_not_load_textual():
    code = (
        "import sys\nfrom pfwizard.cli import build_parser\nbuild_parser()\n"
        "print(any(k.startswith('textual') for k in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_a_command_imports_only_its_own_module():
    """`pfwizard check` must not pay for the wizard, the YAML library or the apply engine."""
    code = (
        "import sys\nfrom pfwizard.cli import build_parser, selected_command\n"
        "argv = ['--config-dir', 'check', 'check', '--min-severity', 'info']\n"
        "assert selected_command(argv) == 'check', selected_command(argv)\n"
        "build_parser(selected_command(argv)).parse_args(argv)\n"
        "heavy = ('textual', 'ruamel', 'pfwizard.engine', 'pfwizard.intent', 'pfwizard.session')\n"
        "print(sorted(k for k in sys.modules if k.startswith(heavy)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"
