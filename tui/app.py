"""The wizard application: a Session, the flow of steps, the theme. No Postfix logic here."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.scrollbar import ScrollBar, ScrollBarRender

from pfwizard import assets, exitcodes
from pfwizard.errors import ConfigError, ValueRefused
from pfwizard.session import Session
from pfwizard.tui import glyphs
from pfwizard.tui.flow import STEP_IDS, Action, next_step, step
from pfwizard.tui.theme import PFWIZARD_ANSI
from pfwizard.wizard.answers import Answer, parse_answers
from pfwizard.wizard.state import WizardState

if TYPE_CHECKING:
    from pfwizard.explain.recent import FixStart
    from pfwizard.tui.stage import WizardScreen
    from pfwizard.wizard.state import WizardEngine

CSS_FILE = Path(assets.__file__).resolve().parent / "pfwizard.tcss"


class PfwizardApp(App[int]):
    """``sudo pfwizard``: stage by stage, nothing written until Apply."""

    CSS_PATH = str(CSS_FILE)
    TITLE = "pfwizard"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "request_quit_key", "Quit", show=False, priority=True, id="quit")
    ]

    def __init__(
        self,
        session: Session,
        *,
        start: str = "welcome",
        answers: Mapping[str, Mapping[str, Any] | Answer] | None = None,
        no_color: bool = False,
        notes: tuple[str, ...] = (),
        mail_log: str | None = None,
        ascii: bool = False,
    ) -> None:
        if no_color:
            # Textual reads NO_COLOR when the App is built (no-color.org).
            os.environ["NO_COLOR"] = "1"
        self.glyphs = glyphs.choose(ascii, os.environ.get("TERM"))
        """What the wizard draws with (--ascii, the Linux console's font, or Unicode)."""
        super().__init__(ansi_color=True)
        # The theme is in place before Textual first parses the CSS.  Setting ``theme`` (in
        # on_mount or here) runs its watcher, which has Textual parse all the CSS a second
        # time before the first frame (~20 ms); this does what the watcher does, up front:
        # the value, the CSS variables it gives, the app's theme class.
        self.register_theme(PFWIZARD_ANSI)
        self.set_reactive(App.theme, PFWIZARD_ANSI.name)
        self.stylesheet.set_variables(self.get_css_variables())
        self.update_classes(
            {
                **{c: False for c in self.classes if c.startswith("-theme-")},
                f"-theme-{PFWIZARD_ANSI.name}": True,
            },
            update=False,
        )
        self.session = session
        self.state = WizardState(start=start, notes=notes)
        """What the screens share (typed, in the core): plan, outcome, restore, probe..."""
        self.answers = parse_answers(answers or {})
        """What to do on each screen, decided beforehand (pfwizard.wizard.answers)."""
        self.answer_refused: str | None = None
        """Why the answers ended the run (an answer pfwizard refuses); the command says it
        in one line after the screen is gone."""
        unknown = sorted(set(self.answers) - set(STEP_IDS))
        if unknown:
            raise ValueRefused(
                f"the answers name screens the wizard does not have: "
                f"{', '.join(unknown)} (it has {', '.join(STEP_IDS)})"
            )
        self.current_step = start
        # Start from the reject: the log the Welcome reads its recent rejects from (None: no
        # list, as in tests; "": /var/log/mail.log, else the journal), and the recipe a
        # chosen reject opens, learned from the log.
        self.mail_log = mail_log
        self.recipe_start: FixStart | None = None

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
        renderer = self.glyphs.scrollbar or (glyphs.CellScrollBar if self.no_color else None)
        if renderer is not None:
            # Textual's renderer is a class attribute; put it back on unmount (tests run
            # many apps in one process).
            self._scrollbar_before = ScrollBar.renderer
            ScrollBar.renderer = renderer
        self.show(self.state.start)

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
    def engine(self) -> WizardEngine:
        """The apply engine, made on first use (Welcome and the stages never need it)."""
        if self.state.engine is None:
            self.state.engine = self.session.engine()
        return self.state.engine

    # ---- flow --------------------------------------------------------------------------
    def show(self, step_id: str) -> None:
        self.current_step = step_id
        self.push_screen(step(step_id).make(), self._on_result)

    def _on_result(self, result: Action | None) -> None:
        if result is None:
            return
        target = next_step(self.current_step, result)
        if target is None:
            self.exit(self.state.exit_code)
        else:
            self.show(target)

    def run_answers(self, screen: WizardScreen) -> None:
        entry = self.answers.pop(screen.STEP_ID, None)
        if entry is None:
            return
        try:
            screen.answer(entry)
        except (ValueRefused, ConfigError) as exc:
            # Decided beforehand, so nobody is there to correct it: the run ends (exit 2)
            # with the reason, before anything was written (edits live in the session).
            self.answer_refused = f"the {step(screen.STEP_ID).title} screen: {exc}"
            self.exit(return_code=exitcodes.ERROR)

    # ---- state shown on every screen -------------------------------------------------------
    def write_state(self) -> str:
        return self.state.write_state(demo=self.session.demo)

    def request_quit(self) -> None:
        if self.session.changed and self.state.outcome is None:
            from pfwizard.screens.confirm import ConfirmScreen

            def done(yes: bool | None) -> None:
                if yes:
                    self.exit(self.state.exit_code)

            self.push_screen(
                ConfirmScreen(
                    "Quit without applying? Nothing has been written; your edits are lost."
                ),
                done,
            )
        else:
            self.exit(self.state.exit_code)

    def action_request_quit_key(self) -> None:
        self.request_quit()
