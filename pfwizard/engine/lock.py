"""One pfwizard at a time, like visudo: an exclusive flock on ``<state_dir>/lock``.

flock dies with its process, so a SIGKILLed pfwizard never leaves a stale lock behind.
The lock file is opened without following a symbolic link and must be root's regular file
(``pfwizard.statedir``); writing the holder's pid into it is a courtesy that a full disk
may deny.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from pfwizard.engine.errors import Locked, Refused
from pfwizard.statedir import trusted_uids


@contextlib.contextmanager
def hold(state_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock for the ``with`` block; raise Locked if another pfwizard keeps it."""
    path = state_dir / "lock"
    try:
        fd = os.open(
            path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, 0o600
        )
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise Refused(f"refusing the lock file {path}: it is a symbolic link") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid not in trusted_uids() or st.st_mode & 0o022:
            raise Refused(
                f"refusing the lock file {path}: not a regular file of root's "
                "that only root may write"
            )
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    who = f" (pid {holder})" if holder else ""
                    raise Locked(
                        f"another pfwizard is running{who}; wait for it to finish "
                        "(one pfwizard at a time)"
                    ) from None
                time.sleep(0.05)
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # no space left: the lock holds all the same
        yield
    finally:
        os.close(fd)  # closing releases the flock
