"""What every command does first, before reading anything else.

0. A command that changes the configuration needs root (``needs_root``): without it, one
   line says so and pfwizard exits 4 before reading anything.  The commands that only read
   (``check``, ``explain``, ``status``, ``restore --dry-run``, ``rollback --list``...) work
   for anyone who can read the files; what they cannot read is exit 2, never 1 (which
   ``status`` uses for drift: monitoring running it unprivileged must not see a false alarm).
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
import os
import sys
from pathlib import Path

from pfwizard import exitcodes, journalcheck, statedir
from pfwizard.errors import PfwizardError

USES_STATE_DIR = ("status", "check", "restore", "apply", "rollback", "wizard", "impact")
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


def needs_root(name: str, args: argparse.Namespace) -> bool:
    """True for a command that writes the configuration (or could: the wizard, the
    interactive rollback), false for those that only read."""
    if name in ("demo", "check", "explain", "status"):
        return False
    if name == "wizard":
        return True  # its Apply writes, whatever --dry-run says
    if name == "rollback" and (getattr(args, "list", False) or getattr(args, "show", None)):
        return False
    if name == "rollback" and not getattr(args, "to", None):
        return True  # --confirm, or the journal browser, whose enter restores
    return not getattr(args, "dry_run", False)  # apply, restore, rollback --to


def _own_copy(config_dir: Path) -> bool:
    """A configuration directory the caller owns (a copy to try things on): changing it
    needs no root, and nothing is reloaded for it (no running Postfix reads it)."""
    try:
        return os.geteuid() != 0 and config_dir.stat().st_uid == os.geteuid()
    except OSError:
        return False


def not_root(name: str, args: argparse.Namespace) -> int | None:
    """Exit 4 with one line when ``name`` would change the configuration without root."""
    if os.geteuid() == 0 or not needs_root(name, args):
        return None
    config_dir = Path(getattr(args, "config_dir", None) or "/etc/postfix")
    if _own_copy(config_dir):
        return None
    print(f"pfwizard changes {config_dir}: run it with sudo", file=sys.stderr)
    return exitcodes.REFUSED


def before(name: str, args: argparse.Namespace) -> int | None:
    """None: go on with the command; else the exit code to stop with (message printed)."""
    stop = not_root(name, args)
    if stop is not None:
        return stop
    if name not in USES_STATE_DIR:
        return None
    state_dir = Path(getattr(args, "state_dir", None) or "/var/lib/pfwizard")
    config_dir = Path(getattr(args, "config_dir", None) or "/etc/postfix")
    try:
        exists = statedir.verify(state_dir)
    except statedir.NoAccess as exc:
        if name == "check":
            return None  # check works for anyone; the journal is root's business
        # Reading only, and not allowed to read: a permission problem (exit 2), not a
        # refusal and never drift.
        print(f"pfwizard: {exc}", file=sys.stderr)
        return exitcodes.ERROR
    except statedir.UnsafeStateDir as exc:
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
                print(
                    f"pfwizard: warning: {journalcheck.describe(entry, config_dir, state_dir)}",
                    file=sys.stderr,
                )
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
