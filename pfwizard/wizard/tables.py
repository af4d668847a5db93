"""Lookup tables as the wizard's table editor handles them before anything is written:
where a ``type:path`` argument points, what ``postmap -q`` and smtpd's access(5) search
would answer for the table as edited, and what is wrong with it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pfwizard import postfix
from pfwizard.errors import PfwizardError, ValueRefused

INDEXED_TYPES = frozenset({"hash", "btree", "lmdb", "cdb", "dbm", "sdbm"})


def split_table(arg: str, config_dir: Path) -> tuple[str, str]:
    """``regexp:/etc/postfix/x`` -> (``regexp``, absolute path). Refuses odd map types."""
    kind, sep, path = arg.partition(":")
    if not sep or not kind.isalnum():
        raise ValueRefused(f"{arg}: a lookup table is written type:path, e.g. hash:/etc/postfix/x")
    p = Path(path)
    if not p.is_absolute():
        p = config_dir / p
    return kind, str(p)


def postmap_query(map_type: str, content: str, key: str) -> str:
    """What ``postmap -q KEY type:TABLE`` answers for the table as edited (not yet written).

    Postfix itself answers when installed (in a scratch config directory: the answer depends
    only on the table, and the box's main.cf must not make postmap stop); otherwise the
    tables simulator, and it says so.
    """
    from pfwizard.tables import lookup
    from pfwizard.tables.model import Table

    if not postfix.available():
        found = lookup.postmap_query(Table.parse(content, map_type), key)
        return f"{found or '(not found)'}  [simulated: Postfix is not installed]"
    with tempfile.TemporaryDirectory(prefix="pfwizard-q-") as tmp:
        (Path(tmp) / "main.cf").write_text("compatibility_level = 3.6\n")
        src = Path(tmp) / "table"
        src.write_text(content)
        if map_type in INDEXED_TYPES:
            built = postfix.postmap(tmp, f"{map_type}:{src}")
            if not built.ok:
                return f"postmap could not build the table: {built.output}"
        res = postfix.postmap(tmp, "-q", key, f"{map_type}:{src}")
    if res.stderr.strip():
        return f"{res.stdout.strip() or '(not found)'}; postmap said: {res.stderr.strip()}"
    return res.stdout.strip() or "(not found)"


def access_answer(map_type: str, content: str, address: str, kind: str) -> str:
    """What smtpd's access(5) search would find for ``address`` (the tables simulator)."""
    from pfwizard.tables import lookup
    from pfwizard.tables.model import Table

    try:
        found = lookup.access_lookup(Table.parse(content, map_type), address, kind=kind)
    except PfwizardError as exc:
        return f"error: {exc}"
    if found is None:
        return "no match: the list goes on to the next entry"
    return f"{found.action} (key {found.matched_key!r}, line {found.line})"


def validate_table(config_dir: Path, map_type: str, content: str) -> list[str]:
    """Errors in a table as edited, one line each (empty: fine to save)."""
    from pfwizard.tables import validate as table_validate
    from pfwizard.tables.model import Table

    del config_dir  # Postfix checks the table in its own scratch directory
    try:
        table = Table.parse(content, map_type, path="table")
        problems = table_validate.errors(table_validate.validate(table))
    except PfwizardError as exc:
        return [str(exc)]
    return [f"line {p.line}: {p.message}" if p.line else p.message for p in problems]
