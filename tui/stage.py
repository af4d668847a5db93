"""What every wizard screen shares: title line, "nothing written yet", Next/Back/Skip, F1."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Static

from pfwizard.errors import ValueRefused
from pfwizard.tui.flow import NUMBERED, Action, step
from pfwizard.tui.widgets.keys_footer import KeysFooter
from pfwizard.wizard.answers import Answer, apply_op

if TYPE_CHECKING:
    from pfwizard.session import Session
    from pfwizard.tui.app import PfwizardApp
    from pfwizard.wizard.state import WizardState


class WizardScreen(Screen[Action]):
    STEP_ID: ClassVar[str] = ""
    RESULTS: ClassVar[frozenset[Action]] = frozenset()
    """What this screen can return (tui/flow.py has a transition for each)."""
    HELP: ClassVar[str] = ""
    BINDINGS: ClassVar[list[BindingType]] = [
        # ``?`` is F1's twin for keyboards and consoles where F1 is taken (and for habit).
        Binding("f1,question_mark", "help", "Help", key_display="f1", id="help"),
        Binding("q", "quit_wizard", "Quit", id="quit"),
    ]

    @property
    def wizard(self) -> PfwizardApp:
        return cast("PfwizardApp", self.app)

    @property
    def state(self) -> WizardState:
        """What the screens share (plan, outcome, restore, probe sample...), typed."""
        return self.wizard.state

    @property
    def session(self) -> Session:
        return self.wizard.session

    def title_text(self) -> str:
        s = step(self.STEP_ID)
        pos = f" {NUMBERED.index(s.id) + 1}/{len(NUMBERED)}" if s.in_progress else ""
        state = self.wizard.write_state()
        dot = self.wizard.glyphs.dot
        return f"pfwizard{' demo' if self.session.demo else ''} {dot} {s.title}{pos} {dot} {state}"

    def compose_title(self) -> ComposeResult:
        yield Static(self.title_text(), id="title", markup=False)

    def compose_footer(self) -> ComposeResult:
        yield KeysFooter(compact=True, show_command_palette=False)

    def refresh_title(self) -> None:
        self.set_text("#title", self.title_text())

    def set_text(self, selector: str, content: object) -> None:
        """Update a Static only when its content changes: every update re-lays the screen
        out, and a key press should cost one redraw, not five."""
        cache: dict[str, str] = self.__dict__.setdefault("_texts", {})
        key = repr(content) if not isinstance(content, str) else content
        if cache.get(selector) == key:
            return
        cache[selector] = key
        self.query_one(selector, Static).update(content)  # type: ignore[arg-type]

    def finish(self, action: Action) -> None:
        """Leave with what the admin did; where that leads is tui/flow.py's business."""
        self.dismiss(action)

    def action_help(self) -> None:
        from pfwizard.screens.help import HelpScreen

        focused = self.focused
        text = getattr(focused, "HELP", "") if focused is not None else ""
        self.app.push_screen(HelpScreen(self.HELP, str(text or "")))

    def action_quit_wizard(self) -> None:
        self.wizard.request_quit()

    def on_mount(self) -> None:
        self.wizard.run_answers(self)

    def answer(self, answer: Answer) -> None:
        """Drive this screen from an answers file: ops on the session, the screen's own
        inputs, then the action."""
        for op in answer.ops:
            apply_op(self.session, op)
        self.refresh_view()
        self.answer_fields(answer.fields)
        self.answer_action(answer.action)

    def answer_fields(self, fields: Mapping[str, Any]) -> None:
        """This screen's own inputs from an answers file (most screens take none)."""
        if fields:
            raise ValueRefused(
                f"the {step(self.STEP_ID).title} screen takes no "
                f"{', '.join(sorted(fields))} in an answers file"
            )

    def answer_action(self, action: str) -> None:
        """Run ``action_<action>`` as its key would ("stay": leave the screen showing;
        tests inspect it)."""
        if action == "stay":
            return
        method = getattr(self, f"action_{action}", None)
        if method is None:
            raise ValueRefused(
                f"the {step(self.STEP_ID).title} screen has no action "
                f"{action!r} for an answers file"
            )
        self.call_after_refresh(method)

    def refresh_view(self) -> None:
        """Redraw from the session (after undo, answers, a dialog...)."""
