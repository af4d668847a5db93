"""The one place tests build the wizard (posting's habit): a Session on a copy of a MiaB
fixture, the app around it, cursor blink off so snapshots are stable."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pfwizard.session import Session
from pfwizard.tui.app import PfwizardApp

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


def _cursor_blink_off() -> None:
    """Inputs and text areas start with a steady cursor (stable snapshots, fewer timers)."""
    from textual.widgets import Input, TextArea

    for cls in (Input, TextArea):
        cls.cursor_blink._default = False  # type: ignore[attr-defined]


class TestApp(PfwizardApp):
    """The real app, with the terminal cursor steady for snapshots."""

    __test__ = False  # an App, not a pytest test class

    def __init__(self, *args: Any, **kw: Any) -> None:
        _cursor_blink_off()
        super().__init__(*args, **kw)

    @property
    def _engine(self) -> Any:
        """Tests put a fake engine in with ``app._engine = FakeEngine(...)``."""
        return self.state.engine

    @_engine.setter
    def _engine(self, engine: Any) -> None:
        self.state.engine = engine


def make_app(
    tmp: Path,
    *,
    start: str = "welcome",
    fixture: str = "main.cf.v75-fresh",
    answers: Mapping[str, Mapping[str, Any]] | None = None,
    session: Session | None = None,
    **kw: Any,
) -> TestApp:
    s = session or make_session(tmp, fixture)
    app = TestApp(s, start=start, answers=answers, **kw)
    app.state.hook_dir = tmp / "hooks"  # never the system's /etc/cron.d
    return app
