"""Change a table: every edit returns a new Table, nothing is written here.

The apply engine installs files; this module only produces content, and refuses input that
would not mean what the admin typed (a newline that would start a second entry, a key with
spaces that Postfix would split, a pattern whose delimiter ends it early, an action smtpd
would answer with ``451 4.3.5``), naming the table and the line.
"""

from __future__ import annotations

import re
from pathlib import Path

from pfwizard.errors import ValueRefused
from pfwizard.tables.actions import classify
from pfwizard.tables.lookup import parse_network
from pfwizard.tables.model import FIXED_TYPES, PATTERN_TYPES, Kind, Table, split_key
from pfwizard.tables.validate import checked_content

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _refuse(table: Table, lineno: int | None, msg: str) -> ValueRefused:
    where = f"{table.path}, line {lineno}" if lineno else table.path
    return ValueRefused(f"{where}: {msg}")


def format_entry(table: Table, key: str, action: str, *, flags: str = "",
                 negated: bool = False, lineno: int | None = None,
                 restriction_classes: frozenset[str] = frozenset()) -> str:
    """The text of one entry (no newline), checked by parsing it back like Postfix would.

    ``key``: the lookup key (fixed tables), the network (cidr) or the expression between the
    slashes (regexp/pcre)."""
    for what, text in (("key", key), ("action", action), ("flags", flags)):
        bad = _CONTROL.search(text)
        if bad:
            name = {"\n": "a newline", "\0": "a NUL byte", "\r": "a carriage return"}.get(
                bad.group(), f"control character 0x{ord(bad.group()):02x}")
            raise _refuse(table, lineno, f"the {what} contains {name}: refused")
    action = action.strip()
    if not action:
        raise _refuse(table, lineno, "an entry needs an action (OK, REJECT text, DUNNO...)")
    act = classify(action, restriction_classes)
    if act.error:
        raise _refuse(table, lineno, act.error)
    if table.type in PATTERN_TYPES:
        if not key:
            raise _refuse(table, lineno, "empty pattern")
        text = f"{'!' if negated else ''}/{key}/{flags} {action}"
    elif table.type == "cidr":
        if parse_network(key) is None:
            raise _refuse(table, lineno, f"{key!r} is not a network (address or "
                                         "address/prefix with no host bits set)")
        text = f"{'!' if negated else ''}{key} {action}"
    else:
        split = split_key(f"{key} x")
        if key != key.strip() or not key or isinstance(split, str) or split[0] != key:
            raise _refuse(table, lineno, f"the key {key!r} contains spaces or an unbalanced "
                                         "quote: Postfix would split it into key and value")
        text = f"{key} {action}"
    if text[0] in " \t":
        raise _refuse(table, lineno, "an entry must not start with whitespace")
    back = Table.parse(text + "\n", table.type, table.path).lines[0]
    expected_key = key if table.type in FIXED_TYPES or table.type == "cidr" else None
    if (back.kind is not Kind.ENTRY or back.skipped or back.action != action
            or (expected_key is not None and back.key != expected_key)
            or (back.pattern is not None and table.type in PATTERN_TYPES
                and (back.pattern.body, back.pattern.flags) != (key, flags))):
        why = "; ".join(back.problems) or "it does not read back as written"
        raise _refuse(table, lineno, f"entry {text!r} refused: {why}")
    return text


def _with_text(table: Table, index: int | None, replace: bool, text: str | None) -> Table:
    """Insert (or replace with) one physical line at ``lines[index]``."""
    raw = [ln.raw for ln in table.lines]
    if raw and not raw[-1].endswith("\n") and (index is None or index >= len(raw)):
        raw[-1] += "\n"  # keep the old last line a line of its own
    new = [] if text is None else [text + "\n"]
    if index is None:
        raw.extend(new)
    elif replace:
        raw[index : index + 1] = new
    else:
        raw[index:index] = new
    return Table.parse("".join(raw), table.type, table.path)


def _index_of(table: Table, lineno: int) -> int:
    for i, ln in enumerate(table.lines):
        if ln.lineno == lineno:
            return i
    raise _refuse(table, lineno, "no line starts there")


def add_entry(table: Table, key: str, action: str, *, before_line: int | None = None,
              flags: str = "", negated: bool = False,
              restriction_classes: frozenset[str] = frozenset()) -> Table:
    """A copy of ``table`` with a new entry (at the end, or before line ``before_line``)."""
    idx = _index_of(table, before_line) if before_line is not None else None
    text = format_entry(table, key, action, flags=flags, negated=negated, lineno=before_line,
                        restriction_classes=restriction_classes)
    return _with_text(table, idx, False, text)


def replace_entry(table: Table, lineno: int, key: str, action: str, *, flags: str = "",
                  negated: bool = False,
                  restriction_classes: frozenset[str] = frozenset()) -> Table:
    idx = _index_of(table, lineno)
    if table.lines[idx].kind is not Kind.ENTRY:
        raise _refuse(table, lineno, "not an entry")
    text = format_entry(table, key, action, flags=flags, negated=negated, lineno=lineno,
                        restriction_classes=restriction_classes)
    return _with_text(table, idx, True, text)


def remove_entry(table: Table, lineno: int) -> Table:
    idx = _index_of(table, lineno)
    if table.lines[idx].kind is not Kind.ENTRY:
        raise _refuse(table, lineno, "not an entry")
    return _with_text(table, idx, True, None)


def validate_path(path: str | Path, config_dir: str | Path) -> Path:
    """The table path, resolved, if it lies inside the Postfix config directory.

    Refuses relative escapes (``../``), absolute paths elsewhere and symlinks (in any
    component) that lead out of the directory; pfwizard only writes tables there."""
    text = str(path)
    if "\0" in text or "\n" in text:
        raise ValueRefused(f"table path {text!r}: control characters refused")
    base = Path(config_dir).resolve()
    p = Path(path)
    if not p.is_absolute():
        p = base / p
    real = p.resolve()
    if real == base or base not in real.parents:
        raise ValueRefused(f"table path {text}: outside the Postfix config directory {base} "
                           f"(it resolves to {real}); pfwizard only writes tables there")
    if real.exists() and not real.is_file():
        raise ValueRefused(f"table path {text}: not a regular file")
    return real


def content_to_install(table: Table, config_dir: str | Path, *,
                       restriction_classes: frozenset[str] = frozenset()) -> tuple[Path, bytes]:
    """Where ``table`` goes and the bytes to put there, for the apply engine to install.

    ValueRefused when the path leads outside ``config_dir``; TableError naming the line when
    a line is bad (Postfix itself checks patterns, networks and keys).  Writes nothing."""
    path = validate_path(table.path, config_dir)
    return path, checked_content(table, config_dir, restriction_classes=restriction_classes)
