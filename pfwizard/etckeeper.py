"""Commit /etc after a change when etckeeper keeps it, the way apt does after a package
install, so ``git log /etc`` (or ``etckeeper vcs log``) shows pfwizard's changes beside
everyone else's, each naming its journal entry.

Only when etckeeper is installed (on PATH) and /etc is under its care (``/etc/.etckeeper``),
and only for changes to files under /etc: a copy elsewhere is nobody's /etc.  A commit that
fails never fails the change: it is already in force and journaled; the caller says it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

ETC = Path("/etc")
TIMEOUT = 60.0


def applies(files: Iterable[str], etc: Path = ETC) -> bool:
    """etckeeper is installed, keeps ``etc``, and one of ``files`` lies under it."""
    if shutil.which("etckeeper") is None or not (etc / ".etckeeper").exists():
        return False
    root = os.path.realpath(etc)
    return any(os.path.realpath(f).startswith(root + os.sep) for f in files)


def commit(message: str, files: Iterable[str], etc: Path = ETC) -> str | None:
    """Run ``etckeeper commit MESSAGE`` for ``etc``; None when done or not applicable,
    else one line saying why the commit did not happen."""
    if not applies(files, etc):
        return None
    exe = shutil.which("etckeeper") or "etckeeper"
    try:
        res = subprocess.run(
            [exe, "commit", "-d", str(etc), message],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"etckeeper commit did not run: {exc}"
    if res.returncode != 0:
        out = " ".join((res.stderr or res.stdout).split())[:300]
        return f"etckeeper commit failed (exit {res.returncode}): {out or 'no output'}"
    return None
