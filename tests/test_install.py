"""`scripts/install` (the README's first command) into a scratch prefix with the system's
python3: a private virtual environment holding every package, `pfwizard` linked into the bin
directory and running from the installed copy (not the checkout), the man page and
completions placed; a second run upgrades in place; `--uninstall` removes it all.

scripts/test-all also runs it for real (/opt/pfwizard, /usr/local/sbin) with Debian's
/usr/bin/python3, and with Python 3.10 when pyenv has one."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# repository folder -> where it lands in site-packages (one top-level package)
PACKAGES = {
    "pfwizard": "pfwizard",
    "tui": "pfwizard/tui",
    "screens": "pfwizard/screens",
    "assets": "pfwizard/assets",
}
SYSTEM_PYTHON = Path("/usr/bin/python3")


def install(tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH: the installed program must run from its own copy.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [
            str(ROOT / "scripts" / "install"),
            "--python",
            str(SYSTEM_PYTHON),
            "--no-apt",
            "--prefix",
            str(tmp / "opt"),
            "--bin-dir",
            str(tmp / "sbin"),
            "--share-dir",
            str(tmp / "share"),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp,
    )


@pytest.mark.slow
@pytest.mark.skipif(
    not SYSTEM_PYTHON.exists() or shutil.which("tar") is None,
    reason="needs the system's /usr/bin/python3",
)
def test_install_upgrade_and_uninstall(tmp_path):
    first = install(tmp_path)
    if first.returncode != 0 and "install python3-venv" in first.stderr:
        pytest.skip(
            "the system python3 has no venv (python3-venv); scripts/install adds it "
            "with apt-get, which this test does not do"
        )
    assert first.returncode == 0, first.stdout + first.stderr
    assert "installed: pfwizard " in first.stdout
    link = tmp_path / "sbin" / "pfwizard"
    assert link.is_symlink() and os.readlink(link) == str(tmp_path / "opt/venv/bin/pfwizard")
    env = {"PATH": f"{tmp_path / 'sbin'}:/usr/bin:/bin", "NO_COLOR": "1"}
    py = tmp_path / "opt" / "venv" / "bin" / "python"
    site = subprocess.run(
        [
            py,
            "-c",
            "import pfwizard, pathlib; print(pathlib.Path(pfwizard.__file__).parent.parent)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    ).stdout.strip()
    assert Path(site) != ROOT, "imported the checkout, not the installed copy"
    for folder, installed in PACKAGES.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = Path(installed) / init.relative_to(ROOT / folder)
            assert (Path(site) / rel).exists(), f"{rel.parent} is missing from the install"
    demo = subprocess.run(
        ["pfwizard", "demo", "--print"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert demo.returncode == 0, demo.stderr
    assert "reject_unknown_sender_domain" in demo.stdout
    check = subprocess.run(
        [
            "pfwizard",
            "check",
            "-c",
            str(ROOT / "assets" / "demo"),
            "--state-dir",
            str(tmp_path / "state"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
    )
    assert check.returncode in (0, 1), check.stderr
    for placed in (
        "man/man8/pfwizard.8",
        "bash-completion/completions/pfwizard",
        "zsh/site-functions/_pfwizard",
    ):
        assert (tmp_path / "share" / placed).is_file(), placed
    # pexpect is for the tests only: the installed program must not need it.
    assert not list(Path(site).glob("pexpect*")), "pexpect installed as a runtime dependency"

    again = install(tmp_path)
    assert again.returncode == 0, again.stderr
    assert "upgrading pfwizard " in again.stdout and "upgraded: pfwizard " in again.stdout

    gone = install(tmp_path, "--uninstall")
    assert gone.returncode == 0, gone.stderr
    assert not link.exists() and not link.is_symlink()
    assert not (tmp_path / "opt").exists()
    assert not (tmp_path / "share" / "man/man8/pfwizard.8").exists()
