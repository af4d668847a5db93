"""`pfwizard rollback` with no flag on a terminal opens the wizard's rollback screen (the
installed console script in a real pty, 80x24, plain keys); without a terminal it lists."""

from __future__ import annotations

import subprocess

import pytest

from pfwizard.session import Session
from tests.conftest import needs_postfix
from tests.miab_setup import box
from tests.pty_driver import Terminal, pfwizard_script

pytestmark = pytest.mark.skipif(
    pfwizard_script() is None, reason="the pfwizard console script is not installed"
)


@needs_postfix
@pytest.mark.parametrize("term", ["xterm-256color", "linux"])
def test_rollback_on_a_terminal_restores_an_entry(tmp_path, term):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    main = config_dir / "main.cf"
    before = main.read_bytes()
    s = Session.open(config_dir, state_dir, reload=False)
    s.set_value("smtpd_helo_required", "yes")
    engine = s.engine()
    assert engine.apply(engine.plan(s.changeset())).ok
    args = ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload"]

    listed = subprocess.run(
        [pfwizard_script(), *args, "rollback"], capture_output=True, text=True, timeout=60
    )  # no terminal: the plain list
    assert listed.returncode == 0 and "apply" in listed.stdout

    t = Terminal([*args, "rollback"], term=term)
    try:
        t.wait_for("+smtpd_helo_required = yes", "Restore")
        t.press("\r")
        t.wait_for("Restore the configuration from before entry")
        t.press("y")
        t.wait_for("rollback")  # the new journal entry is listed
        t.press("q")
        t.finish()
    finally:
        t.kill()
    assert main.read_bytes() == before
    assert [
        e.kind for e in Session.open(config_dir, state_dir, reload=False).engine().history()
    ] == ["apply", "rollback"]
