"""Bad main.cf content reaches the admin as one clear line, never as a traceback.

``pfwizard check`` does not exist yet; the demo command reads main.cf through the same core,
so it stands in for every command here.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pfwizard.commands.demo as demo_command
from pfwizard import cli, exitcodes
from pfwizard.errors import ConfigError
from pfwizard.maincf import MainCf

ROOT = Path(__file__).resolve().parent.parent


def test_demo_print_works() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "pfwizard", "demo", "--print"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert "smtpd_sender_restrictions:" in res.stdout
    assert "reject_unknown_sender_domain" in res.stdout
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize(
    "content, line",
    [
        (b"myhostname = a\nthis line has no equals sign\n", 2),
        (b"  stray continuation\nmyhostname = a\n", 1),
        (b"myhostname = a\n\x00\x01\x02garbage\n", 2),
    ],
)
def test_malformed_main_cf_is_one_line_on_stderr(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    content: bytes,
    line: int,
) -> None:
    (tmp_path / "etc").mkdir()
    main_cf = tmp_path / "etc" / "main.cf"
    main_cf.write_bytes(content)
    monkeypatch.setattr(demo_command, "prepare_demo", lambda: tmp_path)
    assert cli.main(["demo", "--print"]) == exitcodes.ERROR
    err = capsys.readouterr().err
    assert err.startswith(f"pfwizard: {main_cf}, line {line}: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert main_cf.read_bytes() == content  # nothing written


def test_read_message_format(tmp_path: Path) -> None:
    path = tmp_path / "main.cf"
    path.write_bytes(b"# MiaB\nmyhostname = box.example.com\nsmtpd_sender_restrictions\n")
    with pytest.raises(ConfigError) as err:
        MainCf.read(path)
    assert str(err.value) == (
        f"{path}, line 3: missing '=' after parameter name: 'smtpd_sender_restrictions'"
    )
