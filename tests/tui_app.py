"""The one place tests build the wizard (posting's habit): a Session on a copy of a MiaB
fixture, the app around it, cursor blink off so snapshots are stable."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pfwizard.session import Session
from tui.app import PfwizardApp

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "miab"
SIZE = (80, 24)


def make_config(tmp: Path, fixture: str = "main.cf.v75-fresh") -> Path:
    etc = tmp / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    shutil.copy(FIXTURES / fixture, etc / "main.cf")
    shutil.copy(FIXTURES / "master.cf.v75", etc / "master.cf")
    (tmp / "state").mkdir(exist_ok=True, mode=0o700)
    return etc


def make_session(tmp: Path, fixture: str = "main.cf.v75-fresh", **kw: Any) -> Session:
    etc = make_config(tmp, fixture)
    kw.setdefault("reload", False)
    kw.setdefault("miab_checkout", tmp / "no-mailinabox")
    return Session.open(etc, tmp / "state", **kw)


class TestApp(PfwizardApp):
    """The real app, with the terminal cursor steady for snapshots."""

    def on_mount(self) -> None:
        super().on_mount()
        self.cursor_blink_off()

    def cursor_blink_off(self) -> None:
        from textual.widgets import Input, TextArea

        def off() -> None:
            for screen in self.screen_stack:
                for w in screen.query(Input):
                    w.cursor_blink = False
                for t in screen.query(TextArea):
                    t.cursor_blink = False
        self.set_interval(0.05, off)


def make_app(tmp: Path, *, start: str = "welcome", fixture: str = "main.cf.v75-fresh",
             answers: Mapping[str, Mapping[str, Any]] | None = None,
             session: Session | None = None, **kw: Any) -> TestApp:
    s = session or make_session(tmp, fixture)
    return TestApp(s, start=start, answers=answers, **kw)
