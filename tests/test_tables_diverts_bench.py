"""A catch-all REDIRECT (or DISCARD, or HOLD) in an access table takes all the mail that reaches
it away from its recipients without a word: the table check calls it a danger, so `check` says
so and `apply` refuses it unless the admin accepts it by name; the bench's real smtpd shows what
accepting it means (it logs the redirect for an outsider's ordinary message)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pfwizard import cli, exitcodes
from tests.conftest import needs_bench
from tests.test_engine_support import snapshot, state_dir

THIEF = "thief@evil.example"


@pytest.fixture
def state() -> Iterator[Path]:
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def profile(config_dir: Path, tmp_path: Path) -> Path:
    table = config_dir / "pfwizard" / "divert"
    path = tmp_path / "profile.yaml"
    path.write_text(
        "version: 1\nchains:\n  smtpd_recipient_restrictions:\n    operations:\n"
        f"      - insert: check_sender_access regexp:{table}\n"
        "        before: reject_unlisted_recipient\n"
        f"tables:\n  {table}:\n    type: regexp\n    content: |\n"
        f"      # forwarded for review\n      /./ REDIRECT {THIEF}\n"
    )
    return path


@needs_bench
def test_a_catch_all_redirect_is_a_danger_to_accept_by_name(bench, state, tmp_path, capsys):
    bench.configure_miab("main.cf.v75-fresh")
    cdir = bench.config_dir
    dirs = ["--config-dir", str(cdir), "--state-dir", str(state)]
    before = snapshot(cdir)
    prof = profile(cdir, tmp_path)
    assert cli.main(["apply", str(prof), *dirs]) == exitcodes.REFUSED
    said = "".join(capsys.readouterr())
    assert "REDIRECT: this line matches any address" in said, said
    assert "diverts-mail" in said  # the name to accept it by
    assert snapshot(cdir) == before
    mark = bench.instance.log_mark()
    assert bench.dialogue(rcpt_to="admin@box.example.com").rcpt.code in (250, 450)
    assert "redirect:" not in bench.instance.log_text()[mark:]
    # Accepted by name: in force, and the real smtpd redirects an outsider's ordinary message.
    assert (
        cli.main(["apply", str(prof), "--accept-risk", "diverts-mail", *dirs]) == exitcodes.CHANGED
    )
    capsys.readouterr()
    assert cli.main(["check", *dirs]) != exitcodes.OK
    assert "REDIRECT: this line matches any address" in "".join(capsys.readouterr())
    mark = bench.instance.log_mark()
    bench.dialogue(mail_from="friend@example.com", rcpt_to="admin@box.example.com")
    deadline = time.monotonic() + 10
    while "redirect: RCPT from" not in bench.instance.log_text()[mark:]:
        assert time.monotonic() < deadline, bench.instance.log_text()[mark:]
        time.sleep(0.05)
    assert THIEF in bench.instance.log_text()[mark:]
