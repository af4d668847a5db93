"""Back up every file a plan touches (content, owner, mode, checksum), and put them back.

Restoring is idempotent: a restore cut short by a crash is simply done again at recovery.
Before writing anything, every file of the entry is checked where it is now (``targets``):
inside the configuration directory, not a symbolic link, an owner who could have owned it;
and every saved copy is read and matched against its checksum: all of it, or nothing.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pfwizard.engine.atomic import AtomicWriter, FileMeta, read_or_none
from pfwizard.engine.errors import CorruptEntry, UnsafePath
from pfwizard.engine.journal import FileRecord, Journal, JournalEntry, sha256
from pfwizard.journalcheck import INTENT_ROLE, is_intent_file, real_inside


def capture(
    journal: Journal, entry: JournalEntry, targets: list[tuple[Path, str, str | None]]
) -> None:
    """Record ``(path, role, map_type)`` files into ``entry`` with fsynced copies."""
    for n, (path, role, map_type) in enumerate(targets):
        data = read_or_none(path)
        rec = FileRecord(str(path), role, data is not None, sha256(data), map_type=map_type)
        if data is not None:
            meta = FileMeta.of(path)
            if meta.mode & (0o7000 | 0o002):
                # An entry must pass its own checks at recovery (see journalcheck): pfwizard
                # never records, so never puts back, a setuid or world-writable file.
                raise UnsafePath(
                    f"{path} has mode {meta.mode:04o} (setuid/setgid/sticky or writable by "
                    f"everyone): fix it first (chmod {meta.mode & 0o775:o} {path}); nothing "
                    "was written"
                )
            rec.mode, rec.uid, rec.gid = meta.mode, meta.uid, meta.gid
            rec.backup = journal.save_backup(entry.id, n, data)
        entry.files.append(rec)


def restore_order(records: list[FileRecord]) -> list[FileRecord]:
    """main.cf and master.cf first (they stop naming tables about to vanish), then tables,
    then indexes."""
    rank = {"main.cf": 0, "master.cf": 0, "table": 1, "index": 2, INTENT_ROLE: 3}
    return sorted(records, key=lambda r: rank.get(r.role, 3))


def _check_target(entry: JournalEntry, rec: FileRecord, config_dir: str, state_dir: Path) -> None:
    def bad(why: str) -> CorruptEntry:
        return CorruptEntry(f"journal entry {entry.id}: {why}; nothing of it was put back", why)

    if rec.role == INTENT_ROLE:
        if not is_intent_file(rec.path, state_dir):
            raise bad(f"{rec.path} is not the customisations file of {state_dir}")
    elif not real_inside(rec.path, config_dir):
        raise bad(f"{rec.path} is outside the configuration directory {config_dir}")
    try:
        st: os.stat_result | None = os.lstat(rec.path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise bad(f"{rec.path} is now a symbolic link or not a regular file")
    if rec.backup is None or rec.mode is None or rec.uid is None or rec.gid is None:
        return
    top = os.stat(state_dir if rec.role == INTENT_ROLE else config_dir)
    # Giving a config file to another user would hand them Postfix (and root through it).
    owners = {0, top.st_uid} | ({st.st_uid} if st is not None else set())
    groups = {0, top.st_gid} | ({st.st_gid} if st is not None else set())
    if rec.uid not in owners:
        raise bad(f"{rec.path} would be given to uid {rec.uid}")
    if rec.mode & 0o020 and rec.gid not in groups:
        raise bad(f"{rec.path} would be writable by group {rec.gid}")


def restore(journal: Journal, entry: JournalEntry, writer: AtomicWriter) -> list[str]:
    """Put every file of ``entry`` back as it was before; return what was done.
    CorruptEntry, with nothing written, if a file or saved copy fails the checks."""
    config_dir = str(journal.config_dir or entry.config_dir)
    wanted: dict[int, bytes | None] = {}
    for i, rec in enumerate(entry.files):
        _check_target(entry, rec, config_dir, journal.state_dir)
        wanted[i] = journal.backup_bytes(entry, rec)
    done = []
    for rec in restore_order(entry.files):
        path = Path(rec.path)
        want = wanted[next(i for i, r in enumerate(entry.files) if r is rec)]
        have = read_or_none(path)
        meta = rec.meta
        if want is None:
            if have is not None:
                writer.remove(path)
                done.append(f"removed {path}")
            continue
        if have == want and meta is not None and FileMeta.of(path) == meta:
            continue
        assert meta is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        writer.write(path, want, FileMeta(meta.mode & 0o777, meta.uid, meta.gid))
        done.append(f"restored {path}")
    return done


def matches_before(journal: Journal, entry: JournalEntry) -> bool:
    return all(sha256(read_or_none(Path(r.path))) == r.sha256_before for r in entry.files)
