"""Welcome: the box's recent rejects (the reason most admins come), which box and config, the
MiaB release, findings on the config as it is now."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Input, OptionList, Static

from pfwizard.errors import PfwizardError
from pfwizard.tui.flow import Action
from pfwizard.tui.stage import WizardScreen
from pfwizard.tui.widgets.risk_panel import findings_text
from pfwizard.tui.wrap import WrappedStatic

if TYPE_CHECKING:  # the explain engine loads in the worker, after the first frame
    from pfwizard.explain.recent import RecentCause, RecentRejects


class WelcomeScreen(WizardScreen):
    STEP_ID = "welcome"
    RESULTS = frozenset(
        {
            Action.NEXT,
            Action.RESTORE,
            Action.RECIPES,
            Action.HISTORY,
            Action.HELO,
            Action.SENDER,
            Action.RECIPIENT,
            Action.MILTER,
        }
    )
    HELP = (
        "pfwizard walks through HELO, sender, recipient/relay and milter settings, shows "
        "the risk of every choice, then the diff of every file. Nothing is written before "
        "Apply; every apply is backed up and can be rolled back (r). At the top: the mail "
        "log's rejects of the last 7 days by cause; Tab to them, Enter opens the recipe or "
        "the stage that fixes one (filled in from the log), or paste one reject line into "
        "the field below and press Enter."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Start", id="next"),
        Binding("enter", "next", "Start", show=False, id="enter"),
        Binding("r", "rollback", "History", id="history"),
        # Restore only when drift is found; the recipes always.
        Binding("u", "restore", "Restore", id="welcome.restore"),
        Binding("c", "recipes", "Recipes", id="recipes"),
    ]

    DEFAULT_CSS = """
    WelcomeScreen #rejects { height: auto; max-height: 7; border: round $secondary; }
    WelcomeScreen #paste-reject { height: 3; margin-bottom: 1; }
    """

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        with VerticalScroll(classes="page", id="welcome-page"):
            # Start from the reject: the box's recent rejects first, read in a worker.
            yield Static(self.rejects_head(), id="rejects-head", markup=False)
            yield OptionList(id="rejects")
            yield Static(id="reject-detail", markup=False)
            yield Input(
                placeholder="or paste a reject line (NOQUEUE: reject: ...) + Enter",
                id="paste-reject",
            )
            # Findings are a heading and an indented reason: a wrapped reason continues
            # under its own text, never at column 0 where it reads as the next finding.
            yield WrappedStatic(self.body(), id="welcome-body", deeper=0)
        yield from self.compose_footer()

    # ---- recent rejects ----------------------------------------------------------------------
    recent: RecentRejects | None = None
    causes: tuple[RecentCause, ...] = ()

    def rejects_head(self) -> str:
        log = self.wizard.mail_log
        if log is None:
            return "Recent rejects: no mail log given."
        r = self.recent
        if r is None:
            return f"Recent rejects: reading the last 7 days of {log or 'the mail log'}..."
        if r.error:
            return f"Recent rejects: {r.source}: {r.error}"
        if not r.causes:
            return f"Recent rejects: none in the last 7 days of {r.source}."
        return (
            f"Recent rejects ({r.total} in the last 7 days of {r.source}); Tab to the "
            "list, Enter opens the fix:"
        )

    def _load_rejects(self) -> None:
        if self.wizard.mail_log is None:
            return
        self.run_worker(self._read_rejects, thread=True, name="recent-rejects", exit_on_error=False)

    def _read_rejects(self) -> None:
        from pfwizard.explain import BoxConfig
        from pfwizard.explain.recent import RecentRejects, recent_rejects

        try:
            found = recent_rejects(
                BoxConfig.load(self.session.config_dir), self.wizard.mail_log or None
            )
        except (PfwizardError, OSError) as exc:  # main.cf unreadable: said, the wizard goes on
            from datetime import datetime

            found = RecentRejects(
                self.wizard.mail_log or "the mail log",
                datetime.now(),
                (),
                0,
                f"cannot explain the rejects: {exc}",
            )
        self.app.call_from_thread(self._show_rejects, found)

    def _show_rejects(self, found: RecentRejects) -> None:
        self.recent, self.causes = found, found.causes
        if not self.is_attached:  # the admin went on before the log was read
            return
        lst = self.query_one("#rejects", OptionList)
        lst.clear_options()
        lst.add_options([c.label() for c in found.causes])
        lst.display = bool(found.causes)
        self.query_one("#rejects-head", Static).update(self.rejects_head())
        if found.causes:
            lst.highlighted = 0
            self._detail(found.causes[0])

    def _detail(self, cause: RecentCause) -> None:
        senders = len(cause.senders)
        detail = self.query_one("#reject-detail", Static)
        detail.display = True
        detail.update(
            f"  where: {cause.where()}; {senders} sender{'s' if senders != 1 else ''}\n"
            f"  Enter opens: {cause.fix_words()}"
        )

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_list.id == "rejects" and event.option_index < len(self.causes):
            self._detail(self.causes[event.option_index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "rejects" and event.option_index < len(self.causes):
            self.open_fix(self.causes[event.option_index])

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "paste-reject" or not event.value.strip():
            return
        from pfwizard.explain import BoxConfig
        from pfwizard.explain.recent import pasted_reject

        try:
            cause = pasted_reject(event.value, BoxConfig.load(self.session.config_dir))
        except (PfwizardError, OSError) as exc:  # main.cf unreadable: said, the wizard goes on
            self.notify(f"Cannot explain it: {exc}", severity="error", timeout=8)
            return
        if cause is None:
            self.notify(
                "That is not a Postfix reject line (expected 'NOQUEUE: reject: RCPT from ...').",
                severity="warning",
                timeout=6,
            )
            return
        self.open_fix(cause)

    def open_fix(self, cause: RecentCause) -> None:
        """The stage concerned, with the cause's recipe open and filled in from the log."""
        from pfwizard.explain.recent import fix_for
        from pfwizard.session import STAGE_PARAMS

        fix = fix_for(cause)
        if fix.recipe:
            self.wizard.recipe_start = fix
            self.finish(Action.RECIPES)
            return
        stage = next((st for st, params in STAGE_PARAMS.items() if fix.parameter in params), None)
        self.notify(cause.words, title="Why", timeout=12)
        opens = {
            "helo": lambda: self.finish(Action.HELO),
            "sender": lambda: self.finish(Action.SENDER),
            "recipient": lambda: self.finish(Action.RECIPIENT),
            "milter": lambda: self.finish(Action.MILTER),
        }
        if stage in opens:
            opens[stage]()

    restore: tuple[bool, list[str]] | None = None
    """(in sync, what differs); None until checked."""
    release: str | None = None

    def on_mount(self) -> None:
        self.query_one("#welcome-page").focus()
        self.query_one("#rejects", OptionList).display = False
        self.query_one("#reject-detail").display = False
        self.query_one("#rejects-head").display = self.wizard.mail_log is not None
        self.wizard.after_first_paint(self._load_rejects)
        # The restore check (customizations.yaml, the YAML library, the intent planner),
        # `git describe` and the findings (the analyser) run once the first frame is on
        # screen, not before it.
        self.wizard.after_first_paint(self._check_restore)
        super().on_mount()

    def _check_restore(self) -> None:
        self.release = self.session.miab_release()
        try:
            self.restore = self.session.restore_status()
        except Exception as exc:  # a broken customizations.yaml is reported, not fatal here
            self.restore = (False, [f"cannot read the customisations: {exc}"])
        had_drift = self.drift
        self.refresh_view()
        if self.drift != had_drift:
            # "u Restore" appears only with drift; rebuilding the footer costs a redraw.
            self.refresh_bindings()

    def body(self) -> Text:
        s = self.session
        text = Text()
        text.append("Box: ", style="bold")
        text.append(f"{s.box_name()}\n")
        text.append("Postfix config: ", style="bold")
        text.append(f"{s.config_dir}\n")
        text.append("Backups & journal: ", style="bold")
        text.append(f"{s.state_dir}\n")
        release = self.release
        text.append("Mail-in-a-Box: ", style="bold")
        where = (
            f"no git checkout at {s.miab_checkout}"
            if s.miab_checkout
            else "no checkout found; set PFWIZARD_MIAB_DIR"
        )
        if self.restore is None:
            text.append("checking...\n")
        else:
            text.append(
                f"{release} (git describe in {s.miab_checkout})\n"
                if release
                else f"release unknown ({where})\n"
            )
        in_sync, drift = self.restore or (True, [])
        self.drift = not in_sync  # "u Restore" only when there is drift
        if self.restore is None:
            text.append("Customisations: checking...\n")
        elif not in_sync:
            text.append(
                "\n! CAUTION: your recorded customisations are not all in force "
                "(a MiaB upgrade?). Press u to restore them "
                "(or run: sudo pfwizard restore)\n",
                style="yellow",
            )
            for line in drift[:8]:
                text.append(f"  {line}\n")
        for note in self.state.notes:
            text.append(f"{note}\n", style="yellow")
        glued = s.cf.glued_continuations()
        if glued:
            text.append(
                f"\n! CAUTION: {len(glued)} glued continuation line(s) from a MiaB upgrade:\n",
                style="yellow",
            )
            for g in glued:
                text.append(f"  {g.describe()}\n")
        text.append("\nFindings on the current configuration\n", style="bold underline")
        if self.restore is None:
            # The analyser loads and runs after the first frame, with the restore check.
            text.append("checking...\n")
        else:
            text.append_text(findings_text(s.findings(), empty="None: nothing to worry about."))
        text.append(
            "\nNothing has been written yet. Every change is shown as a diff before Apply.\n",
            style="bold",
        )
        return text

    def refresh_view(self) -> None:
        self.query_one("#welcome-body", Static).update(self.body())

    def action_next(self) -> None:
        self.finish(Action.NEXT)

    drift = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.drift if action == "restore" else True

    def action_restore(self) -> None:
        self.finish(Action.RESTORE)

    def action_recipes(self) -> None:
        self.finish(Action.RECIPES)

    def action_rollback(self) -> None:
        self.finish(Action.HISTORY)
