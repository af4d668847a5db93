"""A plain, non-editable `pip install .` (the README's first command) ships every module:
the console script runs `demo --print` and `check` from the installed copy, not the checkout."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pfwizard", "tui", "screens", "assets")


@pytest.mark.slow
def test_non_editable_install_has_every_package_and_runs(tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, system_site_packages=True, with_pip=True)
    py = env_dir / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--disable-pip-version-check", str(ROOT)], check=True, timeout=300,
                   cwd=tmp_path)
    site = subprocess.run([py, "-c", "import pfwizard, pathlib; "
                           "print(pathlib.Path(pfwizard.__file__).parent.parent)"],
                          capture_output=True, text=True, check=True, cwd=tmp_path,
                          timeout=60).stdout.strip()
    assert Path(site) != ROOT, "imported the checkout, not the installed copy"
    for pkg in PACKAGES:
        for init in (ROOT / pkg).rglob("__init__.py"):
            rel = init.relative_to(ROOT)
            assert (Path(site) / rel).exists(), f"{rel.parent} is missing from the install"
    demo = subprocess.run([env_dir / "bin" / "pfwizard", "demo", "--print"], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert "reject_unknown_sender_domain" in demo.stdout
    check = subprocess.run([env_dir / "bin" / "pfwizard", "check", "--config-dir",
                            str(ROOT / "assets" / "demo")], capture_output=True, text=True,
                           timeout=60, cwd=tmp_path)
    assert check.returncode in (0, 1), check.stderr
    assert sys.executable  # the test itself ran under the outer interpreter
