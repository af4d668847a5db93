"""Restore after a MiaB upgrade: per restriction list (and master.cf list option, such as
``master.cf authclean/unix/header_checks``), MiaB's value now | the base your
customisation was made on | yours, restored; conflicts side by side with the policy choice;
then the diff (Review) and the engine's steps (Apply), as for any change.

All the work is ``pfwizard.intent`` (``open_restore`` and ``RestoreContext.run``); these
screens only show its plan and carry the admin's choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from pfwizard import exitcodes
from pfwizard.errors import PfwizardError
from pfwizard.intent import ChainPlan, ConflictKind, Policy, RestorePlan
from pfwizard.intent.context import RestoreContext, open_restore
from pfwizard.intent.rebase import GONE_DECIDED
from pfwizard.intent.report import miab_changes
from pfwizard.intent.store import IntentError
from pfwizard.screens.apply import ApplyScreen
from pfwizard.screens.review import ReviewScreen, apply_question, confirm_accepting, diff_writes
from pfwizard.tui.diffview import diff_text
from pfwizard.tui.flow import Action
from pfwizard.tui.stage import WizardScreen
from pfwizard.tui.wrap import Wrapped
from pfwizard.wizard.apply import apply_restore
from pfwizard.wizard.state import Outcome

if TYPE_CHECKING:
    from pfwizard.engine import Plan

POLICY_WORDS = {
    None: "not chosen: nothing is written while conflicts are open",
    Policy.KEEP_MIAB: "keep MiaB's value (its new form of an item you removed or changed "
    "stays, an item of yours that cannot be placed is left out, a whole "
    "value MiaB changed stays MiaB's, a master.cf option whose service MiaB "
    "dropped waits for it; recorded as decided, not asked again)",
    Policy.REMOVE_NEW: "remove MiaB's new form of an item you removed too (recorded as "
    "decided; other conflicts stay open, as with skip)",
    Policy.SKIP: "skip (apply the rest; the conflicting customisation stays recorded)",
}


def open_context(screen: WizardScreen, policy: Policy | None) -> RestoreContext:
    s = screen.session
    return open_restore(s.config_dir, s.state_dir, policy=policy, miab_dir=s.miab_checkout)


def _items(chain: Any) -> list[str]:
    return [] if chain is None else [i.render() for i in chain.items]


SIDE_BY_SIDE_WIDTH = 110
"""Narrower than this (an 80-column SSH session), the three views are stacked: Postfix
restriction names are long and folding them mid-word hides what changed."""


def stacked(ch: ChainPlan) -> Text:
    now, base, result = _items(ch.miab_now), _items(ch.base), _items(ch.result)
    text = Text()
    for title, col, other in (
        ("MiaB now", now, base),
        ("base (yours made on)", base, None),
        ("yours, restored", result, now),
    ):
        text.append(f"  {title}:\n", style="bold")
        for word in col or ["(not set)"]:
            if other is not None and word not in other:
                text.append(f"  + {word}\n", style="green")
            else:
                text.append(f"    {word}\n")
    return text


def three_way(ch: ChainPlan, width: int = SIDE_BY_SIDE_WIDTH) -> Table | Text:
    """MiaB now | base | yours (restored): one item per row; ``+`` marks an item the column
    to its left lacks (MiaB added it / yours, put back)."""
    if width < SIDE_BY_SIDE_WIDTH:
        return stacked(ch)
    now, base, result = _items(ch.miab_now), _items(ch.base), _items(ch.result)
    table = Table(expand=True, show_edge=False, pad_edge=False, box=None, padding=(0, 1))
    table.add_column("MiaB now", ratio=1, overflow="fold")
    table.add_column("base (yours made on)", ratio=1, overflow="fold")
    table.add_column("yours, restored", ratio=1, overflow="fold")
    for i in range(max(len(now), len(base), len(result))):
        cells = []
        for col, other in ((now, base), (base, None), (result, now)):
            if i >= len(col):
                cells.append(Text(""))
                continue
            word = col[i]
            if other is not None and word not in other:
                # "+": not in the column to its left's list (MiaB added it / yours re-inserted)
                cells.append(Text(f"+ {word}", style="green"))
            else:
                cells.append(Text(f"  {word}"))
        table.add_row(*cells)
    return table


def conflicts_table(plan: RestorePlan) -> Table:
    table = Table(expand=True, show_edge=False, box=None, padding=(0, 1))
    table.add_column("MiaB now", ratio=1, overflow="fold")
    table.add_column("your customisation", ratio=1, overflow="fold")
    by_param = {c.parameter: c for c in plan.chains + plan.master_chains}
    for c in plan.conflicts:
        ch = by_param.get(c.parameter)
        now = (
            "\n".join(_items(ch.miab_now))
            if ch is not None and ch.miab_now
            else (
                next(
                    (
                        repr(p.current)
                        for p in plan.parameters + plan.master_options
                        if p.intent.name == c.parameter
                    ),
                    "(see below)",
                )
            )
        )
        yours = c.operation.describe() if c.operation is not None else c.message
        table.add_row(Text(f"{c.parameter}:\n{now}"), Text(f"! {yours}"))
        table.add_row(Text(""), Text(c.message, style="italic"))
    return table


def plan_view(ctx: RestoreContext, width: int = 80) -> Group:
    plan = ctx.plan
    parts: list[Any] = []
    head = Text()
    head.append("MiaB release: ", style="bold")
    head.append(
        f"{ctx.release or 'unknown'}; customisations recorded for "
        f"{ctx.store.model.miab_release or 'an unknown release'} in {ctx.store.path}\n"
    )
    if ctx.store.model.is_empty():
        head.append(
            "No customisations recorded yet: every Apply from this wizard records "
            "its change here, for restore.\n",
            style="bold",
        )
    elif plan.in_sync and not plan.conflicts:
        head.append("In sync: every customisation is in force. Nothing to restore.\n", style="bold")
    for a in ctx.adoptable:
        head.append(
            f"! hand-made, commented out by MiaB, not recorded: {a.describe()} "
            "(pfwizard restore --adopt records it)\n",
            style="yellow",
        )
    parts.append(head)
    for ch in plan.chains + plan.master_chains:
        states = "; ".join(s.value for s in ch.states())
        where = "master.cf " if ch.master else ""
        parts.append(Text(f"{where}{ch.parameter}: {states}", style="bold underline"))
        if ch.in_sync:
            continue
        view = three_way(ch, width)
        # Stacked, one entry per row: a long entry (a table path) continues under itself.
        parts.append(Wrapped(view, deeper=2) if isinstance(view, Text) else view)
        extra = Text()
        for m in miab_changes(ch):
            extra.append(f"  {m} (kept)\n")
        for g in ch.glued:
            extra.append(f"  ! glued lines repaired: main.cf {g.describe()}\n")
        parts.append(extra)
    other = Text()
    for p, where in [(p, "") for p in plan.parameters] + [
        (p, "master.cf ") for p in plan.master_options
    ]:
        if p.in_sync:
            other.append(f"{where}{p.intent.name}: in sync\n")
        else:
            now = "not set" if p.current is None else repr(p.current)
            want = "removed" if p.intent.value is None else repr(p.intent.value)
            other.append(f"{where}{p.intent.name}: MiaB now {now} | yours {want}\n", style="bold")
    for t in plan.tables:
        if t.problem:
            other.append(f"table {t.intent.path}: {t.problem} (rebuilt from the record)\n")
    for note in plan.notes:
        other.append(f"note: {note}\n")
    parts.append(other)
    if plan.conflicts or plan.decided:
        # Once the policy decided every conflict, the choice stays on the page: the admin
        # can still see it, and change or clear it.
        if plan.conflicts:
            parts.append(
                Text(
                    f"! Conflicts ({len(plan.conflicts)}): pfwizard does not guess",
                    style="bold yellow",
                )
            )
            parts.append(conflicts_table(plan))
        removal = any(c.kind is ConflictKind.REMOVED_CHANGED for c in plan.conflicts + plan.decided)
        parts.append(
            Text(
                f"Policy: {POLICY_WORDS[plan.policy]}\n"
                "m: keep MiaB's value   o: skip for now   (again: clear the choice)"
                + ("   g: remove the new form too" if removal else ""),
                style="bold",
            )
        )
    for c in plan.decided:
        # A master.cf service or option MiaB dropped is decided for the whole entry.
        what = c.operation if c.operation is not None else GONE_DECIDED.get(c.kind, c.message)
        parts.append(
            Text(
                f"decided ({plan.policy.value if plan.policy else ''}): {c.parameter}: {what}",
                style="bold",
            )
        )
    return Group(*parts)


class RestoreScreen(WizardScreen):
    STEP_ID = "restore"
    RESULTS = frozenset({Action.NEXT, Action.BACK})
    HELP = (
        "Restore: after a MiaB upgrade, your recorded customisations are replayed onto "
        "what MiaB wrote. Each list shows MiaB's value now, the base you customised, and "
        "yours restored (+ marks an item not in the column to its left). Conflicts are "
        "never guessed: m keeps MiaB's value, o skips them for now, g removes MiaB's "
        "new form of an item you removed too (the same key again clears the choice). "
        "n reviews the diff; nothing is written before Apply (w)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Review", id="next"),
        Binding("enter", "next", "Review", show=False, id="enter"),
        # Keys of their own: k is Up, s is a stage's Skip, x removes an entry elsewhere.
        # Each toggles: pressed again, the choice is cleared.
        Binding("m", "policy('keep-miab')", "Keep MiaB's", id="restore.keep_miab"),
        Binding("o", "policy('skip')", "Skip for now", id="restore.skip"),
        Binding(
            "g", "policy('remove-new')", "Remove new form", show=False, id="restore.remove_new"
        ),
        Binding("b", "back", "Back", id="back"),
        Binding("escape", "back", "Back", show=False, id="cancel"),
    ]
    error = ""
    view: Group | None = None
    """What the page shows (tests render it as plain text)."""

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        with VerticalScroll(classes="page", id="restore-page"):
            yield Static(id="restore-body")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        self.query_one("#restore-page").focus()
        if self.state.restore is None:
            self.load(None)
        self.refresh_view()
        super().on_mount()

    @property
    def ctx(self) -> RestoreContext | None:
        ctx: RestoreContext | None = self.state.restore
        return ctx

    def load(self, policy: Policy | None) -> None:
        try:
            self.state.restore = open_context(self, policy)
            self.error = ""
        except (IntentError, PfwizardError, OSError) as exc:
            self.state.restore, self.error = None, str(exc)

    def refresh_view(self) -> None:
        body = self.query_one("#restore-body", Static)
        ctx = self.ctx
        if ctx is None:
            body.update(
                Text(
                    f"Cannot plan the restore: {self.error}\nNothing has been written.",
                    style="bold",
                )
            )
        else:
            self.view = plan_view(ctx, self.app.size.width)
            body.update(self.view)

    def on_resize(self) -> None:
        self.refresh_view()

    def answer_fields(self, fields: Mapping[str, Any]) -> None:
        """``policy``: what to do with conflicts (keep-miab, skip, remove-new), as m/o/g."""
        rest = {k: v for k, v in fields.items() if k != "policy"}
        super().answer_fields(rest)
        if "policy" in fields:
            self.load(Policy(str(fields["policy"])))
            self.refresh_view()

    def action_policy(self, value: str) -> None:
        ctx = self.ctx
        now = ctx.plan.policy if ctx is not None else None
        policy = None if not value or (now is not None and now.value == value) else Policy(value)
        self.load(policy)
        self.refresh_view()  # the "Policy:" line under the conflicts says what was chosen

    def action_next(self) -> None:
        ctx = self.ctx
        if ctx is None:
            self.notify("Nothing to review: the restore could not be planned.", severity="error")
            return
        if ctx.plan.in_sync and not ctx.plan.conflicts:
            self.notify("In sync: nothing to restore.")
            return
        if ctx.plan.conflicts and ctx.plan.policy is None:
            self.notify(
                "Choose what to do with the conflicts first: m, o (or g).",
                severity="warning",
                timeout=6,
            )
            return
        self.finish(Action.NEXT)

    def action_back(self) -> None:
        self.state.restore = None
        self.finish(Action.BACK)


class RestoreReviewScreen(ReviewScreen):
    """The diff the restore would write (the engine's plan, as ``restore --dry-run``)."""

    STEP_ID = "restore_review"
    # ``plan`` (the wizard's engine Plan) stays None here: Textual also runs ReviewScreen's
    # own handlers (on_resize), which must find nothing of theirs to redraw.
    ready = False
    said: list[str]

    def refresh_view(self) -> None:
        self.plan, self.error, self.said, self.ready = None, "", [], False
        ctx: RestoreContext | None = self.state.restore
        body = self.query_one("#diff", Static)
        if ctx is None:
            self.error = "no restore planned"
            body.update("No restore planned. Press b to go back.")
        else:
            # Only the plan here: the checks run when the admin applies (w), off the UI thread.
            code = ctx.run(
                reload=self.session.reload, dry_run=True, say=self.said.append, check=False
            )
            if code not in (exitcodes.OK, exitcodes.CHANGED):
                self.error = "the restore cannot go ahead (see above)"
            self.ready = True
            body.update(diff_text("\n".join(self.said), self.diff_width(), self.wizard.glyphs.wrap))
        self.refresh_status()

    def refresh_status(self) -> None:
        where = "reloads Postfix" if self.session.reload else "no reload"
        self.query_one("#review-status", Static).update(
            f"Nothing written yet. w: apply (backup, postfix check, {where}; any failure "
            "puts the old files back)"
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Confirm-or-revert is the wizard's own apply path; restore does not offer it.
        return action != "toggle_confirm"

    def impact_plan(self) -> Plan | None:
        """What the restore would write, as the engine plans it (the dry run above): the
        impact preview replays it as it does the wizard's own change."""
        ctx: RestoreContext | None = self.state.restore
        if not self.ready or self.error or ctx is None or ctx.request is None:
            return None
        prepared = ctx.request.prepared
        return None if prepared is None else prepared.plan

    def action_apply(self) -> None:
        ctx: RestoreContext | None = self.state.restore
        if not self.ready or self.error or ctx is None:
            self.notify(f"Nothing to apply: {self.error}", severity="warning")
            return
        # What the engine's safety check would refuse, asked here as Review asks: a danger
        # the admin accepts by name goes through (the wizard's --accept-risk), never an
        # open relay.
        blocking = ctx.danger()
        accepted: set[str] = set()

        def go() -> None:
            ctx.accepted = frozenset(accepted)
            self.finish(Action.NEXT)

        if self.answered and not blocking:  # the answers file decided beforehand: no question
            go()
            return

        question = apply_question(
            diff_writes("\n".join(self.said)), self.session.config_dir, reload=self.session.reload
        )
        confirm_accepting(
            self,
            blocking,
            question,
            yes="restore now",
            no="back to the diff",
            accept=lambda f: accepted.add(f.code),
            then=go,
        )

    def action_back(self) -> None:
        self.finish(Action.BACK)


class RestoreApplyScreen(ApplyScreen):
    """The engine's steps for the restore (``RestoreContext.run``: backup, write, check,
    reload, rollback on failure; then customizations.yaml gets the new base)."""

    STEP_ID = "restore_apply"

    def _apply(self) -> Outcome:
        def say(line: str) -> None:
            self.app.call_from_thread(self.write_line, line)

        def progress(event: Any) -> None:  # the engine's steps, drawn as the wizard's Apply
            self.app.call_from_thread(self._step, event)

        outcome = apply_restore(
            self.state.restore, reload=self.session.reload, say=say, progress=progress
        )
        self.app.call_from_thread(self._done, outcome)
        return outcome

    def _record(self, outcome: Outcome) -> None:
        self.state.applied(outcome, restore=True)

    def action_next(self) -> None:
        if not self.finished:
            self.notify("Restore is still running.", timeout=2)
            return
        self.state.restore = None
        self.finish(Action.NEXT)
