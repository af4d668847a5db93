"""Journey (seed 000): the admin pastes the forum's allowlist line into the table editor and
is told, before anything is written, that it lets in more than it names, with an address it
lets through; the lookup tester confirms it; the admin asks pfwizard to learn an allowlist from
the real rejects instead, types that, applies it; the real smtpd then answers 250 for the Cisco
ESA reporters and still 450 for the look-alike ``x@notesa.iphmx.com.attacker.net``.

All through the installed ``pfwizard``: ``explain --propose-allowlist`` as a command, the
wizard in a pty at 80x24 with plain keys."""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from pathlib import Path

from pfwizard.engine import Engine
from tests.conftest import needs_bench
from tests.pty_driver import Terminal, pfwizard_script

# The forum's line, exactly as seed 000 has it.
SEED_LINE = r"/esa[0-9]*\.?[acehimnops0-9]*[-]?[0-9]*\.?[acps23]*\.iphmx\.com/i PERMIT"
ESA_SENDERS = [
    "MAILER-DAEMON@esa4.commscope.iphmx.com",
    "MAILER-DAEMON@esa2.hc681-85.ap.iphmx.com",
    "MAILER-DAEMON@esa.hc3512-62.iphmx.com",
]
LOOKALIKE = "x@notesa.iphmx.com.attacker.net"
RCPT = "dmarc@box.example.com"
F3 = {"xterm-256color": "\x1bOR", "linux": "\x1b[[C"}
F7 = "\x1b[18~"  # the same on both terminals


def rcpt_code(bench, sender: str) -> int:
    return bench.dialogue(helo="esa4.commscope.iphmx.com", mail_from=sender, rcpt_to=RCPT).rcpt.code


def rejects_log(bench, mark: int, n: int, path: Path) -> Path:
    """The bench's mail log since ``mark``, once its ``n`` rejects are in (postlogd writes
    asynchronously)."""
    deadline = time.monotonic() + 10
    while len(bench.noqueue_since(mark)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    path.write_text(bench.instance.log_text()[mark:])
    return path


@needs_bench
def test_the_wide_line_is_caught_and_the_learned_allowlist_goes_in(bench, tmp_path):
    script = pfwizard_script()
    assert script, "the pfwizard console script is not installed"
    bench.configure_miab("main.cf.v75-fresh")
    cdir = bench.config_dir
    state = Path(tempfile.mkdtemp(prefix="pfwizard-journey-state-"))
    assert rcpt_code(bench, LOOKALIKE) == 450
    mark = bench.instance.log_mark()
    assert [rcpt_code(bench, s) for s in ESA_SENDERS] == [450, 450, 450]

    # The admin asks pfwizard what the rejects are and what would let them in.
    log = rejects_log(bench, mark, len(ESA_SENDERS), tmp_path / "mail.log")
    explained = subprocess.run(
        [script, "--config-dir", str(cdir), "explain", "--log", str(log), "--propose-allowlist"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Proposed entry:" in explained.stdout, explained.stdout + explained.stderr
    learned = re.search(r"Proposed entry:\s+(\S+ PERMIT)", explained.stdout)
    assert learned, explained.stdout
    learned_line = learned.group(1)
    assert learned_line.startswith("/^") and "$/ PERMIT" in learned_line

    main_before = (cdir / "main.cf").read_text()
    t = Terminal(["--config-dir", str(cdir), "--state-dir", str(state)])
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
        t.press("\r")  # the suggested regexp table in pfwizard's own directory
        t.wait_for("lookup tester")

        # The forum's line, typed: the editor's check says DANGER and shows who gets in.
        t.type(SEED_LINE)
        screen = t.wait_for("X DANGER unanchored-end", "esa.iphmx.com.attacker.example")
        assert "PERMIT" in screen
        # The admin tries the look-alike in the lookup tester: the line lets it in.
        t.press(F3[t.term])
        t.type(LOOKALIKE)
        t.press("\r")
        t.wait_for(f"postmap -q {LOOKALIKE}: PERMIT")

        # The learned allowlist instead.
        t.press("\x1b[Z")  # shift+tab: back to the table
        t.press(F7, "\x7f")  # select all, delete
        t.type(learned_line)
        t.wait_for("CAUTION forgeable-allow")  # the new line is checked: no danger
        t.press(F3[t.term])
        time.sleep(0.5)
        t.press("\r")  # the same look-alike, asked again
        screen = t.wait_for(f"postmap -q {LOOKALIKE}: (not found)", "CAUTION forgeable-allow")
        assert "DANGER" not in screen, screen
        t.press("f2")
        t.wait_for("2. check_sender_access", "3. reject_unknown_sender_domain")
        t.press("n")
        t.wait_for("Checks on RCPT TO")
        t.press("n")
        t.wait_for("Milter sockets")
        t.press("n")
        t.wait_for("+smtpd_sender_restrictions", "+/^MAILER-DAEMON@")
        assert (cdir / "main.cf").read_text() == main_before  # reviewed, not written
        t.press("w")  # Apply asks first
        t.wait_for("Apply now?")
        t.press("y")
        t.wait_for("Applied (journal entry", timeout=90)
        t.press("n")
        t.wait_for("OK: the change is in force")
        t.press("q")
        assert t.finish() == 0
    finally:
        t.kill()

    assert (cdir / "pfwizard" / "sender_access").read_text() == learned_line + "\n"
    assert [e.outcome for e in Engine(cdir, state).history()] == ["applied"]
    assert [rcpt_code(bench, s) for s in ESA_SENDERS] == [250, 250, 250]
    assert rcpt_code(bench, LOOKALIKE) == 450
