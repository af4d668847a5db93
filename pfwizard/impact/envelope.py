"""One SMTP envelope as the mail log recorded it: the unit the impact preview replays.

Shared by the log reader (which builds them) and the replayer (which asks a private smtpd about
them), so both sides agree on what an envelope is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Verdict = Literal["accepted", "rejected"]


@dataclass(frozen=True, slots=True)
class Envelope:
    """What smtpd saw for one recipient of one message (or one rejected RCPT).

    ``helo`` is None when the log did not record it (accepted mail: Postfix logs HELO only on
    rejects); the replayer then uses the client name and marks the result. ``sender`` is "" for
    the null sender (bounces, DMARC reports from MAILER-DAEMON use a real address, not this).
    """

    client_address: str
    client_name: str  # "unknown" when the reverse lookup failed, as Postfix logs it
    helo: str | None
    sender: str
    recipient: str
    verdict: Verdict
    # the log's reject reply ("450 4.1.8 <x>: Sender address rejected: ..."); "" if accepted
    reply: str = ""
    # a SASL login: the replayer skips these (it cannot log in as the user)
    authenticated: bool = False
    count: int = 1  # how many times this envelope occurred in the window (after de-duplication)

    def key(self) -> tuple[str, str, str | None, str, str]:
        """What de-duplication compares: the same client, HELO and addresses are one envelope."""
        return (
            self.client_address,
            self.client_name,
            self.helo,
            self.sender.lower(),
            self.recipient.lower(),
        )
