"""HELO stage: ``smtpd_helo_required`` and ``smtpd_helo_restrictions`` (client list too)."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType

from pfwizard.screens.chain_stage import ChainStageScreen


class HeloScreen(ChainStageScreen):
    STEP_ID = "helo"
    LISTS = ("smtpd_helo_restrictions", "smtpd_client_restrictions")
    INTRO = "What a client must say in HELO/EHLO. MiaB never sets these: they survive upgrades."
    HELP = (
        "HELO stage. h toggles smtpd_helo_required (clients must send HELO/EHLO first). "
        "l switches to the client list (smtpd_client_restrictions)."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("h", "toggle_required", "HELO req", show=False, id="helo.required"),
    ]

    def param_line(self) -> str:
        req = self.session.value("smtpd_helo_required") or "no (default)"
        return f"smtpd_helo_required = {req}  (h)   " + super().param_line()

    def action_toggle_required(self) -> None:
        now = (self.session.value("smtpd_helo_required") or "no").strip().lower()
        new = "no" if now == "yes" else "yes"
        self.session.set_value("smtpd_helo_required", new)
        self.refresh_view()
        # A one-key change must say what it changed (the parameter line is easy to miss).
        what = (
            "clients must now send HELO/EHLO before MAIL FROM"
            if new == "yes"
            else "clients may now send MAIL FROM without HELO/EHLO"
        )
        self.notify(f"smtpd_helo_required = {new}: {what} (h again or z undoes it)", timeout=6)
