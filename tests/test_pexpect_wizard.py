"""The installed ``pfwizard`` in a real pty at 80x24 (TERM=xterm-256color and TERM=linux),
plain keys only: seed 000's change made, reviewed and applied on the bench's real Postfix;
and an open relay stopped before anything is written."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from pfwizard.engine import Engine
from tests.conftest import needs_bench
from tests.pty_driver import Terminal, pfwizard_script

pytestmark = pytest.mark.skipif(
    pfwizard_script() is None, reason="the pfwizard console script is not installed"
)

# The learned allowlist's line for the ESA reporters (the seed's own wide line is the
# journey in tests/journeys/test_seed000_journey.py).
SEED_PATTERN = r"/^MAILER-DAEMON@esa[0-9]*\.([a-z0-9-]+\.){1,2}iphmx\.com$/ PERMIT"
SENDER = "MAILER-DAEMON@esa4.commscope.iphmx.com"
TERMS = ["xterm-256color", "linux"]


@needs_bench
@pytest.mark.parametrize("term", TERMS)
def test_seed000_session_on_the_bench(bench, term):
    bench.configure_miab("main.cf.v75-fresh")
    before = bench.dialogue(
        helo="esa4.commscope.iphmx.com", mail_from=SENDER, rcpt_to="dmarc@box.example.com"
    )
    assert before.rcpt.code == 450, before.replies
    cdir = bench.config_dir
    main_before = (cdir / "main.cf").read_text()
    state = Path(tempfile.mkdtemp(prefix="pfwizard-pty-state-"))
    t = Terminal(["--config-dir", str(cdir), "--state-dir", str(state)], term=term)
    try:
        t.wait_for("nothing has been written yet", "Start")
        t.press("n")
        t.wait_for("HELO")
        t.press("n")
        t.wait_for("Checks on MAIL FROM", "reject_unknown_sender_domain")
        t.press("j", "a")  # add before entry 2, reject_unknown_sender_domain
        t.wait_for("Add to the sender list")
        t.type("check_sender_access")
        t.press("\r")
        t.wait_for("pfwizard/sender_access")
        t.press("\r")  # keep the suggested regexp table in pfwizard's own directory
        t.wait_for("lookup tester")
        t.type(SEED_PATTERN)
        t.press("f2")
        t.wait_for("2. check_sender_access", "3. reject_unknown_sender_domain")
        t.press("n")
        t.wait_for("Checks on RCPT TO")
        t.press("n")
        t.wait_for("Milter sockets")
        t.press("n")
        screen = t.wait_for("+smtpd_sender_restrictions", "+/^MAILER-DAEMON@esa[0-9]*")
        assert "nothing has been written yet" in screen.lower() or "Nothing written" in screen
        assert (cdir / "main.cf").read_text() == main_before  # reviewed, not written
        t.press("w")
        t.wait_for("Apply now?")
        t.press("y")
        t.wait_for("Applied (journal entry", timeout=90)
        t.press("n")
        t.wait_for("OK: the change is in force")
        t.press("q")
        assert t.finish() == 0
    finally:
        t.kill()

    table = cdir / "pfwizard" / "sender_access"
    assert table.read_text() == SEED_PATTERN + "\n"
    main_after = (cdir / "main.cf").read_text()
    assert f"check_sender_access regexp:{table},reject_unknown_sender_domain" in main_after
    entries = Engine(cdir, state).history()
    assert [e.outcome for e in entries] == ["applied"]
    assert entries[0].intent and entries[0].intent["wizard"][0]["op"] == "insert"
    assert "check_sender_access" in (state / "customizations.yaml").read_text()
    after = bench.dialogue(
        helo="esa4.commscope.iphmx.com", mail_from=SENDER, rcpt_to="dmarc@box.example.com"
    )
    assert after.rcpt.code == 250, after.replies


@pytest.mark.parametrize("term", TERMS)
def test_open_relay_is_stopped(tmp_path, term):
    from tests.tui_app import make_config

    etc = make_config(tmp_path)
    main_before = (etc / "main.cf").read_bytes()
    t = Terminal(
        ["--config-dir", str(etc), "--state-dir", str(tmp_path / "state"), "--no-reload"], term=term
    )
    try:
        t.wait_for("nothing has been written yet")
        t.press("n", "n", "n")
        t.wait_for("Checks on RCPT TO")
        t.press("l")  # the relay list: permit_sasl_authenticated, permit_mynetworks, reject_...
        t.wait_for("smtpd_relay_restrictions", "reject_unauth_destination")
        t.press("j", "j", "x")
        t.wait_for("X DANGER", "open relay")
        t.press("n")
        t.wait_for("cannot go on")
        t.press("q")  # edits not applied: asks first
        t.wait_for("Quit without applying?")
        t.press("y")
        assert t.finish() == 0
    finally:
        t.kill()
    assert (etc / "main.cf").read_bytes() == main_before
    assert not (tmp_path / "state" / "journal").exists() or not any(
        (tmp_path / "state" / "journal").iterdir()
    )
