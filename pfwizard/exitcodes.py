"""Exit codes, one place: ``pfwizard --help``, every command's ``--help`` and the README's
table are all made from ``MEANINGS`` (a test holds the README to it)."""

from __future__ import annotations

OK = 0
"""Success; nothing to change (also what a --dry-run says when it would change nothing)."""
FINDINGS = 1
"""``check``: a danger finding; ``status``: drift (customisations missing, a failed hook run,
an interrupted change, ...); ``explain``: some reject not explained."""
ERROR = 2
"""Bad command line, or the configuration could not be read (message names file and line),
also for lack of permission (a read-only command run without sudo): never 1."""
FAILED = 3
"""A write was attempted and failed; everything was rolled back to the previous config."""
REFUSED = 4
"""Nothing written: the safety checks or validation refused the change (an open relay, an
unknown restriction...), not root, a state directory that is not root's own, another pfwizard
holds the lock, files changed meanwhile, a conflict needs a decision, or the admin declined."""
CHANGED = 10
"""``apply`` / ``restore`` / ``rollback``: the configuration was changed (with --dry-run: it
would be)."""

MEANINGS: dict[int, str] = {
    OK: "success; nothing to change (check: no danger; status: in sync)",
    FINDINGS: "check: a danger finding; status: drift found; explain: some reject not explained",
    ERROR: "usage error, or the configuration could not be read (the message names file "
    "and line; also a file only root may read)",
    FAILED: "a change was written, failed and was rolled back: the previous configuration "
    "is in force",
    REFUSED: "refused, nothing written (an open relay or another blocked finding, validation "
    "failed, not root, a state directory not root's own, locked, files changed "
    "meanwhile, conflict, declined); with apply/restore --dry-run: the real run would "
    "refuse it",
    CHANGED: "apply/restore/rollback: the configuration was changed (with --dry-run: would "
    "be changed)",
}


def help_text() -> str:
    return "exit codes:\n" + "".join(f"  {code:<3} {text}\n" for code, text in MEANINGS.items())


def readme_table() -> str:
    rows = "".join(f"| {code} | {text} |\n" for code, text in MEANINGS.items())
    return "| code | meaning |\n|---|---|\n" + rows


HELP = help_text()
