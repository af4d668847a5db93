"""`pfwizard --answers FILE`: the answers file reaches the wizard from the command line, and a
bad one is refused before anything runs (exit 2, naming the file), with nothing written."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from pfwizard import cli, exitcodes
from pfwizard.commands import wizard
from pfwizard.wizard.answers import Answer
from tests.tui_app import make_session


def test_the_option_is_parsed_with_or_without_a_command_after_it(tmp_path):
    args = cli.build_parser().parse_args(["--answers", "a.json"])
    assert args.answers == "a.json"
    assert cli.selected_command(["--answers", "a.json"]) is None


def test_the_answers_reach_the_app(tmp_path, monkeypatch):
    session = make_session(tmp_path, "main.cf.v75-fresh")
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"welcome": {"action": "recipes"}, "done": {"action": "stay"}}))
    seen = {}

    from pfwizard.tui.app import PfwizardApp

    def run(app):
        seen["answers"] = dict(app.answers)
        return 0

    monkeypatch.setattr(PfwizardApp, "run", run)
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    args = argparse.Namespace(
        config_dir=str(session.config_dir), state_dir=str(session.state_dir), answers=str(answers)
    )
    assert wizard.run(args) == 0
    assert seen["answers"]["welcome"] == Answer(action="recipes")
    assert set(seen["answers"]) == {"welcome", "done"}


def test_a_bad_answers_file_is_exit_2_naming_it(tmp_path):
    session = make_session(tmp_path, "main.cf.v75-fresh")
    bad = tmp_path / "decided.json"
    cases = {
        "{not json": "not JSON",
        json.dumps({"nowhere": {"action": "next"}}): "screens the wizard does not have: nowhere",
    }
    for text, said in cases.items():
        bad.write_text(text)
        res = subprocess.run(
            [
                sys.executable,
                "-m",
                "pfwizard",
                "--config-dir",
                str(session.config_dir),
                "--state-dir",
                str(tmp_path / "fresh-state"),
                "--answers",
                str(bad),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert res.returncode == exitcodes.ERROR, res
        assert str(bad) in res.stderr and said in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
    assert not (tmp_path / "fresh-state").exists()  # nothing written


def test_an_answer_pfwizard_refuses_ends_the_wizard_with_exit_2_not_0(tmp_path):
    """An answers file whose op is refused mid-way (a "table" that is main.cf) ends the
    wizard with an error exit, and nothing is written."""
    import pexpect

    session = make_session(tmp_path, "main.cf.v75-fresh")
    main_cf = session.config_dir / "main.cf"
    before = main_cf.read_bytes()
    answers = tmp_path / "answers.json"
    op = {"table": str(main_cf), "content": "mynetworks = 0.0.0.0/0\n", "type": "texthash"}
    answers.write_text(
        json.dumps({"welcome": {"action": "next"}, "helo": {"ops": [op], "action": "next"}})
    )
    child = pexpect.spawn(
        sys.executable,
        [
            "-m",
            "pfwizard",
            "--config-dir",
            str(session.config_dir),
            "--state-dir",
            str(session.state_dir),
            "--no-reload",
            "--answers",
            str(answers),
        ],
        dimensions=(24, 80),
        env={**os.environ, "TERM": "xterm-256color"},
        encoding="utf-8",
        timeout=60,
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == exitcodes.ERROR, child.before[-500:]
    said = " ".join(child.before.split())
    assert f"pfwizard: {answers}: the HELO screen:" in said and "as a lookup table" in said
    assert "nothing was written" in said
    assert "Traceback" not in said  # one line, not Textual's report of a crash
    assert main_cf.read_bytes() == before
