"""The recipes screen: pick, fill, see each placement's risk, pre-fill the session, Review;
recipe 1 (seed 000) end to end on the bench: RCPT 450 before, 250 after, probed live."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.done import DoneScreen
from pfwizard.screens.probe import ProbeScreen
from pfwizard.screens.recipes import RecipesScreen
from pfwizard.screens.review import ReviewScreen
from pfwizard.screens.welcome import WelcomeScreen
from pfwizard.tui.diffview import WRAP_MARK
from tests.bench.smtp import OUTSIDE
from tests.conftest import needs_bench
from tests.tui_app import SIZE, TestApp, make_app

SENDER = "smtpd_sender_restrictions"
CISCO = "MAILER-DAEMON@esa4.commscope.iphmx.com"


def preview(app) -> str:
    return str(app.screen.query_one("#recipe-text").render())


async def open_recipe(pilot, index: int) -> None:
    from textual.widgets import OptionList

    await pilot.pause()
    pilot.app.screen.query_one(OptionList).highlighted = index
    await pilot.press("enter")
    await pilot.pause()


async def test_recipe1_form_placements_and_prefill(tmp_path):
    app = make_app(tmp_path, start="welcome")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, RecipesScreen)
        await open_recipe(pilot, 0)
        text = preview(app)
        assert "* placement before-unknown" in text and "risk (caution)" in text
        assert "placement after-rhsbl" in text and "DBL" in text
        await pilot.press("f4")
        await pilot.pause()
        assert "* placement after-rhsbl" in preview(app)
        assert app.session.changed is False  # nothing taken over before F2
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        chain = app.session.value(SENDER) or ""
        assert "reject_rhsbl_sender" in chain.split("check_sender_access")[0]
        [table] = app.session.tables
        assert "iphmx" in app.session.tables[table].content
        assert app.state.probe_sample is not None
        assert app.state.probe_sample.sender == CISCO
        assert "+smtpd_sender_restrictions" in str(app.screen.query_one("#diff").render()).replace(
            " ", ""
        )


async def test_recipe_refusal_is_shown_and_back_returns(tmp_path):
    app = make_app(tmp_path, start="recipes")
    async with app.run_test(size=SIZE) as pilot:
        await open_recipe(pilot, 4)  # forged local senders: no addresses given yet
        assert "Cannot propose this" in preview(app)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, RecipesScreen)
        app.screen.set_input("addresses", "alice@box.example.com\nbob@box.example.com")
        await pilot.pause()
        assert "header_checks" in preview(app)
        await pilot.press("escape")  # typed addresses: it asks before dropping them
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # keep editing
        await pilot.pause()
        assert app.screen.inputs()["addresses"].startswith("alice@")
        await pilot.press("escape", "y")  # discard: leaves the form
        await pilot.press("escape")  # nothing typed now: leaves the screen
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


async def test_recipe5_authclean_goes_to_review_as_a_master_cf_diff(tmp_path):
    """Placement authclean: the master.cf edit is part of the change (no "by hand" step);
    Review's diff shows it, and Undo takes it back with the rest."""
    app = make_app(tmp_path, start="recipes")
    async with app.run_test(size=SIZE) as pilot:
        await open_recipe(pilot, 4)
        app.screen.set_input("addresses", "mick@box.example.com")
        await pilot.press("f4")
        await pilot.pause()
        text = preview(app)
        assert "* placement authclean" in text and "pfwizard restore" in text
        table = f"pcre:{app.session.config_dir}/pfwizard/forged_local_senders"
        want = f"pcre:/etc/postfix/outgoing_mail_header_filters,{table}"
        assert f"master.cf authclean/unix: -o header_checks={want}" in text.replace("\n", "")
        assert "by hand" not in text
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        assert app.session.master_edits == {"authclean/unix/header_checks": want}
        shown = str(app.screen.query_one("#diff").render())
        # A long path wraps; its continuation rows start with the wrap mark.
        assert f"{app.session.config_dir}/master.cf" in shown.replace(f"\n{WRAP_MARK}  ", "")
        assert any(f.role == "master.cf" for f in app.screen.plan.files)
        assert f"  -o header_checks={want}" in app.screen.plan.unified_diff()
        # Kept as intent, so pfwizard restore puts it back after a MiaB upgrade.
        assert app.session.master_before == {
            "authclean/unix/header_checks": "pcre:/etc/postfix/outgoing_mail_header_filters"
        }
        saved = app.session.record_intent().read_text()
        assert "authclean/unix/header_checks" in saved and table in saved


async def test_chain_stage_opens_recipes(tmp_path):
    app = make_app(tmp_path, start="sender")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, RecipesScreen)


async def wait_for(pilot, cond, timeout=90.0):
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        await pilot.pause(0.1)
    assert cond()


@needs_bench
async def test_recipe1_seed000_end_to_end_on_the_bench(bench, monkeypatch):
    from pfwizard.session import Session

    bench.configure_miab("main.cf.v75-fresh")
    before = bench.dialogue(
        helo="esa4.commscope.iphmx.com",
        mail_from=CISCO,
        rcpt_to="dmarc@box.example.com",
        source=OUTSIDE,
    )
    assert before.rcpt.code == 450, before.replies
    state = Path(tempfile.mkdtemp(prefix="pfwizard-tui-state-"))
    session = Session.open(bench.config_dir, state, miab_checkout=state / "none")
    monkeypatch.setattr(ProbeScreen, "source", OUTSIDE)
    app = TestApp(session, start="recipes")
    async with app.run_test(size=SIZE) as pilot:
        await open_recipe(pilot, 0)
        app.screen.set_input("rcpt", "dmarc@box.example.com")
        await pilot.pause()
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("w", "y")
        await pilot.pause()
        apply = app.screen
        await wait_for(pilot, lambda: apply.finished)
        assert app.state.outcome.ok, apply.written
        await pilot.press("n")
        await pilot.pause()
        # Done opens the live probe with the recipe's sample addresses.
        await wait_for(
            pilot,
            lambda: isinstance(app.screen, ProbeScreen) and app.screen.last is not None,
            timeout=60,
        )
        probe = app.screen
        [verdict] = probe.last.result.verdicts
        assert verdict.code == 250, probe.written
        shown = "\n".join(probe.written)
        assert "accepted: 250" in shown
        assert "not shown: what an outside client sees" in shown  # no XCLIENT on the bench
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
    after = bench.dialogue(
        helo="esa4.commscope.iphmx.com",
        mail_from=CISCO,
        rcpt_to="dmarc@box.example.com",
        source=OUTSIDE,
    )
    assert after.rcpt.code == 250, after.replies


async def test_recipe2_own_domains_placement_and_prefill(tmp_path):
    app = make_app(tmp_path, start="recipes")
    async with app.run_test(size=SIZE) as pilot:
        await open_recipe(pilot, 1)
        app.screen.set_input("domains", "box.example.com example.net")
        await pilot.pause()
        text = preview(app)
        assert "* placement recipient" in text and "placement sender" in text
        await pilot.press("f4")
        await pilot.pause()
        assert "* placement sender" in preview(app)
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        sender = app.session.value(SENDER) or ""
        assert "check_sender_access" in sender and "permit_sasl_authenticated" in sender
        [table] = app.session.tables
        assert "example.net" in app.session.tables[table].content


async def test_recipes_3_and_4_propose_on_miab_v75(tmp_path):
    app = make_app(tmp_path, start="recipes")
    async with app.run_test(size=SIZE) as pilot:
        await open_recipe(pilot, 2)
        assert "Cannot propose" not in preview(app) and "smtpd_helo" in preview(app)
        await pilot.press("escape")
        await pilot.pause()
        await open_recipe(pilot, 3)
        text = preview(app)
        assert "Cannot propose" not in text and "milter_default_action" in text
        await pilot.press("f4")
        await pilot.pause()
        assert "* placement" in preview(app)
