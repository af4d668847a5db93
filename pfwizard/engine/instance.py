"""Which running Postfix uses this config directory?  Asked of the running master itself.

``postfix -c DIR status`` is no answer: it only looks for ``pid/master.pid`` in the queue
directory DIR's main.cf names, and a copy of /etc/postfix names the system's queue.  So a copy
would be reloaded (or stopped and started) as if it were the live configuration, and the
system's Postfix would be the one to move.  Here the master's PID (from that same pid file)
leads to its own command line (``master -c DIR``) or environment (``MAIL_CONFIG=DIR``, which
``postfix -c DIR start`` sets), else Postfix's built-in default ``/etc/postfix``; only a
master whose directory is the edited one counts.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_CONFIG_DIR = Path("/etc/postfix")
"""Where master reads main.cf when neither ``-c`` nor ``MAIL_CONFIG`` says otherwise."""

MASTER_COMMANDS = ("master",)


def master_pid(queue_directory: Path) -> int | None:
    """The PID in ``QUEUE/pid/master.pid``, if that process is alive and is a master."""
    try:
        pid = int((queue_directory / "pid" / "master.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return None  # gone: a stale pid file after a crash
    return pid if comm in MASTER_COMMANDS else None


def _nul_split(path: Path) -> list[str]:
    try:
        return path.read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def master_config_dir(pid: int) -> Path | None:
    """The config directory master ``pid`` runs with (None: it cannot be told)."""
    argv = [a for a in _nul_split(Path(f"/proc/{pid}/cmdline")) if a]
    if not argv:
        return None
    for i, arg in enumerate(argv[1:], 1):
        if arg == "-c" and i + 1 < len(argv):
            return Path(argv[i + 1])
        if arg.startswith("-c") and len(arg) > 2 and not arg.startswith("--"):
            return Path(arg[2:])
    for var in _nul_split(Path(f"/proc/{pid}/environ")):
        if var.startswith("MAIL_CONFIG="):
            return Path(var.partition("=")[2])
    return DEFAULT_CONFIG_DIR


def same_dir(a: Path, b: Path) -> bool:
    """Same directory on disk (symlinks and bind mounts included); a relative path (master's
    working directory is no longer its start-up one) never matches."""
    if not a.is_absolute():
        return False
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def serving_master(config_dir: Path, queue_directory: Path | None) -> int | None:
    """The PID of the running master that reads ``config_dir``, or None.

    ``queue_directory``: what ``config_dir``'s main.cf names (``postconf -h``); the master
    found there must also have been started on ``config_dir``, or the directory is a copy.
    """
    if queue_directory is None:
        return None
    pid = master_pid(queue_directory)
    if pid is None:
        return None
    served = master_config_dir(pid)
    if served is None or not same_dir(served, Path(config_dir)):
        return None
    return pid
