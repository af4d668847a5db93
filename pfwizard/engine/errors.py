"""Why the engine refused to write: each one leaves every file exactly as it was."""

from __future__ import annotations

from pfwizard.errors import PfwizardError


class Refused(PfwizardError):
    """Nothing was written: a precondition did not hold (exit code REFUSED)."""


class Locked(Refused):
    """Another pfwizard holds the lock on the state directory."""


class ChangedMeanwhile(Refused):
    """A file changed between reading it (plan) and writing it (apply): e.g. MiaB setup ran."""

    def __init__(self, message: str, changes: list[str]) -> None:
        self.changes = changes
        super().__init__(message)


class UnsafePath(Refused):
    """A table path outside the config directory, or a symlink leading out of it."""


class StepFailed(PfwizardError):
    """One step of the transaction failed; carries Postfix's own output."""

    def __init__(self, step: str, message: str, output: str = "") -> None:
        self.step = step
        self.output = output
        super().__init__(message)


class CorruptEntry(Refused):
    """A journal entry that is unreadable or not one pfwizard could have written (a path
    outside the config directory, a setuid mode, a swapped backup): never used."""

    def __init__(self, message: str, reason: str = "") -> None:
        self.reason = reason or message
        """The reason alone (for one line of ``rollback --list``)."""
        super().__init__(message)
