"""Start from the reject: the Welcome lists the box's recent rejects by cause (read in a
worker, so the first screen never waits for the log); Enter on a group opens its recipe
filled in from the log; a pasted reject line does the same."""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList

from pfwizard.screens.recipes import RecipesScreen
from pfwizard.screens.recipient import RecipientScreen
from pfwizard.screens.review import ReviewScreen
from pfwizard.screens.welcome import WelcomeScreen
from tests.test_explain_recent import GREY, esa, stamp
from tests.tui_app import SIZE, make_app, make_session

ESA_HOSTS = ("esa1.hc1234-5.iphmx.com", "esa2.hc77-1.ap.iphmx.com", "esa.hc3512-62.iphmx.com")


def mail_log(tmp: Path) -> Path:
    now = dt.datetime.now()
    lines = [stamp(now - dt.timedelta(days=20), GREY)]  # outside the 7 days
    lines += [
        stamp(now - dt.timedelta(hours=3, minutes=-i), esa(i, ESA_HOSTS[i % 3])) for i in range(7)
    ]
    lines += [stamp(now - dt.timedelta(hours=2, minutes=-i), GREY) for i in range(2)]
    path = tmp / "mail.log"
    path.write_text("\n".join(lines) + "\n")
    return path


def app_with_log(tmp: Path, log: Path | None):
    session = make_session(tmp)
    # Postfix re-reads a main.cf younger than ~2 s before answering: an old file, as on a box.
    old = time.time() - 60
    os.utime(session.config_dir / "main.cf", (old, old))
    return make_app(tmp, session=session, mail_log=None if log is None else str(log))


async def loaded(pilot) -> WelcomeScreen:
    screen = pilot.app.screen
    assert isinstance(screen, WelcomeScreen)
    end = time.monotonic() + 20
    while screen.recent is None and time.monotonic() < end:
        await pilot.pause(0.05)
    await pilot.pause()
    return screen


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


async def test_welcome_lists_recent_rejects_by_cause(tmp_path):
    app = app_with_log(tmp_path, mail_log(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        head = text_of(app, "#rejects-head")
        assert "(9 in the last 7 days of" in head
        assert [(c.cause, c.count) for c in screen.causes] == [
            ("unknown-sender-domain", 7),
            ("greylisted", 2),
        ]
        options = screen.query_one("#rejects", OptionList)
        assert options.display and options.option_count == 2
        first = str(options.get_option_at_index(0).prompt)
        assert first == "   7 x Sender address rejected: Domain not found"
        assert (
            str(options.get_option_at_index(1).prompt)
            == "   2 x Recipient address rejected: Greylisted"
        )
        detail = text_of(app, "#reject-detail")
        assert (
            "where: reject_unknown_sender_domain in smtpd_sender_restrictions; 3 senders" in detail
        )
        assert "Enter opens: recipe 'accept senders whose domain doesn't resolve" in detail
        # Nothing but reading: the session has no edit.
        assert app.session.changed is False


async def test_enter_on_a_group_opens_its_recipe_filled_in_from_the_log(tmp_path):
    app = app_with_log(tmp_path, mail_log(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("tab")  # from the page to the list of rejects
        assert isinstance(app.focused, OptionList) and app.focused.id == "rejects"
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RecipesScreen)
        assert screen.current is not None and screen.current.id == "allowlist-unresolved-senders"
        values = screen.inputs()
        entry = next(ln for ln in values["table"].splitlines() if not ln.startswith("#"))
        pattern = re.fullmatch(r"/(.*)/ PERMIT", entry)
        assert pattern and all(
            re.search(pattern.group(1), f"mailer-daemon@{h}", re.I) for h in ESA_HOSTS
        )
        assert (
            values["sender"].startswith("MAILER-DAEMON@")
            and values["rcpt"] == "dmarc@box.example.com"
        )
        preview = text_of(app, "#recipe-text")
        assert "Filled in from the mail log" in preview and "risk (caution)" in preview
        assert app.session.changed is False  # nothing taken over before F2
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        [table] = app.session.tables
        assert entry in app.session.tables[table].content
        assert "check_sender_access" in (app.session.value("smtpd_sender_restrictions") or "")
        sample = app.state.probe_sample
        assert sample is not None and sample.recipients == ("dmarc@box.example.com",)


async def test_a_group_without_recipe_goes_to_its_stage(tmp_path):
    app = app_with_log(tmp_path, mail_log(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        await pilot.press("tab", "down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, RecipientScreen)  # greylisting: the recipient list


async def test_a_pasted_noqueue_line_opens_the_recipe(tmp_path):
    app = app_with_log(tmp_path, None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#rejects-head").display  # no log given: no list
        field = app.screen.query_one("#paste-reject", Input)
        field.focus()
        field.value = "gibberish"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, WelcomeScreen)  # said, not taken
        field.value = esa(1).split(": ", 1)[1]  # NOQUEUE: reject: RCPT from ...
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RecipesScreen)
        assert "iphmx" in screen.inputs()["table"]


@pytest.mark.parametrize("log", [None, "bench"], ids=["no log", "with the log's list"])
async def test_the_paste_field_and_its_hint_are_on_screen_at_80x24(tmp_path, log):
    """The field for a pasted reject line shows its hint (it once had a frame and no row
    for its text: an empty box on every terminal)."""
    app = app_with_log(tmp_path, mail_log(tmp_path) if log else None)
    async with app.run_test(size=SIZE) as pilot:
        if log:
            await loaded(pilot)
        else:
            await pilot.pause()
        field = app.screen.query_one("#paste-reject", Input)
        assert field.content_region.height == 1 and field.content_region.width > 40
        rows = [strip.text for strip in app.screen._compositor.render_strips()]
        assert any("or paste a reject line" in row for row in rows), rows


async def test_an_unreadable_log_is_said_and_the_wizard_goes_on(tmp_path):
    app = app_with_log(tmp_path, tmp_path / "no-such.log")
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot)
        assert "cannot read it" in text_of(app, "#rejects-head")
        await pilot.press("n")
        await pilot.pause()
        assert not isinstance(app.screen, WelcomeScreen)


async def test_by_default_the_welcome_reads_the_mail_log(tmp_path, monkeypatch):
    from pfwizard.explain import recent

    monkeypatch.setattr(recent, "DEFAULT_LOG", mail_log(tmp_path))
    app = app_with_log(tmp_path, None)
    app.mail_log = ""  # what `pfwizard` without --mail-log passes
    async with app.run_test(size=SIZE) as pilot:
        screen = await loaded(pilot)
        assert screen.recent is not None and screen.recent.source == str(tmp_path / "mail.log")
        assert [c.count for c in screen.causes] == [7, 2]


async def test_a_slow_log_never_holds_the_welcome_back(tmp_path, monkeypatch):
    """The log is read in a worker: the Welcome is up and answers keys while it reads, and
    leaving before it is done is fine."""
    import threading

    from pfwizard.explain import recent

    release = threading.Event()
    real = recent.recent_rejects

    def slow(*a, **kw):
        release.wait(10)
        return real(*a, **kw)

    monkeypatch.setattr(recent, "recent_rejects", slow)
    app = app_with_log(tmp_path, mail_log(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, WelcomeScreen) and screen.recent is None
        assert "reading the last 7 days of" in text_of(app, "#rejects-head")
        await pilot.press("n")  # on to HELO while the log is still being read
        await pilot.pause()
        assert not isinstance(app.screen, WelcomeScreen)
        here = app.screen
        release.set()  # the read ends after the Welcome has gone: dropped, nothing breaks
        await pilot.pause(0.5)
        assert app.screen is here and app.is_running


def test_the_explain_engine_is_not_loaded_before_the_first_screen():
    """What the wizard imports to draw the Welcome leaves the log reader to the worker."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = (
        "import sys, pfwizard.commands.wizard, tui.app, screens.welcome; "
        "print(sorted(m for m in sys.modules if m.startswith('pfwizard.explain')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        timeout=60,
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
