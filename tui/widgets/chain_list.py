"""A restriction list (or milter list) the admin reorders with the keyboard.

Every modified-arrow binding has a plain-key twin (``K``/``J`` beside shift/ctrl+arrows,
``j``/``k`` beside the arrows): PuTTY, the Linux console and some tmux setups never send
shift+up.  Edits go through the ``Session`` (which keeps the undo stack); adding, editing and
opening a table need a dialog, so the list asks its screen with a message.
"""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets.option_list import Option

from pfwizard.chain import Item
from pfwizard.findings import Finding
from pfwizard.session import Session
from pfwizard.tui.widgets.cursor_list import CursorList
from pfwizard.tui.wrap import Wrapped
from pfwizard.wizard.restrictions import restriction_info

HELP = """\
A restriction list: Postfix tries the entries from top to bottom and
stops at the first that permits or rejects. Order matters.

  j/k, up/down          highlight the next / previous entry
  K/J, shift+up/down,   move the highlighted entry up / down
  ctrl+up/down
  a (or insert)         add from the catalogue, before the highlight
  x (or delete)         remove the highlighted entry
  e (or enter)          edit the entry's argument
  t                     open the entry's lookup table (check_*_access)
  z (or ctrl+z)         undo the last change

The mark before an entry is its worst finding: i info, ! caution, X danger.
"""


class ChainList(CursorList):
    """The chain of one parameter, as numbered lines; the highlight follows the moved entry."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="down"),
        Binding("k", "cursor_up", "Up", show=False, id="up"),
        Binding("e", "edit", "Edit", id="chain.edit"),
        Binding("a,insert", "add", "Add", key_display="a", id="chain.add"),
        Binding("x,delete", "remove", "Del", key_display="x", id="chain.remove"),
        # Enter opens what has the cursor, on every screen (here: the entry's argument).
        Binding("enter", "edit", "Edit", show=False, id="enter"),
        Binding("K", "move(-1)", "Move", key_display="K/J", id="chain.move_up"),
        Binding("J", "move(1)", "Move down", show=False, id="chain.move_down"),
        Binding("shift+up,ctrl+up", "move(-1)", "Move up", show=False, id="chain.move_up2"),
        Binding("shift+down,ctrl+down", "move(1)", "Move down", show=False, id="chain.move_down2"),
        Binding("z,ctrl+z", "undo", "Undo", key_display="z", id="chain.undo"),
        Binding("t", "table", "Table", id="chain.table"),
    ]
    HELP = HELP

    class Changed(Message):
        """The chain (or any chain: undo is session-wide) changed."""

        def __init__(self, chain_list: ChainList) -> None:
            super().__init__()
            self.chain_list = chain_list

    class Request(Message):
        """The list wants its screen to open a dialog: ``what`` is add, edit or table."""

        def __init__(self, chain_list: ChainList, what: str, index: int) -> None:
            super().__init__()
            self.chain_list = chain_list
            self.what = what
            self.index = index

    def __init__(
        self, session: Session, param: str, *, milters: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id)
        self.session = session
        self.param = param
        self.milters = milters

    LEGEND = "i info  ! caution  X danger"
    """What the marks before the entries mean (on the list's bottom border)."""

    def on_mount(self) -> None:
        if not self.milters:
            self.border_subtitle = self.LEGEND
        self.reload(0)

    # ---- model -> view ---------------------------------------------------------------------
    def set_param(self, param: str) -> None:
        self.param = param
        self.reload(0)

    def items(self) -> list[Item]:
        return self.session.chain(self.param).items

    def _marks(self) -> dict[int, Finding]:
        marks: dict[int, Finding] = {}
        for f in self.session.findings():
            if f.parameter == self.param and f.index is not None:
                old = marks.get(f.index)
                if old is None or f.severity.rank > old.severity.rank:
                    marks[f.index] = f
        return marks

    def prompts(self) -> list[str]:
        items = self.items()
        marks = {} if self.milters else self._marks()
        out: list[str] = []
        for n, item in enumerate(items):
            mark = marks.get(n)
            sym = f"{mark.severity.symbol} " if mark else "  "
            # The argument goes on its own indented line: a long table path or DNS list
            # then wraps under the argument, never under the entry number.
            text = f"{sym}{n + 1:2}. {item.name}"
            if item.arg is not None:
                text += f"\n      {item.arg}"
            out.append(text)
        return out

    _shown: list[str] | None = None

    def reload(self, highlight: int | None = None) -> None:
        """Redraw from the session; keep (or set) the highlighted entry.

        A move changes two lines: only the lines that differ are replaced (a key press
        must redraw fast over a slow SSH link and on a busy box)."""
        keep = self.highlighted if highlight is None else highlight
        prompts = self.prompts()
        old = self._shown
        if old is not None and prompts and len(old) == len(prompts):
            for n, (a, b) in enumerate(zip(old, prompts, strict=True)):
                if a != b:
                    self.replace_option_prompt_at_index(n, self._wrapped(b))
        else:
            self.set_options(
                [Option(self._wrapped(p)) for p in prompts]
                or [Option("   (empty: press a to add)", disabled=True)]
            )
        self._shown = prompts or None
        if prompts:
            self.highlighted = max(0, min(len(prompts) - 1, keep or 0))

    @staticmethod
    def _wrapped(prompt: str) -> Wrapped:
        # Continuation rows (a long name, a table path) stay under the name, column 6.
        return Wrapped(prompt, hang=6)

    @property
    def index(self) -> int:
        return self.highlighted if self.highlighted is not None and self._shown else -1

    def current(self) -> Item | None:
        items = self.items()
        return items[self.index] if 0 <= self.index < len(items) else None

    def has_table(self) -> bool:
        item = self.current()
        name = item.name.lower() if item else ""
        return name.startswith("check_") and name.endswith("_access")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "table":
            return self.has_table() and not self.milters
        return True

    _table_shown = False

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        # The footer re-renders on refresh_bindings: only when the Table key comes or goes.
        if self.has_table() != self._table_shown:
            self._table_shown = not self._table_shown
            self.refresh_bindings()

    def info_text(self) -> str:
        item = self.current()
        if item is None or self.milters:
            return ""
        info = restriction_info(item.name)
        lines = [item.render()]
        if info.summary:
            lines.append(info.summary)
        if info.level is not None:
            lines.append(f"[{info.level.symbol}] {info.level.value.upper()}: {info.risk}")
        return "\n".join(lines)

    # ---- actions -------------------------------------------------------------------------
    # No wrap-around at the ends: on a restriction list "up from the top" landing on the
    # last entry is how a wrong entry gets moved or removed.
    def action_cursor_up(self) -> None:
        if self.highlighted:
            super().action_cursor_up()

    def action_cursor_down(self) -> None:
        if self.highlighted is not None and self.highlighted < self.option_count - 1:
            super().action_cursor_down()

    def _changed(self, highlight: int | None) -> None:
        self.reload(highlight)
        self.post_message(self.Changed(self))

    def action_move(self, delta: int) -> None:
        idx = self.index
        if idx < 0:
            return
        new = self.session.move(self.param, idx, delta)
        if new != idx:
            self._changed(new)
        else:
            self.app.bell()

    def action_remove(self) -> None:
        idx = self.index
        if idx < 0 or self.session.remove(self.param, idx) is None:
            self.app.bell()
            return
        self._changed(min(idx, len(self.items()) - 1))

    def action_undo(self) -> None:
        if not self.session.undo():
            self.notify("Nothing to undo.", timeout=2)
            return
        self._changed(None)

    def action_add(self) -> None:
        self.post_message(self.Request(self, "add", max(self.index, 0)))

    def action_edit(self) -> None:
        if self.index >= 0:
            self.post_message(self.Request(self, "edit", self.index))

    def action_table(self) -> None:
        if not self.has_table():
            self.notify("Only check_*_access entries have a lookup table.", timeout=3)
            return
        self.post_message(self.Request(self, "table", self.index))
