"""Journey: start from the reject. Cisco ESA reporters are refused on the bench (450 4.1.8
Domain not found); the admin opens the installed ``pfwizard`` at 80x24 with ``TERM=linux``,
keys only; its first screen lists the bench log's recent rejects by cause, the ESA group on
top; Tab and Enter open the matching recipe, the allowlist learned from those senders already
filled in; F2, Review, Apply. The bench smtpd then answers 250 for the ESA senders and still
450 for a look-alike."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pfwizard.engine import Engine
from tests.conftest import needs_bench
from tests.pty_driver import Terminal, pfwizard_script

ESA_SENDERS = [
    "MAILER-DAEMON@esa1.hc1234-5.iphmx.com",
    "MAILER-DAEMON@esa2.hc1234-5.iphmx.com",
    "MAILER-DAEMON@esa3.hc77-12.ap.iphmx.com",
]
LOOKALIKE = "MAILER-DAEMON@esa1.iphmx.com.attacker.example"
RCPT = "dmarc@box.example.com"


def rcpt_code(bench, sender: str, helo: str = "esa1.hc1234-5.iphmx.com") -> int:
    return bench.dialogue(helo=helo, mail_from=sender, rcpt_to=RCPT).rcpt.code


def bench_log(bench, mark: int, n: int, path: Path) -> Path:
    """The bench's mail log since ``mark`` once its ``n`` rejects are in (postlogd writes
    asynchronously)."""
    deadline = time.monotonic() + 10
    while len(bench.noqueue_since(mark)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    path.write_text(bench.instance.log_text()[mark:])
    return path


@needs_bench
def test_welcome_lists_the_esa_rejects_and_their_recipe_goes_in(bench, tmp_path):
    assert pfwizard_script(), "the pfwizard console script is not installed"
    bench.configure_miab("main.cf.v75-fresh")
    cdir = bench.config_dir
    state = Path(tempfile.mkdtemp(prefix="pfwizard-journey-state-"))
    mark = bench.instance.log_mark()
    # Each ESA sender twice (reporters retry), and a spammer refused for the same reason,
    # whom the learned allowlist must leave out.
    codes = [rcpt_code(bench, s) for s in ESA_SENDERS * 2]
    assert codes == [450] * 6
    assert rcpt_code(bench, "spam@bulk.example", helo="bulk.example") == 450
    log = bench_log(bench, mark, 7, tmp_path / "mail.log")
    assert "Domain not found" in log.read_text()

    main_before = (cdir / "main.cf").read_text()
    t = Terminal(
        ["--config-dir", str(cdir), "--state-dir", str(state), "--mail-log", str(log)], term="linux"
    )
    try:
        t.wait_for(
            "7 x Sender address rejected: Domain not found", "Enter opens: recipe", timeout=60
        )
        t.press("\t")  # to the list of rejects; the ESA group is the first
        t.press("\r")
        screen = t.wait_for("Filled in from the mail log", "placement before-unknown")
        assert "iphmx" in screen and "risk (caution)" in screen
        assert "left out (another domain): spam@bulk.example" in screen.replace("\n│", " ")
        t.press("f2")  # use the recipe: into the sender list and its table, then Review
        t.wait_for("+smtpd_sender_restrictions", "+/^MAILER-DAEMON@")
        assert (cdir / "main.cf").read_text() == main_before  # reviewed, not written
        t.press("w")  # Apply asks first
        t.wait_for("Apply now?")
        t.press("y")
        t.wait_for("Applied (journal entry", timeout=90)
        t.press("n")
        # Done opens the live probe with the recipe's sample: the ESA sender, accepted.
        # (the end of its transcript: the log scrolls to it)
        t.wait_for("RCPT TO:<dmarc@box.example.com>", "250 2.1.5 Ok", "QUIT", timeout=60)
        t.press("\x1b")
        t.wait_for("OK: the change is in force")
        t.press("q")
        assert t.finish() == 0
    finally:
        t.kill()

    [entry] = Engine(cdir, state).history()
    assert entry.outcome == "applied"
    table = (cdir / "pfwizard" / "unresolved_sender_allowlist").read_text()
    assert "iphmx" in table and "bulk" not in table and "/i" not in table
    assert [rcpt_code(bench, s) for s in ESA_SENDERS] == [250, 250, 250]
    assert rcpt_code(bench, LOOKALIKE) == 450
    assert rcpt_code(bench, "spam@bulk.example", helo="bulk.example") == 450
