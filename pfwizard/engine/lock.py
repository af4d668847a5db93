"""One pfwizard at a time, like visudo: an exclusive flock on ``<state_dir>/lock``.

flock dies with its process, so a SIGKILLed pfwizard never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from pfwizard.engine.errors import Locked


@contextlib.contextmanager
def hold(state_dir: Path, wait: float = 0.0) -> Iterator[None]:
    """Hold the lock for the ``with`` block; raise Locked if another pfwizard keeps it."""
    path = state_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
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
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock
