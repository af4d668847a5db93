"""The journal: one entry per apply, rollback and restore, written before anything changes.

Layout (``<state_dir>`` is mode 0700)::

    journal/<id>/entry.json    what, who, when, files with checksums, outcome
    journal/<id>/diff.patch    the unified diff shown before applying
    journal/<id>/files/<n>     byte-exact copies of every file as it was before

``entry.json`` is replaced atomically and fsynced; backups are fsynced before it is first
written, so an entry that exists always has all of its backups.

Nothing read back is believed blindly: every entry is checked (``pfwizard.journalcheck``)
and read without following symbolic links (``pfwizard.statedir.read_private``); a backup
must still match the checksum its entry recorded.  A write that fails (no space left, I/O
error) raises ``StateDirError`` naming the state directory.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pfwizard import journalcheck, statedir
from pfwizard.engine.atomic import AtomicWriter, FileMeta, fsync_dir
from pfwizard.engine.errors import CorruptEntry
from pfwizard.errors import PfwizardError
from pfwizard.statedir import StateDirError

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
    """``main.cf``, ``master.cf``, ``table``, ``index`` or ``intent``
    (``<state_dir>/customizations.yaml``)."""
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
        """From a dict ``journalcheck.check_entry`` accepted (unknown keys are ignored)."""
        rec_keys = FileRecord.__dataclass_fields__
        files = [
            FileRecord(**{k: v for k, v in f.items() if k in rec_keys})
            for f in data.pop("files", [])
        ]
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(files=files, **known)


_ID = re.compile(r"[0-9]{1,9}\Z")


def unreadable_words(why: str) -> str:
    """How a list of the journal names an entry it cannot read (``rollback --list``, the
    wizard's History): said, never skipped in silence, never shown as if true."""
    return f"unreadable ({why}), skipped"


def _unreadable(entry_id: str, why: str) -> CorruptEntry:
    return CorruptEntry(f"journal entry {entry_id}: unreadable ({why})", why)


class Journal:
    def __init__(self, state_dir: Path, config_dir: Path | None = None) -> None:
        self.state_dir = state_dir
        self.root = state_dir / "journal"
        self.config_dir = config_dir
        """Entries for another configuration directory are listed but never used."""
        # Its own writer: faults injected into the engine's writer must not hit the journal.
        self.writer = AtomicWriter()

    @contextmanager
    def writing(self, doing: str) -> Iterator[None]:
        """An OSError in the state directory becomes one line naming it (exit 3 or 4)."""
        try:
            yield
        except OSError as exc:
            raise StateDirError(str(statedir.failure(exc, self.state_dir, doing))) from None

    def ensure(self) -> None:
        with self.writing("creating journal/"):
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def entry_dir(self, entry_id: str) -> Path:
        return self.root / entry_id

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted((p.name for p in self.root.iterdir() if _ID.match(p.name)), key=int)

    def new_id(self) -> str:
        ids = self.ids()
        return str(int(ids[-1]) + 1 if ids else 1)

    def create(self, entry: JournalEntry) -> Path:
        d = self.entry_dir(entry.id)
        with self.writing(f"creating journal entry {entry.id}"):
            d.mkdir(mode=0o700)
            (d / "files").mkdir(mode=0o700)
            fsync_dir(self.root)
        return d

    def save_backup(self, entry_id: str, n: int, data: bytes) -> str:
        """Store the bytes of one file as it was, fsynced; returns its name under files/."""
        if len(data) > statedir.BACKUP_LIMIT:
            raise CorruptEntry(
                f"a file to change is larger than "
                f"{statedir.BACKUP_LIMIT // (1024 * 1024)} MiB: pfwizard does "
                "not back up (or change) files that big; nothing was written"
            )
        name = str(n)
        path = self.entry_dir(entry_id) / "files" / name
        with self.writing(f"saving the backup copies of journal entry {entry_id}"):
            fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600
            )
            with open(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        return name

    def backup_bytes(self, entry: JournalEntry, rec: FileRecord) -> bytes | None:
        """The saved copy of ``rec``; CorruptEntry if it is not the one the entry recorded."""
        if rec.backup is None:
            return None
        try:
            data = statedir.read_private(
                self.state_dir,
                "journal",
                entry.id,
                "files",
                rec.backup,
                limit=statedir.BACKUP_LIMIT,
            )
        except (OSError, PfwizardError) as exc:
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            raise CorruptEntry(
                f"journal entry {entry.id}: the saved copy of {rec.path} cannot be used ({why})"
            ) from None
        if sha256(data) != rec.sha256_before:
            raise CorruptEntry(
                f"journal entry {entry.id}: the saved copy of {rec.path} does "
                "not match the checksum recorded with it"
            )
        return data

    def save(self, entry: JournalEntry) -> None:
        d = self.entry_dir(entry.id)
        data = json.dumps(asdict(entry), indent=1, sort_keys=True).encode() + b"\n"
        with self.writing(f"saving journal entry {entry.id}"):
            fsync_dir(d / "files")
            self.writer.write(d / "entry.json", data, FileMeta(0o600, os.geteuid(), os.getegid()))

    def save_diff(self, entry: JournalEntry, diff: str) -> None:
        path = self.entry_dir(entry.id) / "diff.patch"
        with self.writing(f"saving the diff of journal entry {entry.id}"):
            self.writer.write(
                path,
                diff.encode("utf-8", "surrogateescape"),
                FileMeta(0o600, os.geteuid(), os.getegid()),
            )
        entry.diff_available = True

    def diff(self, entry_id: str) -> str | None:
        if not _ID.match(entry_id):
            return None
        try:
            raw = statedir.read_private(self.state_dir, "journal", entry_id, "diff.patch")
        except (OSError, PfwizardError):
            return None
        return raw.decode(errors="replace")

    def read(self, entry_id: str) -> JournalEntry | None:
        """Entry ``entry_id`` checked (see ``journalcheck``); None if there is none;
        CorruptEntry (with the reason) if it cannot be believed."""
        if not _ID.match(entry_id):
            return None
        try:
            raw = statedir.read_private(self.state_dir, "journal", entry_id, "entry.json")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise _unreadable(entry_id, (exc.strerror or str(exc)).lower()) from None
        except PfwizardError as exc:
            raise _unreadable(entry_id, str(exc)) from None
        try:
            data = journalcheck.parse(raw, entry_id, self.state_dir)
        except journalcheck.InvalidEntry as exc:
            raise _unreadable(entry_id, str(exc)) from None
        return JournalEntry.from_json(data)

    def load(self, entry_id: str) -> JournalEntry | None:
        """``read``, and refused (CorruptEntry) if the entry is about another configuration
        directory than this journal's: its files are not this engine's to write."""
        entry = self.read(entry_id)
        if (
            entry is not None
            and self.config_dir is not None
            and not journalcheck.same_dir(entry.config_dir, self.config_dir)
        ):
            raise CorruptEntry(
                f"journal entry {entry_id} changed {entry.config_dir}, not "
                f"{self.config_dir} (use --config-dir {entry.config_dir})"
            )
        return entry

    def scan(self) -> tuple[list[JournalEntry], list[tuple[str, str]]]:
        """Every entry oldest first, and the unreadable ones as (id, reason)."""
        out: list[JournalEntry] = []
        bad: list[tuple[str, str]] = []
        for i in self.ids():
            try:
                e = self.read(i)
            except CorruptEntry as exc:
                bad.append((i, exc.reason))
                continue
            if e is not None:
                out.append(e)
        return out, bad

    def entries(self) -> list[JournalEntry]:
        return self.scan()[0]

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
