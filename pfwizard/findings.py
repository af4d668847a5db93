"""What pfwizard tells an admin: a finding (analyser, table lint) or a risk (catalogue).

One vocabulary for the whole program: severities are words, never only colours, so they read
the same on a 16-colour console, with ``--no-color`` and in a log.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    INFO = "info"
    CAUTION = "caution"
    DANGER = "danger"

    @property
    def rank(self) -> int:
        return {"info": 0, "caution": 1, "danger": 2}[self.value]

    @property
    def symbol(self) -> str:
        """A mark that carries the meaning without colour."""
        return {"info": "i", "caution": "!", "danger": "X"}[self.value]


@dataclass(frozen=True)
class Finding:
    """One thing worth telling the admin about a configuration, in plain words."""

    code: str
    """Stable identifier, e.g. ``open-relay``, ``dead-entry``, ``order-bypass``."""
    severity: Severity
    message: str
    """Plain-language reason: what happens, and who gets hit."""
    parameter: str | None = None
    """The main.cf parameter (restriction list) it is about, e.g. ``smtpd_sender_restrictions``."""
    entry: str | None = None
    """The restriction item as written, e.g. ``reject_unknown_sender_domain``."""
    index: int | None = None
    """Position of ``entry`` in its list (0-based)."""
    acceptable: bool = True
    """Whether an admin may knowingly accept it; an open relay is never acceptable."""

    def __str__(self) -> str:
        # The code is an id for --json and tests; the admin reads where and why.
        where = self.parameter or ""
        if self.entry:
            where += f" [{self.entry}]"
        prefix = self.severity.value.upper()
        return f"{prefix}: {where}: {self.message}" if where else f"{prefix}: {self.message}"


def worst(findings: list[Finding]) -> Severity | None:
    return max((f.severity for f in findings), key=lambda s: s.rank, default=None)
