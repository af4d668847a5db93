"""pfwizard run without sudo: the installed console script as ``nobody``.

Commands that change the configuration say so in one line and exit 4, writing nothing; the
ones that only read work wherever the files are readable, and what they cannot read is exit 2,
never 1 (``status``'s drift: monitoring running it unprivileged must not raise a false alarm).

``/root`` is 0700 here, as on a real box, and the installed Python lives under it: each run
happens in a private mount namespace where ``/root`` is a 0711 tmpfs holding only the Python
install and a root-only ``/root/mailinabox`` (MiaB's checkout, as nobody meets it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from pfwizard import exitcodes
from tests.conftest import needs_postfix
from tests.miab_setup import box, customise

ROOT = Path(__file__).resolve().parent.parent
PYTHON_HOME = Path(sys.prefix)
SCRIPT = Path(sys.executable).parent / "pfwizard"

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0
        or not shutil.which("unshare")
        or not shutil.which("setpriv")
        or not SCRIPT.exists(),
        reason="needs root, unshare, setpriv and the installed pfwizard script",
    ),
    needs_postfix,
]

# Inside the namespace: hide /root behind a 0711 tmpfs, put the Python install back where
# its scripts expect it, add a root-only mailinabox checkout, then drop to nobody.
_NAMESPACE = r"""
set -e
home=$1; shift
keep=$(mktemp -d /tmp/pfwizard-nobody.XXXXXX)
case "$home" in /root/*) mount --bind "/root/${home#/root/}" "$keep" ;; esac
mount -t tmpfs -o mode=711 tmpfs /root
case "$home" in /root/*) mkdir -p "$home" && mount --move "$keep" "$home" ;; esac
rmdir "$keep"
mkdir -m 700 /root/mailinabox
exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
"""


def as_nobody(config_dir: Path, state_dir: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    # The Python install's top directory under /root (e.g. /root/.pyenv).
    parts = PYTHON_HOME.parts
    home = str(Path(*parts[:3])) if parts[:2] == ("/", "root") else "/nonexistent"
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        [
            "unshare",
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            _NAMESPACE,
            "sh",
            home,
            "env",
            *(f"{k}={v}" for k, v in env.items()),
            str(SCRIPT),
            "--config-dir",
            str(config_dir),
            "--state-dir",
            str(state_dir),
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=env,
    )


@pytest.fixture
def tmp_path() -> Iterator[Path]:
    """A scratch directory nobody can reach (pytest's own lives in a 0700 directory)."""
    scratch = Path(tempfile.mkdtemp(prefix="pfwizard-not-root-"))
    scratch.chmod(0o755)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch)


def readable_box(tmp_path: Path) -> tuple[Path, Path]:
    """A customised MiaB config and state directory, everything readable by everyone."""
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    state_dir.mkdir(mode=0o700)
    customise(config_dir, state_dir)
    subprocess.run(
        ["postmap", "-c", str(config_dir), f"hash:{config_dir}/pfwizard/own_domains"],
        check=True,
        timeout=30,
    )
    for path in tmp_path.rglob("*"):
        path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
    return config_dir, state_dir


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "argv",
    [
        (),
        ("apply", "/dev/null"),
        ("restore",),
        ("restore", "--yes"),
        ("restore", "--install-hook", "cron"),
        ("rollback", "--to", "1"),
        ("rollback", "--confirm", "1"),
        ("rollback",),
    ],
    ids=lambda a: " ".join(a) or "wizard",
)
def test_changing_commands_say_run_it_with_sudo(tmp_path, argv):
    config_dir, state_dir = readable_box(tmp_path)
    before = snapshot(tmp_path)
    res = as_nobody(config_dir, state_dir, *argv)
    assert res.returncode == exitcodes.REFUSED, res
    assert res.stderr == f"pfwizard changes {config_dir}: run it with sudo\n"
    assert res.stdout == ""
    assert snapshot(tmp_path) == before


def test_read_only_commands_work_unprivileged(tmp_path):
    config_dir, state_dir = readable_box(tmp_path)
    status = as_nobody(config_dir, state_dir, "status")
    assert status.returncode == exitcodes.OK, status
    assert "=> in sync" in status.stdout and "release unknown" in status.stdout
    check = as_nobody(config_dir, state_dir, "check")
    assert check.returncode == exitcodes.OK, check
    assert "0 danger" in check.stdout
    dry = as_nobody(config_dir, state_dir, "restore", "--dry-run")
    assert dry.returncode == exitcodes.OK, dry
    assert "in sync" in dry.stdout
    listed = as_nobody(config_dir, state_dir, "rollback", "--list")
    assert listed.returncode == exitcodes.OK, listed
    line = (
        "NOQUEUE: reject: RCPT from unknown[198.51.100.7]: 450 4.1.8 "
        "<x@nowhere.example>: Sender address rejected: Domain not found; "
        "from=<x@nowhere.example> to=<admin@box.example.com> proto=ESMTP helo=<mx>"
    )
    explain = as_nobody(config_dir, state_dir, "explain", line)
    assert explain.returncode == exitcodes.OK, explain
    assert "reject_unknown_sender_domain" in explain.stdout
    profile = tmp_path / "profile.yaml"
    profile.write_text('version: 1\nparameters:\n  smtpd_helo_required:\n    value: "no"\n')
    profile.chmod(0o644)
    before = snapshot(tmp_path)
    dry_apply = as_nobody(config_dir, state_dir, "apply", "--dry-run", str(profile))
    assert dry_apply.returncode == exitcodes.CHANGED, dry_apply
    assert "-smtpd_helo_required = yes" in dry_apply.stdout
    assert snapshot(tmp_path) == before
    demo = as_nobody(config_dir, state_dir, "demo", "--print")
    assert demo.returncode == exitcodes.OK, demo
    assert "smtpd_sender_restrictions" in demo.stdout
    for res in (status, check, dry, listed, explain, dry_apply, demo):
        assert "Traceback" not in res.stderr and "internal error" not in res.stderr


def test_drift_seen_unprivileged_is_still_drift(tmp_path):
    config_dir, state_dir = readable_box(tmp_path)
    main = config_dir / "main.cf"
    main.write_text(
        main.read_text().replace("smtpd_helo_required = yes", "smtpd_helo_required = no")
    )
    res = as_nobody(config_dir, state_dir, "status")
    assert res.returncode == exitcodes.FINDINGS, res
    assert "=> drift" in res.stdout


def test_what_cannot_be_read_is_exit_2_never_drift(tmp_path):
    config_dir, state_dir = readable_box(tmp_path)
    # root's state directory as pfwizard makes it: 0700.
    state_dir.chmod(0o700)
    for argv in (
        ("status",),
        ("status", "--json"),
        ("restore", "--dry-run"),
        ("rollback", "--list"),
    ):
        res = as_nobody(config_dir, state_dir, *argv)
        assert res.returncode == exitcodes.ERROR, (argv, res)
        assert res.stderr.count("\n") == 1 and "sudo" in res.stderr, res.stderr
    state_dir.chmod(0o755)
    # A table directory only root may enter: one line naming the file, exit 2.
    (config_dir / "pfwizard").chmod(0o700)
    for argv in (("status",), ("check",)):
        res = as_nobody(config_dir, state_dir, *argv)
        assert res.returncode == exitcodes.ERROR, (argv, res)
        assert res.stderr.startswith(f"pfwizard: cannot read {config_dir}/pfwizard/")
        assert "permission denied; run it with sudo" in res.stderr
        assert "internal error" not in res.stderr


def test_a_copy_of_ones_own_needs_no_sudo(tmp_path, capsys):
    import argparse

    from pfwizard import preflight

    mine, roots = tmp_path / "mine", tmp_path / "roots"
    mine.mkdir()
    roots.mkdir()
    os.chown(mine, 65534, 65534)
    args = argparse.Namespace(config_dir=str(mine), dry_run=False)
    os.seteuid(65534)
    try:
        assert preflight.not_root("apply", args) is None
        args.config_dir = str(roots)
        assert preflight.not_root("apply", args) == exitcodes.REFUSED
        assert preflight.not_root("status", args) is None
    finally:
        os.seteuid(0)
    assert capsys.readouterr().err == f"pfwizard changes {roots}: run it with sudo\n"
