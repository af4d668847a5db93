"""The wizard's restore screen on a v66 box customised, then upgraded by MiaB v75's setup:
three-way view, conflicts and the policy choice, diff review, apply through the engine."""

from __future__ import annotations

import io
import time

from rich.console import Console

from pfwizard.chain import Chain, Item
from pfwizard.intent import IntentFile
from pfwizard.maincf import MainCf
from pfwizard.screens.confirm import ConfirmScreen
from pfwizard.screens.done import DoneScreen
from pfwizard.screens.restore import RestoreApplyScreen, RestoreReviewScreen, RestoreScreen
from pfwizard.screens.welcome import WelcomeScreen
from pfwizard.session import Session
from tests.conftest import needs_postfix
from tests.miab_setup import FIXTURES, box, customise, release_values, run_setup_on
from tests.tui_app import SIZE, TestApp

SENDER, RCPT = "smtpd_sender_restrictions", "smtpd_recipient_restrictions"
V75 = MainCf.read(FIXTURES / "main.cf.v75-fresh")


def upgraded(tmp_path):
    config_dir, state_dir = box(tmp_path)
    customise(config_dir, state_dir)
    run_setup_on(config_dir / "main.cf", release_values())
    return config_dir, state_dir


def app_for(config_dir, state_dir, start="restore"):
    s = Session.open(
        config_dir, state_dir, reload=False, miab_checkout=config_dir / "no-mailinabox"
    )
    return TestApp(s, start=start)


def body(app) -> str:
    console = Console(width=76, record=True, file=io.StringIO())
    console.print(app.screen.view)
    return console.export_text()


async def wait_finished(pilot, screen, timeout=60.0):
    end = time.monotonic() + timeout
    while not screen.finished and time.monotonic() < end:
        await pilot.pause(0.1)
    assert screen.finished


@needs_postfix
async def test_restore_screen_shows_three_way_and_applies(tmp_path):
    config_dir, state_dir = upgraded(tmp_path)
    app = app_for(config_dir, state_dir)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, RestoreScreen)
        text = body(app)
        assert "MiaB now" in text and "base (yours made on)" in text
        assert "customisations missing" in text
        assert "+ check_sender_access" in text  # the admin's item, re-inserted
        await pilot.press("n")
        await pilot.pause()
        review = app.screen
        assert isinstance(review, RestoreReviewScreen)
        diff = str(review.query_one("#diff").render())
        assert "+smtpd_sender_restrictions" in diff.replace(" ", "") or "check_sender" in diff
        assert (config_dir / "main.cf").read_text().count("cisco_dmarc") == 1  # commented
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert f"change {config_dir}/main.cf" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        apply = app.screen
        assert isinstance(apply, RestoreApplyScreen)
        await wait_finished(pilot, apply)
        assert app.state.outcome.ok, apply.written
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, DoneScreen)
        # --no-reload here: Done says so instead of "in force".
        done = str(app.screen.query_one("#done-body").render())
        assert "OK: written; Postfix was not reloaded" in done
    cf = MainCf.read(config_dir / "main.cf")
    want = Chain.parse(V75.get(SENDER) or "")
    want.insert_before(
        "reject_unknown_sender_domain",
        Item("check_sender_access", f"regexp:{config_dir}/pfwizard/cisco_dmarc_sender_access"),
    )
    assert Chain.parse(cf.get(SENDER) or "").items == want.items
    assert "own_domains" in (cf.get(RCPT) or "")
    # Recorded: a second look finds it in sync.
    again = app_for(config_dir, state_dir)
    async with again.run_test(size=SIZE):
        assert "In sync" in body(again)


@needs_postfix
async def test_conflict_shown_side_by_side_and_policy_needed(tmp_path):
    config_dir, state_dir = upgraded(tmp_path)
    cf = MainCf.read(config_dir / "main.cf")
    cf.set(SENDER, "reject_non_fqdn_sender,reject_authenticated_sender_login_mismatch")
    (config_dir / "main.cf").write_bytes(cf.to_bytes())
    before = (config_dir / "main.cf").read_bytes()
    app = app_for(config_dir, state_dir)
    async with app.run_test(size=SIZE) as pilot:
        text = body(app)
        assert "Conflicts (1)" in text and "anchor-gone" not in text
        assert "your customisation" in text and "not chosen" in text
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, RestoreScreen)  # blocked until a policy is chosen
        await pilot.press("o")
        await pilot.pause()
        assert "skip (apply the rest" in body(app)
        await pilot.press("o")  # again: the choice is cleared
        await pilot.pause()
        assert "not chosen" in body(app)
        await pilot.press("m")
        await pilot.pause()
        assert "keep MiaB's value" in body(app)
        await pilot.press("o")
        await pilot.pause()
        assert "skip (apply the rest" in body(app)
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, RestoreReviewScreen)
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, RestoreScreen)
    assert (config_dir / "main.cf").read_bytes() == before
    assert "cisco_dmarc" in IntentFile.for_state_dir(state_dir).path.read_text()


async def test_welcome_offers_restore_when_drift_is_found(tmp_path):
    config_dir, state_dir = upgraded(tmp_path)
    app = app_for(config_dir, state_dir, start="welcome")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()  # the restore check runs once the first frame is drawn
        assert "Press u to restore" in str(app.screen.query_one("#welcome-body").render())
        await pilot.press("u")
        await pilot.pause()
        assert isinstance(app.screen, RestoreScreen)
        await pilot.press("b")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)


async def test_nothing_recorded_and_hand_made_lines_to_adopt(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    app = app_for(config_dir, state_dir)
    async with app.run_test(size=SIZE) as pilot:
        text = body(app)
        assert "No customisations recorded yet" in text
        assert "commented out by MiaB" in text and "--adopt" in text
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, RestoreScreen)  # glued lines, no policy: stays


@needs_postfix
async def test_a_danger_in_the_restore_is_asked_and_accepted_by_name(tmp_path):
    """customizations.yaml edited by hand to hold seed 000's wide line, the table lost: the
    restore screen names the danger and asks, as Review does; escape writes nothing, yes
    accepts it by name (the CLI's --accept-risk) and the restore goes through."""
    from pfwizard import exitcodes
    from pfwizard.cli import main
    from tests.test_accept_risk import LEARNED_LINE, PROFILE, SEED_LINE, UNANCHORED

    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    state_dir.mkdir(mode=0o700)
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(cfg=config_dir, line=LEARNED_LINE))
    assert (
        main(
            [
                "--config-dir",
                str(config_dir),
                "--state-dir",
                str(state_dir),
                "--no-reload",
                "apply",
                str(profile),
            ]
        )
        == exitcodes.CHANGED
    )
    intent = state_dir / "customizations.yaml"
    intent.write_text(intent.read_text().replace(LEARNED_LINE, SEED_LINE))
    table = config_dir / "pfwizard" / "allow"
    table.unlink()
    app = app_for(config_dir, state_dir)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, RestoreReviewScreen)
        await pilot.press("w")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert "X DANGER" in dialog.question and UNANCHORED in dialog.question
        assert "Apply anyway?" in dialog.question
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, RestoreReviewScreen) and not table.exists()
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await pilot.pause()
        apply = app.screen
        assert isinstance(apply, RestoreApplyScreen)
        await wait_finished(pilot, apply)
        assert app.state.outcome is not None and app.state.outcome.ok, apply.written
    assert table.read_text() == SEED_LINE + "\n"


@needs_postfix
async def test_an_open_relay_in_the_restore_is_refused_not_asked(tmp_path):
    config_dir, state_dir = upgraded(tmp_path)
    store = IntentFile.for_state_dir(state_dir)
    from pfwizard.intent.model import ParameterIntent

    store.set_parameter(ParameterIntent("mynetworks", "0.0.0.0/0"))
    store.save()
    app = app_for(config_dir, state_dir)
    before = (config_dir / "main.cf").read_bytes()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, RestoreReviewScreen)
        await pilot.press("w")
        await pilot.pause()
        assert isinstance(app.screen, RestoreReviewScreen)  # no question: refused
        assert any("refusing to apply" in str(n.message) for n in app._notifications)
    assert (config_dir / "main.cf").read_bytes() == before
