"""Write a file the way an admin's careful hands would: never half a file, never a lost mode.

Temp file in the same directory (same filesystem, so rename is atomic), write, fsync, the old
owner and mode, rename over the target, fsync the directory (so the rename survives a power
cut).  ``AtomicWriter`` is a class so tests can inject ENOSPC/EACCES at exactly this point.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TEMP_PREFIX = ".pfwizard-tmp-"
"""Every temp file pfwizard leaves in a config directory starts with this (recovery sweeps)."""
TEMP_GLOBS = (TEMP_PREFIX + "*", "__db." + TEMP_PREFIX + "*")
"""Temp files to sweep; postmap's Berkeley DB builds ``hash:`` maps in ``__db.NAME.db`` first."""


@dataclass(frozen=True)
class FileMeta:
    mode: int
    """Permission bits only (``stat.S_IMODE``)."""
    uid: int
    gid: int

    @classmethod
    def of(cls, path: Path) -> FileMeta:
        st = os.stat(path)
        return cls(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)


def can_access(path: Path, mode: int) -> bool:
    """os.access for the effective user (who pfwizard writes as, e.g. after sudo)."""
    return os.access(path, mode, effective_ids=os.access in os.supports_effective_ids)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


class AtomicWriter:
    """Writes and removes files atomically; subclass and override a hook to inject faults."""

    before_rename: Callable[[Path], None] | None = None
    """Called with the target right before each rename: the engine's compare-and-swap (it
    raises when the file changed since it was read, and the temp file is dropped)."""

    def open_temp(self, directory: Path) -> tuple[int, Path]:
        """Hook: create the temp file (EACCES happens here)."""
        fd, name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=directory)
        return fd, Path(name)

    def write_data(self, fd: int, data: bytes) -> None:
        """Hook: write the bytes (ENOSPC happens here)."""
        view = memoryview(data)
        while view:
            n = os.write(fd, view)
            view = view[n:]

    def write_temp(self, path: Path, data: bytes, meta: FileMeta) -> Path:
        """A complete, fsynced temp copy next to ``path`` with ``meta``; not yet renamed."""
        fd, tmp = self.open_temp(path.parent)
        try:
            self.write_data(fd, data)
            os.fchown(fd, meta.uid, meta.gid)
            os.fchmod(fd, meta.mode)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return tmp

    def write(self, path: Path, data: bytes, meta: FileMeta) -> None:
        tmp = self.write_temp(path, data, meta)
        try:
            if self.before_rename is not None:
                self.before_rename(path)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(path.parent)

    def remove(self, path: Path) -> None:
        try:
            path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(path.parent)
