"""The code style CONTRIBUTING.md describes is the one ``ruff check`` enforces, and the tree
passes it (the same check scripts/test-all runs)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def ruff_config() -> dict[str, object]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    with open(REPO / "pyproject.toml", "rb") as fh:
        ruff: dict[str, object] = tomllib.load(fh)["tool"]["ruff"]
    return ruff


def style_section() -> str:
    text = (REPO / "CONTRIBUTING.md").read_text()
    return text.split("## Code style", 1)[1].split("\n## ", 1)[0]


def ruff_argv() -> list[str]:
    exe = shutil.which("ruff")
    if exe is not None:
        return [exe]
    try:
        import ruff  # noqa: F401
    except ImportError:
        pytest.skip("ruff is not installed (pip install '.[test]' installs it)")
    return [sys.executable, "-m", "ruff"]


def test_contributing_says_what_ruff_is_configured_to_check() -> None:
    cfg = ruff_config()
    lint = cfg["lint"]
    assert isinstance(lint, dict)
    section = style_section()
    documented = re.findall(r"^\| `([A-Z]+)` \|", section, re.M)
    assert documented == lint["select"]
    ignored = re.search(r"Not enforced, on purpose: (.*?)\n\n", section, re.S)
    assert ignored is not None
    assert re.findall(r"`([A-Z]+\d+)`", ignored.group(1)) == lint["ignore"]
    assert f"Line length: {cfg['line-length']} characters" in section
    assert cfg["target-version"] == "py310" and "Target: Python 3.10" in section


def test_ruff_check_passes_on_the_tree() -> None:
    res = subprocess.run(
        [*ruff_argv(), "check", "--no-cache", "--output-format", "concise", str(REPO)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_the_tree_is_in_ruff_format() -> None:
    """CONTRIBUTING.md's one format: what `ruff format` writes (scripts/test-all checks it too)."""
    res = subprocess.run(
        [*ruff_argv(), "format", "--check", "--no-cache", str(REPO)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "ruff format --check" in (REPO / "CONTRIBUTING.md").read_text()
