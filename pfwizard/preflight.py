"""What every command does first with the state directory, before reading anything else.

1. The state directory must be root's own (``statedir.verify``); else refuse, exit 4.
2. A change left in progress (pfwizard killed between writing and reloading, the state
   directory full after main.cf was written) may be half-applied and live.  A command that
   changes the configuration undoes it first (files back as before, then a reload) and says
   so on stderr, so that it plans on the configuration really in force; with ``--dry-run``
   it only warns.  ``status`` and ``check`` report it themselves (``journalcheck.interrupted``).

Only light modules load here: ``check`` must stay quick; the engine loads only to recover.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pfwizard import exitcodes, journalcheck, statedir
from pfwizard.errors import PfwizardError

USES_STATE_DIR = ("status", "check", "restore", "apply", "rollback", "wizard")
"""Commands that read or write the state directory (demo and explain use none)."""


def _mutates(name: str, args: argparse.Namespace) -> bool:
    if getattr(args, "dry_run", False):
        return False
    if name in ("apply", "restore"):
        return True
    if name == "rollback":
        return bool(getattr(args, "to", None) or getattr(args, "confirm", None))
    # The wizard undoes it itself, before reading main.cf, and shows it on its first screen.
    return False


def before(name: str, args: argparse.Namespace) -> int | None:
    """None: go on with the command; else the exit code to stop with (message printed)."""
    if name not in USES_STATE_DIR:
        return None
    state_dir = Path(getattr(args, "state_dir", None) or "/var/lib/pfwizard")
    config_dir = Path(getattr(args, "config_dir", None) or "/etc/postfix")
    try:
        exists = statedir.verify(state_dir)
    except statedir.UnsafeStateDir as exc:
        if name == "check" and isinstance(exc, statedir.NoAccess):
            return None  # check works for anyone; the journal is root's business
        print(f"pfwizard: {exc}", file=sys.stderr)
        return exitcodes.REFUSED
    if not exists or name == "wizard":
        return None  # the wizard undoes an interrupted change itself and shows it
    try:
        pending, unreadable = journalcheck.scan(config_dir, state_dir)
    except OSError:
        return None  # unreadable without sudo: the command says so itself
    if not pending and not (unreadable and _mutates(name, args)):
        return None
    if not _mutates(name, args):
        if name not in ("status", "check"):
            for entry in pending:
                print(f"pfwizard: warning: {journalcheck.describe(entry, config_dir, state_dir)}",
                      file=sys.stderr)
        return None
    return heal(config_dir, state_dir, reload=not getattr(args, "no_reload", False))


def heal(config_dir: Path, state_dir: Path, reload: bool = True) -> int | None:
    """Undo the interrupted changes (see the module docstring); None when done."""
    from pfwizard.engine import Engine, Refused  # the engine loads only when needed

    try:
        msgs = Engine(config_dir, state_dir, reload=reload).recover()
    except Refused as exc:
        print(f"pfwizard: {exc}", file=sys.stderr)
        return exitcodes.REFUSED
    except PfwizardError as exc:
        print(f"pfwizard: could not undo an interrupted change: {exc}", file=sys.stderr)
        return exitcodes.FAILED
    for msg in msgs:
        print(f"pfwizard: {msg}", file=sys.stderr)
    return None
