"""Which map types Postfix reads through an index file that ``postmap`` builds, and its name.

Kept apart from the engine so that what only reads (``pfwizard status``, the restore plan)
can name a table's ``.db`` without loading the apply engine.
"""

from __future__ import annotations

from pathlib import Path

# Map types whose lookups go through an index file that ``postmap`` builds from the source.
INDEX_SUFFIX = {"hash": ".db", "btree": ".db", "lmdb": ".lmdb", "cdb": ".cdb"}


def index_path(path: Path, map_type: str) -> Path | None:
    suffix = INDEX_SUFFIX.get(map_type)
    return None if suffix is None else path.with_name(path.name + suffix)
