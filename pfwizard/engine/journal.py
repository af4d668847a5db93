"""The journal: one entry per apply, rollback and restore, written before anything changes.

Layout (``<state_dir>`` is mode 0700)::

    journal/<id>/entry.json    what, who, when, files with checksums, outcome
    journal/<id>/diff.patch    the unified diff shown before applying
    journal/<id>/files/<n>     byte-exact copies of every file as it was before

``entry.json`` is replaced atomically and fsynced; backups are fsynced before it is first
written, so an entry that exists always has all of its backups.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pfwizard.engine.atomic import AtomicWriter, FileMeta, fsync_dir

# Outcomes.  IN_PROGRESS on disk after a crash means: undo it at the next start.
IN_PROGRESS = "in-progress"
APPLIED = "applied"
PENDING_CONFIRM = "pending-confirm"
CONFIRMED = "confirmed"
REVERTED = "reverted"
"""Not confirmed in time: rolled back by itself."""
FAILED = "failed"
"""A step failed after writing began; every file was restored."""
REFUSED = "refused"
"""Nothing was written (validation failed, files changed meanwhile, ...)."""
RECOVERED = "recovered"
"""Interrupted (killed, power loss); undone at the next start."""

IN_FORCE = (APPLIED, PENDING_CONFIRM, CONFIRMED)


def sha256(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def current_user() -> str:
    """The admin behind sudo if there is one, else the effective user."""
    sudo = os.environ.get("SUDO_USER")
    try:
        me = getpass.getuser()
    except (KeyError, OSError):
        me = str(os.geteuid())
    return f"{sudo} (as {me})" if sudo and sudo != me else me


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class FileRecord:
    path: str
    role: str
    """``main.cf``, ``master.cf``, ``table`` or ``index``."""
    existed: bool
    sha256_before: str | None
    sha256_after: str | None = None
    mode: int | None = None
    uid: int | None = None
    gid: int | None = None
    backup: str | None = None
    """File name under ``files/`` holding the bytes before (``None``: it did not exist)."""
    map_type: str | None = None

    @property
    def meta(self) -> FileMeta | None:
        if self.mode is None or self.uid is None or self.gid is None:
            return None
        return FileMeta(self.mode, self.uid, self.gid)


@dataclass
class JournalEntry:
    id: str
    kind: str
    """``apply``, ``rollback``, ``restore`` or ``revert`` (confirm-or-revert timed out)."""
    time: str
    user: str
    summary: str
    config_dir: str
    files: list[FileRecord] = field(default_factory=list)
    outcome: str = IN_PROGRESS
    error: str | None = None
    postfix_output: str = ""
    intent: dict[str, Any] | None = None
    rollback_of: str | None = None
    rolled_back_by: str | None = None
    confirm_deadline: float | None = None
    """Unix time by which ``confirm`` must come, else the change is reverted."""
    steps: list[dict[str, str]] = field(default_factory=list)
    diff_available: bool = False

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JournalEntry:
        files = [FileRecord(**f) for f in data.pop("files", [])]
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(files=files, **known)


class Journal:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / "journal"
        # Its own writer: faults injected into the engine's writer must not hit the journal.
        self.writer = AtomicWriter()

    def ensure(self) -> None:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def entry_dir(self, entry_id: str) -> Path:
        return self.root / entry_id

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted((p.name for p in self.root.iterdir() if p.name.isdigit()), key=int)

    def new_id(self) -> str:
        ids = self.ids()
        return str(int(ids[-1]) + 1 if ids else 1)

    def create(self, entry: JournalEntry) -> Path:
        d = self.entry_dir(entry.id)
        (d / "files").mkdir(mode=0o700, parents=True)
        fsync_dir(self.root)
        return d

    def save_backup(self, entry_id: str, n: int, data: bytes) -> str:
        """Store the bytes of one file as it was, fsynced; returns its name under files/."""
        name = str(n)
        path = self.entry_dir(entry_id) / "files" / name
        with open(path, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(path, 0o600)
        return name

    def backup_bytes(self, entry: JournalEntry, rec: FileRecord) -> bytes | None:
        if rec.backup is None:
            return None
        return (self.entry_dir(entry.id) / "files" / rec.backup).read_bytes()

    def save(self, entry: JournalEntry) -> None:
        d = self.entry_dir(entry.id)
        fsync_dir(d / "files")
        data = json.dumps(asdict(entry), indent=1, sort_keys=True).encode() + b"\n"
        self.writer.write(d / "entry.json", data, FileMeta(0o600, os.geteuid(), os.getegid()))

    def save_diff(self, entry: JournalEntry, diff: str) -> None:
        path = self.entry_dir(entry.id) / "diff.patch"
        self.writer.write(path, diff.encode("utf-8", "surrogateescape"),
                          FileMeta(0o600, os.geteuid(), os.getegid()))
        entry.diff_available = True

    def diff(self, entry_id: str) -> str | None:
        try:
            return (self.entry_dir(entry_id) / "diff.patch").read_text(errors="replace")
        except FileNotFoundError:
            return None

    def load(self, entry_id: str) -> JournalEntry | None:
        try:
            raw = (self.entry_dir(entry_id) / "entry.json").read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return JournalEntry.from_json(json.loads(raw))

    def entries(self) -> list[JournalEntry]:
        out = []
        for i in self.ids():
            e = self.load(i)
            if e is not None:
                out.append(e)
        return out

    def sweep_unwritten(self) -> list[str]:
        """Remove entry directories whose entry.json never got written (nothing was changed
        before it existed, so their partial backups are not needed)."""
        gone = []
        for i in self.ids():
            d = self.entry_dir(i)
            if not (d / "entry.json").exists():
                shutil.rmtree(d, ignore_errors=True)
                gone.append(i)
        return gone
