"""The man page pfwizard(8) and the bash/zsh completions are made from the argparse
definitions (pfwizard.docgen): the committed files in docs/ are current, name every command and
option, render without warnings, and TAB in bash offers what the parser accepts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pfwizard import cli, docgen

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_committed_docs_are_current():
    stale = [
        rel
        for rel, text in docgen.outputs().items()
        if not (DOCS / rel).exists() or (DOCS / rel).read_text() != text
    ]
    assert not stale, f"stale: {stale}; run ./scripts/build-docs and commit docs/"


def test_the_man_page_names_every_command_and_option():
    page = (DOCS / docgen.MAN_PAGE).read_text()
    commands = docgen.model()[2]
    for cmd in commands:
        assert f".SS {cmd.name}\n" in page
        for opt in cmd.options:
            for flag in opt.flags:
                assert f"\\fB{flag.replace('-', chr(92) + '-')}\\fR" in page, flag
    for name in cli.COMMANDS:
        assert f"\\fB{name}\\fR" in page
    for section in ("NAME", "SYNOPSIS", "EXIT STATUS", "FILES", "SEE ALSO"):
        assert f".SH {section}\n" in page


@pytest.mark.skipif(shutil.which("man") is None, reason="man not installed")
def test_the_man_page_renders_without_warnings():
    r = subprocess.run(
        ["man", "--warnings", "-l", str(DOCS / docgen.MAN_PAGE)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "MANWIDTH": "80", "MANPAGER": "cat", "LANG": "C.UTF-8"},
    )
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    text = " ".join(r.stdout.split())
    assert "pfwizard - customise Postfix" in text and "--nagios" in text


def complete(line: str) -> list[str]:
    """What bash's TAB offers for ``line`` (its last word is the one being completed)."""
    words = line.split(" ")
    script = (
        f"source {DOCS / docgen.BASH_COMPLETION}\n"
        f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n_pfwizard\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    )
    r = subprocess.run(
        ["bash", "--norc", "-c", script], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.splitlines() if w]


def test_bash_completes_commands_options_and_values():
    assert complete("pfwizard ch") == ["check"]
    assert set(complete("pfwizard ")) >= set(cli.COMMANDS) | {"-c", "--config-dir"}
    assert complete("pfwizard check --n") == ["--nagios", "--no-color", "--no-reload"]
    assert complete("pfwizard -c /etc check --na") == ["--nagios"]
    assert complete("pfwizard restore --on-conflict ") == ["keep-miab", "remove-new", "skip"]
    assert complete("pfwizard -c tes") == ["tests"]  # a directory
    assert "pyproject.toml" in complete("pfwizard apply py")  # the profile is a file
    assert complete("pfwizard rollback --to ") == []  # an entry id: nothing to guess


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_completion_parses():
    r = subprocess.run(
        ["zsh", "-n", str(DOCS / docgen.ZSH_COMPLETION)], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == 0, r.stderr
    assert (DOCS / docgen.ZSH_COMPLETION).read_text().startswith("#compdef pfwizard\n")
