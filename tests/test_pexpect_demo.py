"""`pfwizard demo` from the installed console script: the wizard on a temporary copy of the
bundled v75 config, the system's Postfix untouched; `--print` still prints."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from pfwizard.engine import Engine
from tests.pty_driver import Terminal, pfwizard_script

pytestmark = pytest.mark.skipif(
    pfwizard_script() is None, reason="the pfwizard console script is not installed"
)


def test_demo_print():
    out = subprocess.run(
        [pfwizard_script(), "demo", "--print"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "smtpd_sender_restrictions:" in out and "reject_unknown_sender_domain" in out


def test_demo_without_a_terminal_says_so():
    res = subprocess.run(
        [pfwizard_script(), "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 2 and "needs a terminal" in res.stderr


@pytest.mark.parametrize("term", ["xterm-256color", "linux"])
def test_demo_opens_the_wizard_and_applies_to_the_copy_only(term):
    system_main = Path("/etc/postfix/main.cf")
    before = system_main.read_bytes() if system_main.exists() else None
    t = Terminal(["demo"], term=term)
    try:
        screen = t.wait_for("pfwizard demo", "Postfix is never touched")
        root = re.search(
            r"temporary copy in\s+(/tmp/pfwizard-demo-\w+)",
            screen.replace("\n", " ").replace("│", " "),
        )
        assert root, screen
        # The bundled sample log: the Welcome starts from the box's recent rejects.
        t.wait_for(
            "9 x Sender address rejected: Domain not found",
            "Enter opens: recipe 'accept senders whose domain",
        )
        t.press("n", "n")
        t.wait_for("Checks on MAIL FROM")
        t.press("J")  # reject_non_fqdn_sender below reject_unknown_sender_domain
        t.wait_for("1. reject_unknown_sender_domain")
        t.press("n", "n", "n")
        t.wait_for("no reload (demo)")
        t.press("w")
        t.wait_for("Apply now?", "Nothing is reloaded")
        t.press("y")
        t.wait_for("Applied (journal entry", timeout=90)
        t.press("n")
        t.wait_for("written to the demo copy; nothing was reloaded")
        # Checked while the wizard is open: the copy goes when it ends.
        etc = Path(root.group(1)) / "etc"
        assert (
            "smtpd_sender_restrictions = reject_unknown_sender_domain,reject_non_fqdn_sender"
            in (etc / "main.cf").read_text()
        )
        entries = Engine(etc, etc.parent / "state").history()
        assert [e.outcome for e in entries] == ["applied"]
        assert not any(
            s.get("step") == "reload" and s.get("status") == "ok" for s in entries[0].steps
        )
        t.press("q")
        assert t.finish() == 0
    finally:
        t.kill()
    assert not Path(root.group(1)).exists()  # the temporary copy is removed on exit
    after = system_main.read_bytes() if system_main.exists() else None
    assert after == before


def test_ctrl_c_ends_the_demo_and_removes_its_copy():
    t = Terminal(["demo"], term="linux")
    try:
        screen = t.wait_for("pfwizard demo", "Postfix is never touched")
        root = re.search(
            r"temporary copy in\s+(/tmp/pfwizard-demo-\w+)",
            screen.replace("\n", " ").replace("│", " "),
        )
        assert root and Path(root.group(1)).is_dir(), screen
        t.press("\x03")  # nothing edited: ctrl+c quits without a question
        assert t.finish() == 0
    finally:
        t.kill()
    assert not Path(root.group(1)).exists()
