"""Add an entry from the catalogue: type to filter, only entries valid in this list, each
with its risk shown before it is added; then its argument, validated."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from pfwizard.chain import Item
from pfwizard.errors import ValueRefused
from pfwizard.screens.confirm import leave_editor
from pfwizard.session import OWN_TABLE_DIR, Session
from pfwizard.tui.theme import SEVERITY_STYLE
from pfwizard.tui.widgets.cursor_list import CursorList
from pfwizard.tui.wrap import WrappedStatic
from pfwizard.wizard.restrictions import RestrictionInfo, candidates


def suggested_argument(session: Session, info: RestrictionInfo, list_key: str) -> str:
    """A sensible starting value: access tables go into pfwizard's own directory."""
    name = info.name
    if name.startswith("check_") and name.endswith("_access"):
        what = name[len("check_") : -len("_access")]
        return f"regexp:{Path(session.config_dir) / OWN_TABLE_DIR / (what + '_access')}"
    if name == "check_policy_service":
        return "inet:127.0.0.1:10023"
    del list_key
    return ""


class AddRestrictionScreen(ModalScreen["Item | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="cancel"),
        Binding("down", "to_list", "List", show=False, id="add.to_list"),
    ]
    HELP = (
        "Type to filter the restrictions valid in this list. down/tab moves to the list, "
        "enter picks one; its risk shows below before anything is added. If it takes an "
        "argument (a table, a DNS list, a service), type it and press enter."
    )

    def __init__(self, session: Session, list_key: str) -> None:
        super().__init__()
        self.session = session
        self.list_key = list_key
        self.all = candidates(list_key)
        self.shown: list[RestrictionInfo] = list(self.all)
        self.picked: RestrictionInfo | None = None
        self.suggested = ""
        """The argument pfwizard proposed (escape asks only when the admin changed it)."""

    def compose(self) -> ComposeResult:
        # A VerticalScroll: whatever has the focus is scrolled into view, even when a long
        # risk text and the list would not fit 24 rows together.
        with VerticalScroll(classes="dialog", can_focus=False):
            yield Static(
                f"Add to the {self.list_key} list: type to filter, down: the list, "
                "enter: pick, esc: cancel",
                classes="hint",
                id="add-hint",
                markup=False,
            )
            yield Input(placeholder="type to filter", id="filter")
            yield CursorList(id="choices")
            yield WrappedStatic(id="risk")
            # Shown once an entry is picked: the list then gives its rows to the argument,
            # so the field the admin commits with Enter is always on screen.
            yield Input(placeholder="argument", id="arg", disabled=True, classes="hidden")
            yield Static(id="error", classes="error", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#filter", Input).focus()

    def _fill(self) -> None:
        opts = []
        for info in self.shown:
            mark = f"{info.level.symbol} " if info.level else "  "
            opts.append(Option(f"{mark}{info.name}"))
        lst = self.query_one("#choices", OptionList)
        lst.set_options(opts)
        if opts:
            lst.highlighted = 0
        self._show_risk()

    def _current(self) -> RestrictionInfo | None:
        idx = self.query_one("#choices", OptionList).highlighted
        return self.shown[idx] if idx is not None and idx < len(self.shown) else None

    def _show_risk(self) -> None:
        info = self.picked or self._current()
        text = Text()
        if info is not None:
            text.append(info.summary or info.name)
            if info.level is not None:
                text.append(
                    f"\n{info.level.symbol} {info.level.value.upper()}: ",
                    style=SEVERITY_STYLE[info.level.value],
                )
                text.append(info.risk)
        self.query_one("#risk", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "filter":
            return
        words = event.value.lower().split()
        self.shown = [i for i in self.all if all(w in i.name.lower() for w in words)]
        self._fill()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show_risk()

    def action_to_list(self) -> None:
        if self.focused is self.query_one("#filter", Input):
            self.query_one("#choices", OptionList).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            if self.shown:
                self._pick(self._current() or self.shown[0])
        else:
            self._finish(event.value)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        info = self._current()
        if info is not None:
            self._pick(info)

    def _pick(self, info: RestrictionInfo) -> None:
        self.picked = info
        self._show_risk()
        if not info.takes_argument:
            self._finish("")
            return
        self.query_one("#filter", Input).display = False
        self.query_one("#choices", OptionList).display = False
        self.query_one("#add-hint", Static).update(
            f"Add {info.name} to the {self.list_key} list: its argument, enter: add, esc: cancel"
        )
        arg = self.query_one("#arg", Input)
        arg.remove_class("hidden")
        arg.disabled = False
        arg.placeholder = f"argument for {info.name} ({info.arg_kind or 'one word'})"
        arg.value = self.suggested = suggested_argument(self.session, info, self.list_key)
        arg.focus()
        self.call_after_refresh(self._show_from_top, arg)

    def _show_from_top(self, arg: Input) -> None:
        """Once the dialog has shrunk to the picked entry: its name and whole risk on top,
        the argument field on screen."""
        self.query_one(".dialog").scroll_home(animate=False, immediate=True)
        arg.scroll_visible(animate=False, immediate=True)

    def _finish(self, arg: str) -> None:
        info = self.picked
        if info is None:
            return
        try:
            item = Item.parse(f"{info.name} {arg}".strip()) if arg.strip() else Item(info.name)
            if any(ord(c) < 32 or ord(c) == 127 for c in arg):
                raise ValueRefused("control characters are not allowed")
            if info.takes_argument and not item.arg:
                raise ValueRefused(f"{info.name} needs an argument")
        except ValueRefused as exc:
            self.query_one("#error", Static).update(str(exc))
            return
        self.dismiss(item)

    def action_cancel(self) -> None:
        arg = self.query_one("#arg", Input)
        typed = self.picked is not None and arg.value.strip() != self.suggested
        what = f"{self.picked.name} and the argument you typed" if self.picked else ""
        leave_editor(self, typed, what, None)
