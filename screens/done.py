"""Done: the result, where the backup is, the confirm-or-revert countdown if asked for, and
the after-upgrade restore hook (installed and when it last ran, or offered)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from pfwizard.tui.flow import Action
from pfwizard.tui.stage import WizardScreen
from pfwizard.wizard.state import Outcome


def what_happened(result: Outcome, demo: bool, reload: bool = True) -> str:
    """The outcome in the words of what was done: written where, reloaded or not.

    The engine's steps say whether Postfix was reloaded; an outcome without them (restore's)
    is taken at the session's word (``reload``: --no-reload not given)."""
    if demo:
        return "written to the demo copy; nothing was reloaded."
    if result.reloaded is None:
        reloaded, why = reload, "" if reload else "--no-reload"
    else:
        reloaded, why = result.reloaded, result.reload_note
    if reloaded:
        return "the change is in force: written, and Postfix reloaded."
    return (
        "written; Postfix was not reloaded"
        + (f" ({why})" if why else "")
        + ": the change takes effect at its next reload."
    )


class DoneScreen(WizardScreen):
    STEP_ID = "done"
    RESULTS = frozenset({Action.HISTORY})
    HELP = (
        "Done. If confirm-or-revert is on, press y to keep the change before the "
        "countdown ends; otherwise it is rolled back by itself (even if this session "
        "dies). pfwizard rollback restores any earlier state."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "keep", "Keep change", id="yes"),
        Binding("r", "history", "History", id="history"),
        # F5 runs the live probe here and on the probe screen (p is milter_protocol).
        Binding("f5,ctrl+r", "probe", "Probe", key_display="F5", id="probe"),
        Binding("i", "install_hook", "Restore hook", id="install_hook"),
        Binding("enter", "quit_wizard", "Quit", show=False, id="enter"),
    ]
    remaining: int | None = None
    confirmed = False
    hook_note: str | None = None
    """What installing the hook from this screen said (None: not tried)."""
    hook_installed = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # i is offered only where it can do something: not in the demo, not once installed.
        if action == "install_hook":
            return not self.session.demo and not self.hook_installed
        return True

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        with VerticalScroll(classes="page", id="done-page"):
            yield Static(id="done-body")
        yield from self.compose_footer()

    def on_mount(self) -> None:
        res = self.state.outcome
        if res is not None and res.ok and self.state.confirm_within:
            self.remaining = int(self.state.confirm_within)
            self.set_interval(1.0, self._tick)
        self.refresh_view()
        super().on_mount()
        # After a recipe's Apply, probe with its sample addresses at
        # once (not while a confirm-or-revert countdown needs this screen's y).
        if res is not None and res.ok and self.state.probe_sample and self.remaining is None:
            self.action_probe()

    def _tick(self) -> None:
        if self.remaining is None or self.confirmed:
            return
        self.remaining = max(0, self.remaining - 1)
        self.refresh_view()

    def body(self) -> Text:
        res = self.state.outcome
        text = Text()
        if res is None:
            text.append("Nothing was applied. Nothing has been written.\n", style="bold")
            return text
        if res.ok:
            text.append(
                f"OK: {what_happened(res, self.session.demo, self.session.reload)}\n",
                style="bold green",
            )
            text.append(f"Journal entry: {res.entry_id or '?'}\n")
        else:
            text.append("FAILED: nothing changed.\n", style="bold red")
            text.append(f"{res.error}\n")
            text.append("Every file was put back; the previous configuration is in force.\n")
        text.append(f"Backups and journal: {self.session.state_dir}\n")
        text.append("Undo at any time: pfwizard rollback\n")
        if self.session.demo:
            text.append(
                "Live SMTP probe (F5): only of a Postfix running on the demo copy; "
                "the system's Postfix is never probed\n"
            )
        else:
            text.append("Live SMTP probe of this box (never delivers anything): F5\n")
        self._hook_lines(text)
        if self.remaining is not None:
            if self.confirmed:
                text.append("\nConfirmed: the change stays.\n", style="bold")
            elif self.remaining > 0:
                text.append(
                    f"\nConfirm within {self.remaining} s or the change is rolled "
                    "back by itself: press y to keep it.\n",
                    style="bold yellow",
                )
            else:
                text.append(
                    "\nNot confirmed in time: pfwizard rolls the change back.\n",
                    style="bold yellow",
                )
        return text

    def _hook_lines(self, text: Text) -> None:
        """The end of the story: customisations come back after a MiaB upgrade only if the
        restore hook runs; say whether it is there and how its last run went."""
        if self.session.demo:
            return
        from pfwizard.intent.hook import installed_hook, last_outcome

        text.append("\n")
        if self.hook_note:
            text.append(f"{self.hook_note}\n")
        hook = installed_hook(self.session.config_dir, self.state.hook_dir)
        if self.hook_installed != (hook is not None):
            self.hook_installed = hook is not None
            self.refresh_bindings()
        if hook is None:
            text.append(
                "After a Mail-in-a-Box upgrade your customisations stay lost until "
                "pfwizard restore runs: the restore hook is not installed.\n",
                style="bold yellow",
            )
            text.append("Press i to install it (it runs pfwizard restore after every upgrade).\n")
            return
        text.append(f"Restore hook installed ({hook.kind}: {hook.path}). ")
        last = last_outcome(self.session.state_dir)
        if last is None:
            text.append("It has not run yet.\n")
        elif last.failed:
            text.append(f"Its last run, {last.when}, FAILED: {last.message}\n", style="bold red")
        else:
            text.append(f"Last run {last.when}: {last.message}\n")

    def action_install_hook(self) -> None:
        if self.session.demo:
            return
        from pfwizard.intent.hook import installed_hook, preferred_kind
        from pfwizard.screens.confirm import ConfirmScreen

        if installed_hook(self.session.config_dir, self.state.hook_dir) is not None:
            self.notify("The restore hook is already installed.", timeout=3)
            return
        kind = preferred_kind()
        what = (
            "a systemd path unit that runs pfwizard restore when MiaB rewrites main.cf or master.cf"
            if kind == "systemd"
            else "a cron entry that runs pfwizard restore every 15 minutes (it changes "
            "nothing when nothing is missing)"
        )

        def done(yes: bool | None) -> None:
            if yes:
                self._install(kind)

        self.app.push_screen(ConfirmScreen(f"Install the restore hook: {what}?"), done)

    def _install(self, kind: str) -> None:
        from pfwizard.intent.hook import HookError, install_hook

        hook_dir = self.state.hook_dir
        try:
            said = install_hook(
                kind,
                str(self.session.config_dir),
                str(self.session.state_dir),
                None if hook_dir is None else str(hook_dir),
            )
            self.hook_note = "Installed the restore hook: " + "; ".join(said)
        except (HookError, OSError) as exc:
            self.hook_note = f"The restore hook was not installed: {exc}"
        self.refresh_view()

    def refresh_view(self) -> None:
        self.query_one("#done-body", Static).update(self.body())

    def action_keep(self) -> None:
        res = self.state.outcome
        if self.remaining is None or res is None or not res.ok or res.entry_id is None:
            return
        self.wizard.engine.confirm(res.entry_id)
        self.confirmed = True
        self.refresh_view()

    def action_probe(self) -> None:
        from pfwizard.screens.probe import ProbeScreen

        self.app.push_screen(ProbeScreen())

    def action_history(self) -> None:
        self.finish(Action.HISTORY)
