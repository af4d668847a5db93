"""Review's impact preview (key I): runs in a worker, shows the report under the diff, is
refused where it cannot run, and is stopped when the screen goes away."""

from __future__ import annotations

import threading

from pfwizard.screens import impact
from tests.test_tui_snapshots import seed_change
from tests.tui_app import SIZE, make_app


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_i_shows_the_report_under_the_diff(tmp_path, monkeypatch):
    seen = {}

    def fake_run(session, plan, progress, stop):
        seen["plan"], seen["stop"] = plan, stop
        progress("Replaying 3 envelopes on two private copies of Postfix: 50%")
        return ["newly rejected: 0", "newly accepted: 116 (all MAILER-DAEMON@esa...iphmx.com)"]

    monkeypatch.setattr(impact, "unavailable", lambda session: None)
    monkeypatch.setattr(impact, "run", fake_run)
    app = make_app(tmp_path, start="review")
    seed_change(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("I")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "newly accepted: 116" in text_of(app, "#impact")
        assert seen["plan"] is app.screen.plan and not seen["stop"].is_set()
        assert app.screen.impact_stop is None


async def test_i_says_why_it_cannot_run(tmp_path, monkeypatch):
    called = []
    monkeypatch.setattr(impact, "run", lambda *a: called.append(a) or [])
    app = make_app(tmp_path, start="review")
    seed_change(app)
    app.session.demo = True  # the demo's bundled configuration has no mail log to read
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("I")
        await pilot.pause()
        assert not called and not app.screen.query("#impact")
        assert app.screen.impact_stop is None


async def test_leaving_review_stops_a_running_preview(tmp_path, monkeypatch):
    started, stopped = threading.Event(), threading.Event()

    def slow_run(session, plan, progress, stop):
        started.set()
        stop.wait(10)
        stopped.set()
        return ["late"]

    monkeypatch.setattr(impact, "unavailable", lambda session: None)
    monkeypatch.setattr(impact, "run", slow_run)
    app = make_app(tmp_path, start="review")
    seed_change(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("I")
        assert started.wait(5)
        await pilot.press("b")
        await pilot.pause()
        assert stopped.wait(5)


async def test_i_on_the_restore_review_replays_what_the_restore_writes(tmp_path, monkeypatch):
    """After an upgrade: "will putting my customisations back change my mail?" The preview
    gets the restore's own engine plan (the diff on screen), not the wizard's (None there)."""
    from tests.test_tui_snapshots_tuix import upgraded_app

    seen = {}

    def fake_run(session, plan, progress, stop):
        seen["plan"] = plan
        return ["newly rejected: 3"]

    monkeypatch.setattr(impact, "unavailable", lambda session: None)
    monkeypatch.setattr(impact, "run", fake_run)
    app = upgraded_app(tmp_path, "restore")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")  # the restore's diff
        await pilot.pause()
        assert app.screen.STEP_ID == "restore_review"
        await pilot.press("I")
        await app.workers.wait_for_complete()
        await pilot.pause()
        plan = seen["plan"]
        assert plan is app.state.restore.request.prepared.plan and not plan.is_empty
        main_cf = next(f for f in plan.files if f.path.name == "main.cf")
        assert "own_domains" in main_cf.diff  # the customisation the upgrade removed
        assert "newly rejected: 3" in text_of(app, "#impact")
