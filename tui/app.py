"""The wizard application: a Session, the flow of steps, the theme. No Postfix logic here."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.scrollbar import ScrollBar, ScrollBarRender

import assets
from pfwizard.session import Session
from tui import glyphs
from tui.flow import StageResult, next_step, step
from tui.theme import PFWIZARD_ANSI

CSS_FILE = Path(assets.__file__).resolve().parent / "pfwizard.tcss"


class PfwizardApp(App[int]):
    """``sudo pfwizard``: stage by stage, nothing written until Apply."""

    CSS_PATH = str(CSS_FILE)
    TITLE = "pfwizard"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "request_quit_key", "Quit", show=False, priority=True,
                id="quit")]

    def __init__(self, session: Session, *, start: str = "welcome",
                 answers: Mapping[str, Mapping[str, Any]] | None = None,
                 no_color: bool = False, notes: tuple[str, ...] = (),
                 ascii: bool = False) -> None:
        if no_color:
            # Textual reads NO_COLOR when the App is built (no-color.org).
            os.environ["NO_COLOR"] = "1"
        self.glyphs = glyphs.choose(ascii, os.environ.get("TERM"))
        """What the wizard draws with (--ascii, the Linux console's font, or Unicode)."""
        super().__init__(ansi_color=True)
        self.session = session
        self.start_step = start
        self.answers = dict(answers or {})
        self.notes = notes
        """Lines for the Welcome screen (e.g. what the demo skipped without Postfix)."""
        self.current_step = start
        self.result: Any = None
        """The engine's ApplyResult once Apply ran."""
        self.confirm_within: int | None = None
        self.plan: Any = None
        """The plan the admin reviewed (Apply writes exactly this)."""
        self._engine: Any = None
        # tuix hook (issues 6, 7): the restore screens' shared RestoreContext, and the
        # sample addresses the live probe uses (a recipe fills them in).
        self.restore: Any = None
        self.probe_sample: tuple[str, list[str]] | None = None
        self.exit_code = 0
        self.hook_dir: Path | None = None
        """Where the Done screen installs and looks for the restore hook (None: the
        system's /etc/systemd/system and /etc/cron.d; tests point it at a scratch dir)."""
        self.rolled_back: str | None = None
        """The journal entry the History screen rolled back last (cleared by an apply)."""

    def get_css_variables(self) -> dict[str, str]:
        variables = super().get_css_variables()
        variables["frame"] = self.glyphs.frame
        variables["edge"] = self.glyphs.edge
        if getattr(self, "no_color", False):
            # Without colour the cursor row must still stand out: reverse video, which
            # every terminal and the Linux console show (bold alone is barely visible).
            variables["block-cursor-text-style"] = "reverse bold"
            variables["block-cursor-blurred-text-style"] = "underline"
        return variables

    _scrollbar_before: type[ScrollBarRender] | None = None

    def on_mount(self) -> None:
        self.register_theme(PFWIZARD_ANSI)
        self.theme = PFWIZARD_ANSI.name
        renderer = self.glyphs.scrollbar or (glyphs.CellScrollBar if self.no_color else None)
        if renderer is not None:
            # Textual's renderer is a class attribute; put it back on unmount (tests run
            # many apps in one process).
            self._scrollbar_before = ScrollBar.renderer
            ScrollBar.renderer = renderer
        self.show(self.start_step)

    def on_unmount(self) -> None:
        if self._scrollbar_before is not None:
            ScrollBar.renderer = self._scrollbar_before

    # ---- after the first frame -------------------------------------------------------------
    _painted = False
    _after_paint: list[Callable[[], object]] | None = None

    def after_first_paint(self, callback: Callable[[], object]) -> None:
        """Run ``callback`` once the first frame is on the terminal (soon, if it already is).

        Textual mounts the first screen inside a batch update, where ``call_after_refresh``
        runs before anything is drawn: slow checks started there hold back the first screen.
        """
        if self._painted:
            self.call_after_refresh(callback)
        else:
            self._after_paint = [*(self._after_paint or []), callback]

    def on_ready(self) -> None:
        # Textual's Ready: the DOM is mounted and the first frame has been displayed.
        self._painted = True
        for callback in self._after_paint or []:
            self.call_after_refresh(callback)
        self._after_paint = None

    @property
    def engine(self) -> Any:
        """The apply engine, made on first use (Welcome and the stages never need it)."""
        if self._engine is None:
            self._engine = self.session.engine()
        return self._engine

    # ---- flow --------------------------------------------------------------------------
    def show(self, step_id: str) -> None:
        self.current_step = step_id
        self.push_screen(step(step_id).make(), self._on_result)

    def _on_result(self, result: StageResult | None) -> None:
        if result is None:
            return
        target = next_step(self.current_step, result)
        if target is None:
            self.exit(self.exit_code)
        else:
            self.show(target)

    def run_answers(self, screen: Any) -> None:
        entry = self.answers.pop(screen.STEP_ID, None)
        if entry is not None:
            screen.answer(list(entry.get("ops", [])), str(entry.get("action", "next")))

    # ---- state shown on every screen -------------------------------------------------------
    def write_state(self) -> str:
        if self.rolled_back is not None:
            return f"entry {self.rolled_back} rolled back"
        if self.result is None:
            return "nothing has been written yet"
        if getattr(self.result, "ok", False):
            return "change applied"
        return "apply failed: previous config in force"

    def request_quit(self) -> None:
        if self.session.changed and self.result is None:
            from screens.confirm import ConfirmScreen

            def done(yes: bool | None) -> None:
                if yes:
                    self.exit(self.exit_code)

            self.push_screen(ConfirmScreen(
                "Quit without applying? Nothing has been written; your edits are lost."), done)
        else:
            self.exit(self.exit_code)

    def action_request_quit_key(self) -> None:
        self.request_quit()
