"""Live probe (after Apply, or on demand from Done): the forum's telnet test done for the admin.

EHLO, MAIL FROM, RCPT TO with the admin's sample addresses against this box's smtp listener,
then RSET/QUIT, never DATA; each refusal explained in plain words; what the probe could not
show (no XCLIENT for this machine) said as such.  The work is ``pfwizard.live_probe``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Label, RichLog, Static

from pfwizard import live_probe
from pfwizard.explain.render import explanation_lines
from pfwizard.probe import OUTSIDE_ADDR
from pfwizard.tui.stage import WizardScreen
from pfwizard.tui.wrap import write_wrapped
from pfwizard.wizard.state import ProbeSample


def _words(text: str) -> list[str]:
    return [w for w in text.replace(",", " ").split() if w]


class ProbeScreen(WizardScreen):
    STEP_ID = "probe"
    HELP = (
        "Live probe: pfwizard connects to this box's smtp port and says EHLO, MAIL FROM "
        "and RCPT TO with your sample addresses, then RSET and QUIT: never DATA, so "
        "nothing is delivered. To see what an outside sender sees it asks Postfix for "
        "XCLIENT (smtpd_authorized_xclient_hosts); without it the result says what could "
        "not be shown. F5 (or Enter in a field) runs it; Esc goes back."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5,ctrl+r", "probe", "Probe", key_display="F5", id="probe"),
        Binding("escape", "back", "Back", id="cancel"),
    ]
    DEFAULT_CSS = """
    ProbeScreen .field { height: 1; }
    ProbeScreen .field Label { width: 8; }
    ProbeScreen .field Input { border: none; height: 1; width: 1fr; padding: 0; }
    ProbeScreen #probe-log { height: 1fr; border: $frame $secondary; }
    """
    outside: str | None = OUTSIDE_ADDR
    """Address to impersonate with XCLIENT (None: probe as this machine)."""
    source: str | None = None
    """Local address to connect from (the bench uses 127.0.0.x)."""
    running = False
    host: str | None = None
    port: int | None = None

    def __init__(
        self, sender: str = "", recipients: list[str] | None = None, *, auto: bool = True
    ) -> None:
        super().__init__()
        self.sender, self.recipients, self.auto = sender, list(recipients or []), auto
        self.written: list[str] = []
        self.last: live_probe.LiveProbe | None = None

    def compose(self) -> ComposeResult:
        yield from self.compose_title()
        target = self.target()
        self.host, self.port = target or (None, None)
        if target is None:
            yield Static(
                live_probe.COPY_NOT_SERVED, classes="hint", markup=False, id="probe-target"
            )
        else:
            yield Static(
                f"Probing {target[0]}:{target[1]} (this box's smtp listener). Never "
                "DATA: nothing is delivered.",
                classes="hint",
                markup=False,
                id="probe-target",
            )
        with Horizontal(classes="field"):
            yield Label("Sender ")
            yield Input(
                self.sender, placeholder="sample sender, e.g. dmarc@example.org", id="probe-sender"
            )
        with Horizontal(classes="field"):
            yield Label("To     ")
            yield Input(
                " ".join(self.recipients), placeholder="sample recipient(s)", id="probe-rcpt"
            )
        yield RichLog(id="probe-log", wrap=True, markup=False, highlight=False)
        yield from self.compose_footer()

    def target(self) -> tuple[str, int] | None:
        """Where to probe: this box's smtp listener; in the demo only a Postfix running on
        the demo copy (None: there is none, and nothing is probed)."""
        if self.session.demo:
            from pfwizard.milters import queue_directory

            return live_probe.copy_target(self.session.config_dir, queue_directory(self.session))
        return live_probe.smtp_listen_address(self.session.config_dir)

    def on_mount(self) -> None:
        sample = self.state.probe_sample
        if sample and not self.sender:
            self.query_one("#probe-sender", Input).value = sample.sender
            self.query_one("#probe-rcpt", Input).value = " ".join(sample.recipients)
        self.query_one("#probe-sender", Input).focus()
        if self.auto and self.query_one("#probe-sender", Input).value:
            self.action_probe()
        super().on_mount()

    def answer_fields(self, fields: Mapping[str, Any]) -> None:
        """``sender`` and ``recipients`` (a list, or words): the sample addresses."""
        super().answer_fields(
            {k: v for k, v in fields.items() if k not in ("sender", "recipients")}
        )
        if "sender" in fields:
            self.query_one("#probe-sender", Input).value = str(fields["sender"])
        if "recipients" in fields:
            rcpts = fields["recipients"]
            words = _words(rcpts) if isinstance(rcpts, str) else [str(r) for r in rcpts]
            self.query_one("#probe-rcpt", Input).value = " ".join(words)

    def on_input_submitted(self) -> None:
        self.action_probe()

    def write_line(self, line: str) -> None:
        self.written.append(line)
        write_wrapped(self.query_one(RichLog), line)

    def action_probe(self) -> None:
        sender = self.query_one("#probe-sender", Input).value.strip()
        rcpts = _words(self.query_one("#probe-rcpt", Input).value)
        if not sender or not rcpts:
            self.notify("Give a sample sender and at least one recipient.", severity="warning")
            return
        if self.running:
            return
        if self.host is None or self.port is None:
            self.write_line(f"Not probed: {live_probe.COPY_NOT_SERVED}")
            return
        self.running = True
        self.state.probe_sample = ProbeSample(sender, tuple(rcpts))
        self.write_line(f"Probing: MAIL FROM:<{sender}> RCPT TO: {', '.join(rcpts)} ...")
        self.run_worker(
            lambda: self._run(sender, rcpts), thread=True, name="probe", exit_on_error=False
        )

    def _run(self, sender: str, rcpts: list[str]) -> Any:
        assert self.host is not None and self.port is not None
        try:
            out = live_probe.check(
                self.session.config_dir,
                sender,
                rcpts,
                host=self.host,
                port=self.port,
                outside=self.outside,
                source=self.source,
            )
        except Exception as exc:  # show what went wrong; a probe never changes anything
            self.app.call_from_thread(self._failed, f"{type(exc).__name__}: {exc}")
            return None
        self.app.call_from_thread(self._show, out)
        return out

    def _failed(self, error: str) -> None:
        self.running = False
        self.write_line(f"Probe failed: {error}")

    def _show(self, out: live_probe.LiveProbe) -> None:
        self.running, self.last = False, out
        for line in out.result.summary().splitlines():
            self.write_line(line)
        for exp in out.explanations:
            self.write_line(f"Why {exp.line.recipient} was refused:")
            for line in explanation_lines(exp):
                self.write_line(line)
        if out.explain_error:
            self.write_line(f"(could not explain the refusals: {out.explain_error})")
        if out.result.steps:
            self.write_line("Every reply, as telnet would show it:")
            for line in out.result.transcript().splitlines():
                self.write_line(f"  {line}")

    def action_back(self) -> None:
        self.dismiss(None)
