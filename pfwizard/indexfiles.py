"""Which map types Postfix reads through an index file that ``postmap`` builds, its name, and
which files in the config directory can never be a lookup table pfwizard writes.

Kept apart from the engine so that what only reads (``pfwizard status``, the restore plan)
can name a table's ``.db`` without loading the apply engine.
"""

from __future__ import annotations

from pathlib import Path

# Tables built by postmap into a database file (key lookups, keys folded to lower case).
INDEXED_TYPES = ("hash", "btree", "lmdb", "cdb", "dbm", "sdbm")
PATTERN_TYPES = ("regexp", "pcre")
TABLE_TYPES = (*INDEXED_TYPES, "texthash", "cidr", *PATTERN_TYPES)
"""The map types pfwizard reads, checks and writes as access tables."""
# Types whose keys are fixed strings (Postfix's DICT_FLAG_FIXED): they get the access(5)
# partial lookups (domain, parent domains, user@) and case folding.
FIXED_TYPES = (*INDEXED_TYPES, "texthash")

# Map types whose lookups go through an index file that ``postmap`` builds from the source.
INDEX_SUFFIX = {"hash": ".db", "btree": ".db", "lmdb": ".lmdb", "cdb": ".cdb"}


def index_path(path: Path, map_type: str) -> Path | None:
    suffix = INDEX_SUFFIX.get(map_type)
    return None if suffix is None else path.with_name(path.name + suffix)


POSTFIX_OWN_FILES = frozenset({"main.cf", "master.cf", "dynamicmaps.cf", "postfix-files"})
"""Files at the top of the config directory that Postfix reads as its own configuration."""
POSTFIX_OWN_DIRS = frozenset({"dynamicmaps.cf.d", "postfix-files.d"})


def why_not_a_table(rel: Path) -> str | None:
    """Why the file at ``rel`` (relative to the config directory) must never be written as a
    lookup table, or None: a table edit is not a way to replace main.cf wholesale, past every
    check of its parameters, nor to overwrite another table's index."""
    if (len(rel.parts) == 1 and rel.name in POSTFIX_OWN_FILES) or (
        rel.parts and rel.parts[0] in POSTFIX_OWN_DIRS
    ):
        return (
            f"it is Postfix's own {rel}; pfwizard changes main.cf and master.cf one "
            "parameter at a time"
        )
    if rel.suffix in set(INDEX_SUFFIX.values()):
        return f"{rel.suffix} is the name postmap gives a table's index; name the table itself"
    return None
