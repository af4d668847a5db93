"""`pfwizard check` as an admin runs it: a subprocess, exit codes 0/1/2, words not colours."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIX = Path(__file__).resolve().parent / "fixtures" / "miab"
ROOT = Path(__file__).resolve().parent.parent


def check(config_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pfwizard", "check", "--config-dir", str(config_dir), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1"},
    )


def config(
    tmp_path: Path, main: str = "main.cf.v75-fresh", master: str | None = "master.cf.v75"
) -> Path:
    shutil.copy(FIX / main, tmp_path / "main.cf")
    if master:
        shutil.copy(FIX / master, tmp_path / "master.cf")
    return tmp_path


def test_miab_as_shipped_exits_0(tmp_path):
    r = check(config(tmp_path))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "INFO" in r.stdout and "logged-in users' outgoing mail" in r.stdout
    assert "miab-hits-authenticated" not in r.stdout  # an id, never a title
    assert "smtpd_sender_restrictions" in r.stdout
    assert "\x1b[" not in r.stdout  # severity is a word; no colour codes when piped
    assert r.stdout.rstrip().endswith("0 danger, 0 caution, 4 info")


def test_glued_lines_are_caution_not_danger(tmp_path):
    r = check(
        config(
            tmp_path, "main.cf.customized-after-v75-setup", "master.cf.customized-after-v75-setup"
        )
    )
    assert r.returncode == 0
    assert "CAUTION smtpd_sender_restrictions" in r.stdout
    assert "glued-lines" not in r.stdout  # an id for --json, never a title


def test_misspelt_restriction_exits_1(tmp_path):
    d = config(tmp_path)
    main = d / "main.cf"
    main.write_text(
        main.read_text().replace("reject_unknown_sender_domain,", "reject_unknown_sender_domian,")
    )
    r = check(d)
    assert r.returncode == 1, r.stdout
    line = next(ln for ln in r.stdout.splitlines() if "reject_unknown_sender_domian]" in ln)
    assert (
        "DANGER" in line and "smtpd_sender_restrictions #2 [reject_unknown_sender_domian]" in line
    )
    assert "451 4.3.5" in r.stdout and "did you mean reject_unknown_sender_domain" in r.stdout


def test_open_relay_exits_1(tmp_path):
    d = config(tmp_path, master=None)
    main = d / "main.cf"
    main.write_text(
        main.read_text().replace(
            "smtpd_relay_restrictions=permit_sasl_authenticated,permit_mynetworks,"
            "reject_unauth_destination",
            "smtpd_relay_restrictions=permit_mynetworks",
        )
    )
    r = check(d)
    assert r.returncode == 1
    assert "DANGER  smtpd_relay_restrictions" in r.stdout and "open relay" in r.stdout


def test_min_severity_filters_output_not_exit_code(tmp_path):
    r = check(config(tmp_path), "--min-severity", "danger")
    assert r.returncode == 0
    assert "INFO" not in r.stdout.split("\n")[0]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (None, "main.cf: cannot read"),
        ("compatibility_level = 3.6\nthis line has no equals sign\n", "main.cf, line 2"),
        ("  indented = first line\n", "main.cf, line 1"),
        ("a = b\x00c\n", "main.cf, line 1"),
    ],
)
def test_unreadable_config_exits_2(tmp_path, text, where):
    if text is not None:
        (tmp_path / "main.cf").write_text(text)
    r = check(tmp_path)
    assert r.returncode == 2
    assert where in r.stderr and str(tmp_path) in r.stderr
    assert r.stdout == ""


def test_check_does_not_import_textual():
    code = (
        "import sys, argparse; from pfwizard.commands import check; "
        "assert 'textual' not in sys.modules, 'textual imported'"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert r.returncode == 0, r.stderr
