"""The wheel installs one top-level package, pfwizard, and nothing of the repository is left out.

The repository keeps the wizard's folders (tui/, screens/, assets/) at its top; they must land
inside pfwizard (as pfwizard.tui, ...), never as top-level packages of their own in the admin's
site-packages, where a `tui` or `assets` package from anything else would collide with them.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# repository folder -> its place in the wheel
FOLDERS = {
    "pfwizard": "pfwizard",
    "tui": "pfwizard/tui",
    "screens": "pfwizard/screens",
    "assets": "pfwizard/assets",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # A copy of the sources, so the build leaves no build/ or egg-info in the checkout.
    src = out / "src"
    subprocess.run(
        f"tar -cf - --exclude=__pycache__ pyproject.toml README.md {' '.join(FOLDERS)}"
        f" | (mkdir -p {src} && tar -xf - -C {src})",
        shell=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "-w",
            str(out),
            str(src),
        ],
        check=True,
        timeout=600,
        capture_output=True,
    )
    (whl,) = out.glob("pfwizard-*.whl")
    return zipfile.ZipFile(whl)


def test_the_wheel_holds_only_pfwizard(wheel):
    tops = {name.split("/")[0] for name in wheel.namelist()}
    dist_info = {t for t in tops if t.endswith(".dist-info")}
    assert tops - dist_info == {"pfwizard"}, sorted(tops)


def test_every_source_file_and_asset_is_in_the_wheel(wheel):
    names = set(wheel.namelist())
    missing = []
    for folder, placed in FOLDERS.items():
        for f in (ROOT / folder).rglob("*"):
            if not f.is_file() or "__pycache__" in f.parts or f.suffix == ".pyc":
                continue
            rel = f"{placed}/{f.relative_to(ROOT / folder).as_posix()}"
            if rel not in names:
                missing.append(rel)
    assert not missing, f"left out of the wheel (pyproject.toml packages/package-data): {missing}"
