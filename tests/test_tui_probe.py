"""The live probe screen: from Done (p), sample addresses, each reply, refusals explained,
what could not be shown (no XCLIENT); Esc back to Done."""

from __future__ import annotations

import time

from pfwizard import live_probe
from pfwizard.screens.done import DoneScreen
from pfwizard.screens.probe import ProbeScreen
from pfwizard.wizard.state import ProbeSample
from tests.test_live_probe import fake_smtp  # noqa: F401  (the fixture)
from tests.tui_app import SIZE, make_app


async def test_probe_from_done_explains_the_refusal(tmp_path, fake_smtp, monkeypatch):  # noqa: F811
    monkeypatch.setattr(live_probe, "smtp_listen_address", lambda cdir: ("127.0.0.1", fake_smtp))
    app = make_app(tmp_path, start="done")
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, DoneScreen)
        await pilot.press("f5")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ProbeScreen)
        assert screen.written == []  # no sample yet: nothing run
        await pilot.press(*"x@nowhere.example", "tab", *"admin@box.example.com", "enter")
        end = time.monotonic() + 30
        while screen.last is None and time.monotonic() < end:
            await pilot.pause(0.05)
        shown = "\n".join(screen.written)
        assert "RCPT TO:<admin@box.example.com>  deferred: 450 4.1.8" in shown
        assert "Why admin@box.example.com was refused:" in shown
        assert "smtpd_sender_restrictions / reject_unknown_sender_domain" in shown
        assert "not shown: what an outside client sees" in shown
        assert app.state.probe_sample == ProbeSample(
            "x@nowhere.example", ("admin@box.example.com",)
        )
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
