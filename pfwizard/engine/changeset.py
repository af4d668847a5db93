"""What the admin asked for (ChangeSet) and what it does to each file (Plan, with diffs).

A plan remembers every file's bytes as they were when it was made: apply refuses if any of
them changed since (``ChangedMeanwhile``), so a MiaB setup run in between is never overwritten.
"""

from __future__ import annotations

import difflib
import functools
import operator
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pfwizard.engine.atomic import FileMeta, read_or_none
from pfwizard.engine.errors import UnsafePath
from pfwizard.errors import ValueRefused
from pfwizard.indexfiles import INDEX_SUFFIX as INDEX_SUFFIX  # re-exported: the engine
from pfwizard.indexfiles import index_path as index_path  # and the writer use them
from pfwizard.indexfiles import why_not_a_table
from pfwizard.kept_lines import KeptLines, keep_as_comments
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf, split_key

OWN_TABLE_DIR = "pfwizard"
"""Tables pfwizard creates live in ``<config_dir>/pfwizard/``: MiaB never rewrites it."""
INTENT_FILE = "customizations.yaml"
"""The intent (``<state_dir>/customizations.yaml``): written in the same transaction as the
configuration it describes, so a rollback takes both back together."""
INTENT_ROLE = "intent"

# Map types Postfix reads straight from the source file (reload picks up the change).
TEXT_TYPES = {"regexp", "pcre", "cidr", "texthash", "inline", "static"}
# postmap -q validates these (a broken pattern is only a warning at run time).
PROBED_TYPES = {"regexp", "pcre", "cidr"}


def is_indexed(map_type: str) -> bool:
    return map_type in INDEX_SUFFIX


@dataclass(frozen=True)
class TableChange:
    """Create, replace (``content``) or delete (``content=None``) one lookup table."""

    path: Path
    """Absolute, or relative to the config directory (e.g. ``pfwizard/sender_access``)."""
    content: str | None
    map_type: str
    """``hash``, ``regexp``, ``pcre``, ``cidr``, ``texthash``, ``lmdb``...: indexed types
    (hash, btree, lmdb, cdb) get their index rebuilt with postmap."""
    mode: int | None = None
    """For a new file: its permissions (default 0644). A mode others cannot read (0600,
    0640) makes the table secret (``secret_mode``); an existing file keeps its own."""


@dataclass(frozen=True)
class IntentRecord:
    """customizations.yaml as this change leaves it: backed up, compared-and-swapped and
    written with the configuration files, and put back with them by a rollback."""

    path: Path
    """``<state_dir>/customizations.yaml`` (the engine refuses any other path)."""
    before: bytes | None
    """The bytes the intent was read from (None: there was no file); if the file on disk
    differs when the change is applied, nothing is written (edited meanwhile)."""
    after: bytes


@dataclass
class ChangeSet:
    summary: str
    """One line for the journal and ``rollback --list``."""
    params: dict[str, str | None] = field(default_factory=dict)
    """main.cf edits: ``name -> value``; ``None`` removes the parameter."""
    tables: list[TableChange] = field(default_factory=list)
    intent: dict[str, Any] | None = None
    """Opaque to the engine; recorded in the journal (e.g. the wizard's answers)."""
    kind: str = "apply"
    """Journal kind: ``apply`` or ``restore`` (rollbacks are made by the engine itself)."""
    master_params: dict[str, str | None] = field(default_factory=dict)
    """master.cf ``-o`` overrides: ``service/type/parameter -> value`` (postconf -P's
    notation, e.g. ``authclean/unix/header_checks``); ``None`` removes the override."""
    record: IntentRecord | None = None
    """customizations.yaml to write in the same transaction (None: left as it is)."""
    kept_lines: list[KeptLines] = field(default_factory=list)
    """Lines of main.cf or master.cf to keep as comments under a note (what ``restore
    --adopt`` took over), done before ``params`` and ``master_params``."""


@dataclass
class FilePlan:
    path: Path
    before: bytes | None
    """Bytes when planned (``None``: the file does not exist)."""
    after: bytes | None
    """Bytes to write (``None``: delete the file)."""
    diff: str
    role: str = "table"
    """``main.cf``, ``master.cf``, ``table``, ``index`` (a postmap'd .db/.lmdb/.cdb:
    binary, no diff) or ``intent`` (customizations.yaml, in the state directory: never
    staged or validated by Postfix, but backed up, compared and written like the others)."""
    map_type: str | None = None
    """For tables: the map type; an indexed type gets postmap'd after writing."""
    meta: FileMeta | None = None
    """Owner and mode to write with (``None``: keep the existing file's, or the default).
    A secret table's (``secret_meta``) holds for its index too."""
    postmap: bool = False
    """Build the index with postmap after writing (apply of an indexed table); a rollback
    restores the index bytes from the backup instead."""
    rebuild: bool = False
    """The source is unchanged but its index is missing: postmap it anyway."""

    @property
    def changes(self) -> bool:
        return self.before != self.after or self.rebuild


@dataclass
class Plan:
    config_dir: Path
    files: list[FilePlan]
    """Files as the admin sees them (main.cf, tables), in the order they will be written."""
    summary: str = ""
    intent: dict[str, Any] | None = None
    kind: str = "apply"
    indexes: list[FilePlan] = field(default_factory=list)
    """Index files (binary) a rollback restores byte for byte; not shown in the diff."""
    rollback_of: str | None = None

    @property
    def is_empty(self) -> bool:
        return not any(f.changes for f in self.files) and not any(f.changes for f in self.indexes)

    def unified_diff(self) -> str:
        return "".join(f.diff for f in self.files)


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except (OSError, ValueError):
        return None


def secret_mode(
    path: Path, map_type: str | None = None, requested: int | None = None
) -> int | None:
    """The mode a file that holds secrets keeps, or None when it is not one.

    A file is secret when it, or the index postmap built from it, is not readable by others
    (``mode & 0o004 == 0``: a ``sasl_passwd`` at 0600 or 0640), or when a new file is asked
    for with such a mode (``requested``). Its contents are then never shown in a diff, and
    the source and its index are both written with the permissions both allow (0600 source
    and 0644 .db: both 0600), so a lost source is rebuilt as private as its index was.
    ``map_type`` None: any index suffix counts."""
    suffixes = (
        {INDEX_SUFFIX[map_type]}
        if map_type in INDEX_SUFFIX
        else set()
        if map_type is not None
        else set(INDEX_SUFFIX.values())
    )
    modes = [
        m
        for m in (
            _mode(p) for p in [path, *(path.with_name(path.name + s) for s in sorted(suffixes))]
        )
        if m is not None
    ]
    if requested is not None:
        modes.append(stat.S_IMODE(requested))
    if not any(m & 0o004 == 0 for m in modes):
        return None
    return functools.reduce(operator.and_, modes, 0o777)


def secret_meta(
    path: Path, map_type: str | None, config_dir: Path, requested: int | None = None
) -> FileMeta | None:
    """Owner and mode for a secret table (source and index alike); None: not secret."""
    mode = secret_mode(path, map_type, requested)
    if mode is None:
        return None
    idx = index_path(path, map_type) if map_type is not None else None
    for p in (path, idx, config_dir):
        try:
            st = os.stat(p) if p is not None else None
        except OSError:
            continue
        if st is not None:
            return FileMeta(mode, st.st_uid, st.st_gid)
    return FileMeta(mode, os.geteuid(), os.getegid())


def text_diff(
    path: Path,
    before: bytes | None,
    after: bytes | None,
    secret: int | None = None,
    *,
    public: bool = False,
) -> str:
    """A unified diff; for a secret file (``secret``: its mode, or found on disk by
    ``secret_mode``) only its header and how many lines changed: the diff goes to the
    terminal, the journal's diff.patch and, from the restore hook, the system log.
    ``public``: not a secret because of its own mode (customizations.yaml is 0600 as all of
    root's state, yet it is the admin's own text to read)."""

    def lines(data: bytes | None) -> list[str]:
        if data is None:
            return []
        return data.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)

    if secret is None and not public:
        secret = secret_mode(path)
    a, b = lines(before), lines(after)
    out = []
    for line in difflib.unified_diff(
        a,
        b,
        "/dev/null" if before is None else f"a{path}",
        "/dev/null" if after is None else f"b{path}",
    ):
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    if secret is not None and out:
        changed = sum(1 for ln in out[2:] if ln[:1] in "+-")
        note = (
            f"(contents of a {secret:04o} file not shown: "
            f"{changed} line{'s' if changed != 1 else ''} changed)\n"
        )
        out = [*out[:2], note]
    return "".join(out).encode("utf-8", "replace").decode("utf-8", "replace")


def _owner(config_dir: Path) -> tuple[int, int]:
    st = os.stat(config_dir)
    return st.st_uid, st.st_gid


def resolve_inside(config_dir: Path, path: Path) -> Path:
    """The real path of ``path``; refuse it if it (or a symlink on the way) leads outside."""
    root = Path(os.path.realpath(config_dir))
    full = path if path.is_absolute() else config_dir / path
    real = Path(os.path.realpath(full))
    if real != root and root not in real.parents:
        why = " (through a symlink)" if Path(os.path.abspath(full)) != real else ""
        raise UnsafePath(
            f"refusing to write {full}: it leads outside the config directory {root}{why}"
        )
    if real.exists() and not real.is_file():
        raise UnsafePath(f"refusing to write {full}: not a regular file")
    return real


def check_table_target(config_dir: Path, path: Path) -> Path:
    """The real path of a lookup table to write, inside the config directory and never one of
    Postfix's own files (main.cf, master.cf...) nor a table's index: a table edit is not a
    way to replace main.cf wholesale, past every check of its parameters."""
    real = resolve_inside(config_dir, path)
    why = why_not_a_table(real.relative_to(os.path.realpath(config_dir)))
    if why is not None:
        raise UnsafePath(f"refusing to write {real} as a lookup table: {why}")
    return real


CONFIG_ROLES = ("main.cf", "master.cf")


def write_order(files: list[FilePlan]) -> list[FilePlan]:
    """New tables before main.cf or master.cf names them; they stop naming a table before it
    goes: a Postfix daemon starting in between never meets a missing map.  The intent last:
    it describes the configuration written before it."""
    main = [f for f in files if f.role in CONFIG_ROLES]
    intent = [f for f in files if f.role == INTENT_ROLE]
    rest = [f for f in files if f.role not in CONFIG_ROLES and f.role != INTENT_ROLE]
    return (
        [f for f in rest if f.after is not None]
        + main
        + [f for f in rest if f.after is None]
        + intent
    )


# A table recorded in customizations.yaml: an absolute path as an indented mapping key.
_RECORDED_TABLE = re.compile(rb"^[ \t]+(/[^\s:]+):[ \t]*$", re.MULTILINE)


def intent_secret(before: bytes | None, after: bytes | None, others: list[FilePlan]) -> int | None:
    """0600 when customizations.yaml's diff must not be shown: it keeps the content of the
    tables it records, so if one of them (or a table this change touches) is secret, a
    changed line or its context could be a password.  None: show it."""
    if any(
        f.role in ("table", "index") and f.meta is not None and not f.meta.mode & 0o004
        for f in others
    ):
        return 0o600
    for data in (before, after):
        for m in _RECORDED_TABLE.finditer(data or b""):
            path = m.group(1).decode("utf-8", "replace")
            if secret_mode(Path(path)) is not None:
                return 0o600
    return None


def intent_plan(record: IntentRecord, others: list[FilePlan]) -> FilePlan:
    """The FilePlan writing customizations.yaml (root's, 0600, as ``IntentFile.save``)."""
    secret = intent_secret(record.before, record.after, others)
    diff = text_diff(record.path, record.before, record.after, secret, public=True)
    return FilePlan(
        record.path,
        record.before,
        record.after,
        diff,
        role=INTENT_ROLE,
        meta=FileMeta(0o600, os.geteuid(), os.getegid()),
    )


def _main_cf_after(before: bytes, params: dict[str, str | None], path: Path) -> bytes:
    cf = MainCf.parse(before, str(path))
    for name, value in params.items():
        if value is None:
            cf.remove(name)
        else:
            cf.set(name, value)
    return cf.to_bytes()


def _master_cf_after(before: bytes, params: dict[str, str | None], path: Path) -> bytes:
    cf = MasterCf.parse(before, str(path))
    for key, value in params.items():
        service, type_, name = split_key(key)
        try:
            if value is None:
                cf.remove_option(service, type_, name)
            else:
                cf.set_option(service, type_, name, value)
        except KeyError as exc:
            raise ValueRefused(f"{key}: {path} has no active {service}/{type_} service") from exc
    return cf.to_bytes()


def build_plan(config_dir: Path, changeset: ChangeSet) -> Plan:
    """Read every file the change set touches and compute its new bytes and diff."""
    files: list[FilePlan] = []
    seen: set[Path] = set()
    for t in changeset.tables:
        if not t.map_type or not t.map_type.isalnum():
            raise ValueRefused(f"not a Postfix map type: {t.map_type!r}")
        if t.map_type in ("dbm", "sdbm"):
            raise ValueRefused(f"{t.map_type}: tables pfwizard writes use hash, lmdb or cdb")
        real = check_table_target(config_dir, t.path)
        if real in seen:
            raise ValueRefused(f"{real} appears twice in one change")
        seen.add(real)
        before = read_or_none(real)
        after = None if t.content is None else t.content.encode("utf-8")
        idx = index_path(real, t.map_type)
        lost = after is not None and after == before and idx is not None and not idx.exists()
        meta = secret_meta(real, t.map_type, config_dir, t.mode if before is None else None)
        if meta is None and before is None and t.mode is not None:
            meta = FileMeta(stat.S_IMODE(t.mode), *_owner(config_dir))
        diff = text_diff(real, before, after, meta.mode if meta is not None else None)
        if lost:
            diff = f"# {t.map_type}:{real}: unchanged, but its index {idx} is missing: rebuild\n"
        files.append(
            FilePlan(
                real,
                before,
                after,
                diff,
                role="table",
                map_type=t.map_type,
                meta=meta,
                postmap=is_indexed(t.map_type),
                rebuild=lost,
            )
        )
    main_cf = resolve_inside(config_dir, Path("main.cf"))
    kept = {
        name: [k for k in changeset.kept_lines if k.file == name]
        for name in ("main.cf", "master.cf")
    }
    if changeset.params or kept["main.cf"]:
        before = main_cf.read_bytes()
        after = _main_cf_after(
            keep_as_comments(before, kept["main.cf"], str(main_cf)), changeset.params, main_cf
        )
        files.append(
            FilePlan(main_cf, before, after, text_diff(main_cf, before, after), role="main.cf")
        )
    if changeset.master_params or kept["master.cf"]:
        master_cf = resolve_inside(config_dir, Path("master.cf"))
        before = master_cf.read_bytes()
        after = _master_cf_after(
            keep_as_comments(before, kept["master.cf"], str(master_cf)),
            changeset.master_params,
            master_cf,
        )
        files.append(
            FilePlan(
                master_cf, before, after, text_diff(master_cf, before, after), role="master.cf"
            )
        )
    files = write_order(files)
    return Plan(
        config_dir, files, summary=changeset.summary, intent=changeset.intent, kind=changeset.kind
    )
