"""pyproject.toml's dependencies are true: every third-party package the installed program
imports is declared (and nothing else: pexpect is for the tests), each with a lower bound that
tests/constraints-floor.txt pins (scripts/test-all runs the TUI and intent tests at those
floors) and an upper bound below the next major release."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The folders whose code ships (all of it installs as the one package pfwizard).
SHIPPED = ("pfwizard", "tui", "screens", "assets")
# import name -> distribution name, where they differ
DIST = {"ruamel": "ruamel.yaml"}

if sys.version_info < (3, 11):
    pytest.skip("tomllib is Python 3.11+", allow_module_level=True)
import tomllib  # noqa: E402


def runtime_requirements() -> dict[str, str]:
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = {}
    for req in data["project"]["dependencies"]:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*(.*)", req)
        assert m, req
        reqs[m[1].lower()] = m[2]
    return reqs


def third_party_imports() -> set[str]:
    names: set[str] = set()
    for pkg in SHIPPED:
        for path in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n != "pfwizard"}


def test_what_the_program_imports_is_exactly_what_it_declares():
    declared = set(runtime_requirements())
    imported = {DIST.get(n, n).lower() for n in third_party_imports()}
    assert imported == declared
    assert "pexpect" not in declared


def test_every_lower_bound_is_pinned_in_the_floor_constraints_and_capped_below_a_major():
    floors = {}
    for line in (ROOT / "tests" / "constraints-floor.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            floors[name.strip().lower()] = version.strip()
    reqs = runtime_requirements()
    assert set(floors) == set(reqs)
    for name, spec in reqs.items():
        low = re.search(r">=\s*([0-9][0-9.]*)", spec)
        high = re.search(r"<\s*([0-9][0-9.]*)", spec)
        assert low and high, f"{name}: needs a lower and an upper bound ({spec})"
        assert floors[name] == low[1], f"{name}: floor {floors[name]} but pyproject says {spec}"
        floor = [int(x) for x in low[1].split(".")]
        cap = [int(x) for x in high[1].split(".")]
        # A cap at a major boundary (<9; for 0.x releases the minor is the major: <0.20),
        # so a release that may break the API is never installed untested.
        assert cap > floor and (cap[1:] == [] if cap[0] > 0 else cap[2:] == []), (
            f"{name}: upper bound {high[1]} is not a major boundary"
        )
