"""Recipient stage: ``smtpd_recipient_restrictions`` with the relay and data lists."""

from __future__ import annotations

from pfwizard.screens.chain_stage import ChainStageScreen


class RecipientScreen(ChainStageScreen):
    STEP_ID = "recipient"
    LISTS = ("smtpd_recipient_restrictions", "smtpd_relay_restrictions", "smtpd_data_restrictions")
    INTRO = (
        "Checks on RCPT TO; the relay list decides who may send mail to other domains "
        "(reject_unauth_destination must stay)."
    )
    HELP = (
        "Recipient stage: l cycles recipient, relay and data lists. An open relay can "
        "never be accepted: Postfix's smtpd refuses to run that way."
    )
