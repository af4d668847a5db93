"""Sender stage: ``smtpd_sender_restrictions`` (MAIL FROM)."""

from __future__ import annotations

from pfwizard.screens.chain_stage import ChainStageScreen


class SenderScreen(ChainStageScreen):
    STEP_ID = "sender"
    LISTS = ("smtpd_sender_restrictions",)
    INTRO = (
        "Checks on MAIL FROM. MiaB rewrites this list on upgrade (pfwizard restores it). "
        "No permit_sasl_authenticated here: additions also hit logged-in users."
    )
    HELP = "Sender stage: the checks Postfix runs on the envelope sender (MAIL FROM)."
