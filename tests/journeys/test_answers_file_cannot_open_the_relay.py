"""Journey, from the attacker's side: an answers file (``pfwizard --answers FILE``, the way a
fleet drives the wizard without a person at the keys) that tries to open the relay, by
mynetworks or by a permit at the top of the relay list, and accepts the danger by name. The
installed ``pfwizard`` in a pty stops it on the Recipient stage or refuses it at Review;
main.cf and the tables are unchanged, and the bench's real smtpd still refuses to relay for
an outside client."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from tests.conftest import needs_bench
from tests.pty_driver import Terminal, pfwizard_script
from tests.test_engine_support import snapshot
from tests.test_gate_every_path import relay_refused

NEXT = {"action": "next"}
ACCEPT = {"accept": "open-relay"}
WIDE_OPEN = {"set": "mynetworks", "value": "0.0.0.0/0"}
PERMIT_FIRST = {"insert": "permit", "param": "smtpd_relay_restrictions", "index": 0}

ROUTES = {
    # Straight through the stage that shows the relay lists: it will not go on.
    "mynetworks on the Recipient stage": (
        {"recipient": {"ops": [WIDE_OPEN, ACCEPT], "action": "next"}},
        "cannot go on: open relay",
    ),
    # Past that stage first, then the edit, then Apply: Review refuses.
    "mynetworks after the Recipient stage": (
        {"recipient": NEXT, "milter": {"ops": [WIDE_OPEN, ACCEPT], "action": "next"}},
        "refusing to apply: open",
    ),
    "permit at the top of the relay list": (
        {"recipient": NEXT, "milter": {"ops": [PERMIT_FIRST, ACCEPT], "action": "next"}},
        "refusing to apply: open",
    ),
}


@needs_bench
@pytest.mark.parametrize("route", list(ROUTES))
def test_an_answers_file_cannot_open_the_relay(bench, tmp_path, route):
    assert pfwizard_script(), "the pfwizard console script is not installed"
    bench.configure_miab("main.cf.v75-fresh")
    relay_refused(bench)
    cdir = bench.config_dir
    before = snapshot(cdir)
    screens, refusal = ROUTES[route]
    answers = {
        "welcome": NEXT,
        "helo": NEXT,
        "sender": NEXT,
        **screens,
        "review": {"action": "apply"},
    }
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    state = Path(tempfile.mkdtemp(prefix="pfwizard-journey-state-"))
    t = Terminal(["--config-dir", str(cdir), "--state-dir", str(state), "--answers", str(path)])
    try:
        t.wait_for(refusal, timeout=60)
        t.press("q")
        t.wait_for("Quit without applying?")
        t.press("y")
        assert t.finish() == 0
    finally:
        t.kill()
        journal = state / "journal"
        applied = sorted(journal.iterdir()) if journal.exists() else []
        shutil.rmtree(state, ignore_errors=True)
    assert snapshot(cdir) == before
    assert applied == []
    relay_refused(bench)
