"""The shared body of the HELO, Sender and Recipient stages: chain list + risk panel.

A stage edits one or more restriction lists (``l`` cycles them).  Next is blocked while a
danger finding about this stage's lists stands, unless the admin accepts it (never for an
open relay).  Skip leaves the stage's lists as they were read.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import OptionList, Static

from pfwizard.chain import Item
from pfwizard.errors import ValueRefused
from pfwizard.session import LIST_OF_PARAM, STAGE_PARAMS
from pfwizard.tui.flow import Action, step
from pfwizard.tui.stage import WizardScreen
from pfwizard.tui.widgets.chain_list import ChainList
from pfwizard.tui.widgets.risk_panel import RiskPanel
from pfwizard.wizard.tables import split_table


class ChainStageScreen(WizardScreen):
    # The risk panel goes below the list when the terminal is too narrow for both side by
    # side, or narrow-ish and tall enough to stack them (pfwizard.tcss).
    # (Textual declares both on Screen as instance variables: no ClassVar here.)
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (76, "-medium"), (100, "-wide")]  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]  # noqa: RUF012
    LISTS: ClassVar[tuple[str, ...]] = ()
    INTRO: ClassVar[str] = ""
    MILTERS: ClassVar[bool] = False
    RESULTS = frozenset({Action.NEXT, Action.BACK, Action.SKIP, Action.RECIPES})
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Next/Back", key_display="n/b", id="next"),
        Binding("b", "back", "Back", show=False, id="back"),
        Binding("s", "skip", "Skip", id="stage.skip"),
        # Shown on the parameter line instead (the footer must fit 80 columns).
        Binding("l", "cycle_list", "List", show=False, id="stage.list"),
        # The recipes from any chain stage (F1 help names it).
        Binding("c", "recipes", "Recipes", show=False, id="recipes"),
    ]

    def action_recipes(self) -> None:
        self.finish(Action.RECIPES)

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        yield Static(self.INTRO, classes="hint", markup=False)
        yield Static(id="param-line", markup=False)
        with Horizontal(id="stage-body"):
            yield ChainList(self.session, self.LISTS[0], milters=self.MILTERS, id="chain")
            yield RiskPanel(id="risk")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one(ChainList).focus()
        self.refresh_view()
        super().on_mount()

    @property
    def chain_list(self) -> ChainList:
        return self.query_one(ChainList)

    def param_line(self) -> str:
        param = self.chain_list.param
        others = len(self.LISTS) > 1
        more = (
            f"  (l: next list, {self.LISTS.index(param) + 1}/{len(self.LISTS)})" if others else ""
        )
        unset = "" if self.session.value(param) is not None else "  (not set: default)"
        return f"{param}{unset}{more}"

    def refresh_view(self) -> None:
        self.set_text("#param-line", self.param_line())
        self.chain_list.reload()
        self.refresh_panel()
        self.refresh_title()

    def refresh_panel(self) -> None:
        findings = self.session.findings_for(STAGE_PARAMS[self.STEP_ID])
        accepted = {f for f in findings if self.session.is_accepted(f)}
        self.query_one(RiskPanel).show(self.chain_list.info_text(), findings, accepted)

    PANEL_DELAY: ClassVar[float] = 0.06
    _panel_timer: Timer | None = None

    def schedule_panel(self) -> None:
        """Redraw the risk panel just after the list: the moved entry shows at once, and
        holding J/K re-lays the panel out once at the end, not on every repeat."""
        if self._panel_timer is not None:
            self._panel_timer.stop()
        self._panel_timer = self.set_timer(self.PANEL_DELAY, self.refresh_panel)

    def on_chain_list_changed(self, event: ChainList.Changed) -> None:
        self.set_text("#param-line", self.param_line())
        self.refresh_title()
        self.schedule_panel()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.schedule_panel()

    # ---- dialogs the list asks for -------------------------------------------------------
    def on_chain_list_request(self, event: ChainList.Request) -> None:
        lst = event.chain_list
        if event.what == "add":
            self._add(lst, event.index)
        elif event.what == "edit":
            self._edit(lst, event.index)
        elif event.what == "table":
            self.open_table(lst, event.index)

    def _add(self, lst: ChainList, index: int) -> None:
        from pfwizard.screens.add_restriction import AddRestrictionScreen

        def done(item: Item | None) -> None:
            if item is None:
                return
            at = self.session.insert(lst.param, index, item)
            lst.reload(at)
            lst.post_message(ChainList.Changed(lst))
            if self._own_new_table(item):
                self.open_table(lst, at)

        key = LIST_OF_PARAM.get(lst.param, "recipient")
        self.app.push_screen(AddRestrictionScreen(self.session, key), done)

    def _own_new_table(self, item: Item) -> bool:
        if not item.arg or not item.name.startswith("check_") or not item.name.endswith("_access"):
            return False
        try:
            _, path = split_table(item.arg, self.session.config_dir)
        except ValueRefused:
            return False
        return not self.session.table_text(path)

    def _edit(self, lst: ChainList, index: int) -> None:
        from pfwizard.screens.edit_argument import EditArgumentScreen

        item = lst.items()[index]

        def done(changed: bool | None) -> None:
            if changed:
                lst.reload(index)
                lst.post_message(ChainList.Changed(lst))

        self.app.push_screen(EditArgumentScreen(self.session, lst.param, index, item), done)

    def open_table(self, lst: ChainList, index: int) -> None:
        from pfwizard.screens.table_editor import TableEditorScreen

        item = lst.items()[index]
        try:
            map_type, path = split_table(item.arg or "", self.session.config_dir)
        except ValueRefused as exc:
            self.notify(str(exc), severity="error")
            return

        def done(saved: bool | None) -> None:
            if saved:
                # The marks depend on the table's lines too: redraw them, or an X stays
                # beside an entry whose table the save just made safe.
                lst.reload(index)
                lst.post_message(ChainList.Changed(lst))

        self.app.push_screen(TableEditorScreen(self.session, item.name, map_type, path), done)

    # ---- navigation ----------------------------------------------------------------------
    def action_cycle_list(self) -> None:
        if len(self.LISTS) < 2:
            return
        i = self.LISTS.index(self.chain_list.param)
        self.chain_list.set_param(self.LISTS[(i + 1) % len(self.LISTS)])
        self.refresh_view()

    def action_back(self) -> None:
        self.finish(Action.BACK)

    def action_skip(self) -> None:
        """Skip leaves this stage's lists as they were read: with edits made here, ask
        first (keep them and go on, or discard them), never throw them away silently."""
        if not self.session.dirty(self.STEP_ID):
            self.finish(Action.SKIP)
            return
        from pfwizard.screens.choice import ChoiceScreen

        def done(choice: str | None) -> None:
            if choice == "keep":
                self.action_next()
            elif choice == "discard":
                self.session.revert(STAGE_PARAMS[self.STEP_ID])
                self.app.notify(
                    f"{title}: your changes were discarded (z on any stage brings them back).",
                    timeout=6,
                )
                self.finish(Action.SKIP)

        title = step(self.STEP_ID).title
        edited = ", ".join(p for p in STAGE_PARAMS[self.STEP_ID] if p in self.session.edits)
        self.app.push_screen(
            ChoiceScreen(
                f"You changed {edited} on this stage. Skip the {title} stage?",
                [
                    ("keep", "Keep my changes and go on"),
                    ("discard", f"Discard my {title} changes and go on"),
                    ("stay", "Stay on this stage"),
                ],
            ),
            done,
        )

    def action_next(self) -> None:
        blocking = self.session.blocking(STAGE_PARAMS[self.STEP_ID])
        if not blocking:
            self.finish(Action.NEXT)
            return
        never = [f for f in blocking if not f.acceptable]
        if never:
            self.notify(f"X DANGER, cannot go on: {never[0].message}", severity="error", timeout=8)
            self.refresh_panel()
            return
        from pfwizard.screens.confirm import ConfirmScreen

        def done(yes: bool | None) -> None:
            if yes:
                for f in blocking:
                    self.session.accept(f)
                self.finish(Action.NEXT)

        text = "\n".join(f"X DANGER: {f.message}" for f in blocking)
        self.app.push_screen(ConfirmScreen(f"{text}\n\nAccept this risk and go on?"), done)
