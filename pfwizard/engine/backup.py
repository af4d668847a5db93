"""Back up every file a plan touches (content, owner, mode, checksum), and put them back.

Restoring is idempotent: a restore cut short by a crash is simply done again at recovery.
"""

from __future__ import annotations

from pathlib import Path

from pfwizard.engine.atomic import AtomicWriter, FileMeta, read_or_none
from pfwizard.engine.journal import FileRecord, Journal, JournalEntry, sha256


def capture(journal: Journal, entry: JournalEntry,
            targets: list[tuple[Path, str, str | None]]) -> None:
    """Record ``(path, role, map_type)`` files into ``entry`` with fsynced copies."""
    for n, (path, role, map_type) in enumerate(targets):
        data = read_or_none(path)
        rec = FileRecord(str(path), role, data is not None, sha256(data), map_type=map_type)
        if data is not None:
            meta = FileMeta.of(path)
            rec.mode, rec.uid, rec.gid = meta.mode, meta.uid, meta.gid
            rec.backup = journal.save_backup(entry.id, n, data)
        entry.files.append(rec)


def restore_order(records: list[FileRecord]) -> list[FileRecord]:
    """main.cf and master.cf first (they stop naming tables about to vanish), then tables,
    then indexes."""
    rank = {"main.cf": 0, "master.cf": 0, "table": 1, "index": 2}
    return sorted(records, key=lambda r: rank.get(r.role, 3))


def restore(journal: Journal, entry: JournalEntry, writer: AtomicWriter) -> list[str]:
    """Put every file of ``entry`` back as it was before; return what was done."""
    done = []
    for rec in restore_order(entry.files):
        path = Path(rec.path)
        want = journal.backup_bytes(entry, rec)
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
        writer.write(path, want, meta)
        done.append(f"restored {path}")
    return done


def matches_before(journal: Journal, entry: JournalEntry) -> bool:
    return all(sha256(read_or_none(Path(r.path))) == r.sha256_before for r in entry.files)
