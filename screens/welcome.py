"""Welcome: which box and config, the MiaB release, findings on the config as it is now."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from tui.flow import Action
from tui.stage import WizardScreen
from tui.widgets.risk_panel import findings_text


class WelcomeScreen(WizardScreen):
    STEP_ID = "welcome"
    HELP = ("pfwizard walks through HELO, sender, recipient/relay and milter settings, shows "
            "the risk of every choice, then the diff of every file. Nothing is written before "
            "Apply; every apply is backed up and can be rolled back (r).")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "Start", id="next"),
        Binding("enter", "next", "Start", show=False, id="enter"),
        Binding("r", "rollback", "History", id="history"),
        # Restore only when drift is found; the recipes always.
        Binding("u", "restore", "Restore", id="welcome.restore"),
        Binding("c", "recipes", "Recipes", id="recipes"),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        with VerticalScroll(classes="page", id="welcome-page"):
            yield Static(self.body(), id="welcome-body")
        yield from self.compose_footer()

    restore: tuple[bool, list[str]] | None = None
    """(in sync, what differs); None until checked."""
    release: str | None = None

    def on_mount(self) -> None:
        self.query_one("#welcome-page").focus()
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
        where = (f"no git checkout at {s.miab_checkout}" if s.miab_checkout else
                 "no checkout found; set PFWIZARD_MIAB_DIR")
        if self.restore is None:
            text.append("checking...\n")
        else:
            text.append(f"{release} (git describe in {s.miab_checkout})\n" if release else
                        f"release unknown ({where})\n")
        in_sync, drift = self.restore or (True, [])
        self.drift = not in_sync  # "u Restore" only when there is drift
        if self.restore is None:
            text.append("Customisations: checking...\n")
        elif not in_sync:
            text.append("\n! CAUTION: your recorded customisations are not all in force "
                        "(a MiaB upgrade?). Press u to restore them "
                        "(or run: sudo pfwizard restore)\n",
                        style="yellow")
            for line in drift[:8]:
                text.append(f"  {line}\n")
        for note in self.wizard.notes:
            text.append(f"{note}\n", style="yellow")
        glued = s.cf.glued_continuations()
        if glued:
            text.append(f"\n! CAUTION: {len(glued)} glued continuation line(s) from a MiaB "
                        "upgrade:\n", style="yellow")
            for g in glued:
                text.append(f"  {g.describe()}\n")
        text.append("\nFindings on the current configuration\n", style="bold underline")
        if self.restore is None:
            # The analyser loads and runs after the first frame, with the restore check.
            text.append("checking...\n")
        else:
            text.append_text(findings_text(s.findings(), empty="None: nothing to worry about."))
        text.append("\nNothing has been written yet. Every change is shown as a diff before "
                    "Apply.\n", style="bold")
        return text

    def refresh_view(self) -> None:
        self.query_one("#welcome-body", Static).update(self.body())

    def action_next(self) -> None:
        self.finish(Action.NEXT)

    drift = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return self.drift if action == "restore" else True

    def action_restore(self) -> None:
        self.finish(Action.GOTO, "restore")

    def action_recipes(self) -> None:
        self.finish(Action.GOTO, "recipes")

    def action_rollback(self) -> None:
        self.finish(Action.GOTO, "rollback")
