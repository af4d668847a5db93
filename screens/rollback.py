"""Rollback: the journal as a list, each entry's diff, restore with confirmation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from pfwizard.engine.journal import unreadable_words
from pfwizard.errors import ValueRefused
from pfwizard.tui.diffview import diff_text
from pfwizard.tui.flow import Action
from pfwizard.tui.stage import WizardScreen
from pfwizard.tui.widgets.cursor_list import CursorList


def entry_line(e: Any) -> str:
    when = str(getattr(e, "time", "") or getattr(e, "timestamp", ""))[:16]
    outcome = str(getattr(e, "outcome", "") or "")
    return f"{getattr(e, 'id', '?')} {when} {outcome} {getattr(e, 'summary', '')}".strip()


def row_line(row: Any) -> str:
    """A journal entry's line, or an unreadable one's ``(id, reason)`` in the words of
    ``rollback --list``."""
    if isinstance(row, tuple):
        return f"{row[0]} {unreadable_words(row[1])}"
    return entry_line(row)


def _order(entry_id: str) -> tuple[int, str]:
    # Ids are numbers ("12"); anything else sorts by its text after them.
    return (int(entry_id), "") if entry_id.isdigit() else (-1, entry_id)


def entry_diff(engine: Any, e: Any) -> str:
    return str(engine.diff(e.id) or "(no diff recorded for this entry)")


class RollbackScreen(WizardScreen):
    STEP_ID = "rollback"
    RESULTS = frozenset({Action.BACK})
    HELP = (
        "Every apply, rollback and restore pfwizard made, newest first. j/k choose an "
        "entry, its diff shows on the right; enter restores the configuration from before "
        "that entry (asks first; the restore is itself journaled, so it can be undone)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor(1)", "Down", show=False, id="down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="up"),
        # Enter on the highlighted entry (r is History on the other screens); asks first.
        # priority: the journal list would take enter first, and hide it from the footer.
        Binding("enter", "restore", "Restore", key_display="enter", priority=True, id="enter"),
        Binding("b", "back", "Back", id="back"),
        Binding("escape", "back", "Back", show=False, id="cancel"),
    ]

    rows: list[Any]
    """What the list shows, newest first: journal entries, and (id, reason) for an entry
    that cannot be read (named, as ``rollback --list`` names it; nothing to restore)."""
    answered = False
    """Restore was asked for by an answers file: the admin decided beforehand, no question."""

    @property
    def entries(self) -> list[Any]:
        return [r for r in self.rows if not isinstance(r, tuple)]

    def answer_fields(self, fields: Mapping[str, Any]) -> None:
        """``entry``: the journal entry to highlight (restore rolls back to before it)."""
        super().answer_fields({k: v for k, v in fields.items() if k != "entry"})
        if "entry" in fields:
            ids = [getattr(r, "id", None) for r in self.rows]  # an unreadable row has no id
            if fields["entry"] not in ids:
                raise ValueRefused(f"no journal entry {fields['entry']!r}")
            self.query_one("#journal", OptionList).highlighted = ids.index(fields["entry"])
            self.answered = True

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        with Horizontal(id="stage-body"):
            yield CursorList(id="journal")
            with VerticalScroll(classes="page", id="rollback-diff"):
                yield Static(id="diff")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.refresh_view()
        self.query_one("#journal", OptionList).focus()
        super().on_mount()

    def refresh_view(self) -> None:
        try:
            entries, unreadable = self.wizard.engine.history_scan()
        except Exception as exc:  # a broken journal is shown, not hidden
            entries, unreadable = [], []
            self.notify(f"cannot read the journal: {exc}", severity="error")
        rows: list[Any] = [*entries, *unreadable]
        self.rows = sorted(
            rows, key=lambda r: _order(r[0] if isinstance(r, tuple) else r.id), reverse=True
        )
        lst = self.query_one("#journal", OptionList)
        lst.set_options(
            [Option(row_line(r)) for r in self.rows]
            or [Option("No changes recorded yet.", disabled=True)]
        )
        if self.rows:
            lst.highlighted = 0
        self._show()

    def _row(self) -> Any:
        idx = self.query_one("#journal", OptionList).highlighted
        return None if idx is None or idx >= len(self.rows) else self.rows[idx]

    def _show(self) -> None:
        row = self._row()
        diff = self.query_one("#diff", Static)
        if row is None:
            diff.update("")
        elif isinstance(row, tuple):
            diff.update(
                f"Journal entry {row[0]} cannot be read ({row[1]}): pfwizard does not "
                "show it or roll it back. The other entries are as recorded."
            )
        else:
            diff.update(diff_text(entry_diff(self.wizard.engine, row), 34, self.wizard.glyphs.wrap))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # The list has the focus and takes enter itself: the same restore, asked first.
        event.stop()
        self.action_restore()

    def action_cursor(self, delta: int) -> None:
        lst = self.query_one("#journal", OptionList)
        if delta > 0:
            lst.action_cursor_down()
        else:
            lst.action_cursor_up()

    def action_back(self) -> None:
        self.finish(Action.BACK)

    def action_restore(self) -> None:
        entry = self._row()
        if entry is None:
            return
        if isinstance(entry, tuple):
            self.notify(
                f"Journal entry {entry[0]} is {unreadable_words(entry[1])}: nothing "
                "to roll back from it.",
                severity="warning",
                timeout=6,
            )
            return
        from pfwizard.screens.confirm import ConfirmScreen

        try:
            plan = self.wizard.engine.rollback_plan(entry.id)
        except Exception as exc:  # refused (changed since, nothing to roll back...): say why
            self.notify(f"Cannot roll back {entry.id}: {exc}", severity="error", timeout=8)
            return

        def done(yes: bool | None) -> None:
            if not yes:
                return
            self.answered = False
            res = self.wizard.engine.rollback(entry.id)
            if getattr(res, "ok", False):
                self.state.rolled_back = entry.id
                self.notify(f"Restored the configuration from before {entry.id}.")
            else:
                self.notify(f"Rollback failed: {getattr(res, 'error', res)}", severity="error")
            self.refresh_view()
            self.refresh_title()

        if self.answered:
            done(True)
            return
        self.app.push_screen(
            ConfirmScreen(
                f"Restore the configuration from before entry {entry.id}?\n"
                f"{getattr(entry, 'summary', '')}\n\n" + rollback_files(plan)
            ),
            done,
        )


def rollback_files(plan: Any) -> str:
    """What a rollback puts back, one file a line; the customisations say what they are."""
    lines = ["Puts back:"]
    for f in getattr(plan, "files", []):
        if not f.changes:
            continue
        what = " (your recorded customisations, as they were)" if f.role == "intent" else ""
        lines.append(f"  {f.path}{what}")
    return "\n".join(lines) if len(lines) > 1 else "Puts back: index files only"
