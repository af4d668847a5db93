"""Errors the core raises. Each carries enough context (file, line) for a one-line message."""

from __future__ import annotations


class PfwizardError(Exception):
    """Base class: anything pfwizard reports to the admin as a clear, one-line error."""


class ConfigError(PfwizardError):
    """A configuration file pfwizard cannot read safely (names the file and line, like Postfix)."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}, line {line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class ValueRefused(PfwizardError):
    """A value pfwizard will not write (control characters, bad parameter name, ...)."""


class PostfixCommandError(PfwizardError):
    """A Postfix command (postconf, postmap, postfix) failed; keeps Postfix's own output."""

    def __init__(self, argv: list[str], returncode: int | None, output: str) -> None:
        self.argv = argv
        self.returncode = returncode
        self.output = output
        rc = "timed out" if returncode is None else f"exit {returncode}"
        detail = output.strip().splitlines()
        tail = f": {detail[-1]}" if detail else ""
        super().__init__(f"{' '.join(argv)} failed ({rc}){tail}")
