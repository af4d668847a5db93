"""Answers worked out before, kept in the state directory for the commands that only read.

``pfwizard status`` and ``check`` run from cron and monitoring every few minutes, on a box
whose files change a few times a year.  Two of their answers cost more than the rest of the
run together and depend on nothing but their input: the lint of a lookup table (``postmap``
runs, to learn which lines Postfix ignores) and the validated reading of customizations.yaml
(the YAML library).  They are kept here, so the next run reads them back instead.

The rules that make a kept answer as good as a fresh one:

- **Only pure answers, keyed by their whole input.**  The key is a digest of the bytes the
  answer was worked out from, of pfwizard's own code (every module's size and time) and of
  whatever else decides it (``postmap``'s program file with Postfix's libraries and map
  plugins, the YAML library's).  A changed byte
  is another key: an entry is never out of date, at worst unused.
- **Only for commands that write nothing** (``READ_ONLY``: ``status`` and ``check``, each
  run inside ``kept``).  apply, restore, the wizard, rollback and recovery never read one:
  what gates a change is always worked out from the files themselves.
- **A help, never a need.**  An unreadable, corrupt or foreign file is ignored and the
  answer worked out again; failing to write one (a read-only disk, no sudo) never fails the
  command.
- **Root's, like the rest of the state directory** (``pfwizard.statedir``): ``cache/`` and
  its files are read through ``read_private`` (no symbolic link followed, root's, writable by
  nobody else), one JSON file per kind of answer, its newest ``MAX_ENTRIES`` entries.

Deleting ``cache/`` is always safe.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pfwizard import statedir

DIRNAME = "cache"
MAX_ENTRIES = 64
"""Per kind: a box has a handful of tables and one customizations.yaml; old keys age out."""
MAX_BYTES = 4 * 1024 * 1024
FORMAT = 1

_state_dir: Path | None = None
_open: dict[str, Memo] = {}


READ_ONLY = frozenset({"status", "check"})
"""The commands that keep answers: they write nothing else."""


@contextlib.contextmanager
def kept(state_dir: str | Path | None) -> Iterator[None]:
    """Within: answers are read from and kept in ``state_dir`` (only when it exists already:
    a report never creates the state directory).  Outside, nothing is kept or read back, so
    a command run after a report in the same process (the tests) works from the files."""
    global _state_dir
    path = Path(state_dir) if state_dir else None
    _state_dir = path if path is not None and path.is_dir() else None
    _open.clear()
    try:
        yield
    finally:
        _state_dir = None
        _open.clear()


def get(kind: str) -> Memo | None:
    """The kept answers of ``kind`` (None: this run keeps none)."""
    if _state_dir is None:
        return None
    memo = _open.get(kind)
    if memo is None:
        memo = _open[kind] = Memo(_state_dir, kind)
    return memo


def key(*parts: str | bytes) -> str:
    """A digest of ``parts`` and of pfwizard's own code: the key of one answer."""
    h = hashlib.sha256(code_identity().encode())
    for part in parts:
        data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big"))
        h.update(data)
    return h.hexdigest()


def file_identity(path: str | None) -> str:
    """What a program or library file is, as far as a kept answer cares: a package upgrade
    writes it anew (another size or time)."""
    if not path:
        return "none"
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}:absent"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}"


def dir_identity(path: str) -> str:
    """Each file directly in ``path``, as ``file_identity`` sees it (a package that adds,
    removes or rewrites one of them changes it)."""
    try:
        names = sorted(e.name for e in os.scandir(path) if e.is_file())
    except OSError:
        return f"{path}:absent"
    return "\n".join(file_identity(os.path.join(path, n)) for n in names)


@functools.lru_cache(maxsize=1)
def code_identity() -> str:
    """pfwizard's modules (each one's size and time) and the interpreter: an upgrade of
    either, or an edit of any module, starts every answer anew (about 1 ms)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256(f"{FORMAT} {sys.version} {root}".encode())
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                h.update(file_identity(os.path.join(directory, name)).encode())
    return h.hexdigest()


class Memo:
    """One kind of answer (``cache/KIND.json``): ``get(key)``, ``put(key, value)``."""

    def __init__(self, state_dir: Path, kind: str) -> None:
        self.state_dir = state_dir
        self.kind = kind
        self._entries: dict[str, Any] | None = None

    @property
    def filename(self) -> str:
        return f"{self.kind}.json"

    def _load(self) -> dict[str, Any]:
        if self._entries is None:
            self._entries = {}
            try:
                raw = statedir.read_private(self.state_dir, DIRNAME, self.filename, limit=MAX_BYTES)
                doc = json.loads(raw)
            except (OSError, ValueError, statedir.UnsafeStateDir):
                return self._entries  # none yet, or not one to trust: work it out again
            if (
                isinstance(doc, dict)
                and doc.get("format") == FORMAT
                and isinstance(doc.get("entries"), dict)
            ):
                self._entries = doc["entries"]
        return self._entries

    def get(self, k: str) -> Any | None:
        return self._load().get(k)

    def put(self, k: str, value: Any) -> None:
        entries = self._load()
        if entries.get(k) == value:
            return
        entries.pop(k, None)
        entries[k] = value
        while len(entries) > MAX_ENTRIES:
            del entries[next(iter(entries))]
        text = json.dumps({"format": FORMAT, "entries": entries}, separators=(",", ":"))
        if len(text) <= MAX_BYTES:
            self._write(text.encode())

    def _write(self, data: bytes) -> None:
        """Atomically (a temporary file renamed over the old one); any failure is ignored:
        the next run works the answer out again."""
        directory = self.state_dir / DIRNAME
        try:
            try:
                os.mkdir(directory, 0o700)
            except FileExistsError:
                if statedir.problem(directory, os.lstat(directory), True) is not None:
                    return  # not ours to write into (statedir.verify says why)
            import tempfile  # only when writing: a report that finds its answers writes nothing

            fd, tmp = tempfile.mkstemp(prefix=f".{self.kind}.", dir=directory)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.replace(tmp, directory / self.filename)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError:
            pass
