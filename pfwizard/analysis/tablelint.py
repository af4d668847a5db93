"""The table checker at the analyser's door: every access table a restriction list names is
read and linted (``pfwizard.tables.lint``), so ``check``, the apply gate on every path and the
wizard all see a PERMIT pattern that lets a longer or look-alike domain in, or a ``/.../i``
pattern that never matches real mail.

Danger findings here are acceptable by name: the admin may know better (``--accept-risk CODE``
on the command line, a confirmation in the wizard); an open relay never is.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from pfwizard import inputs, memo, postfix
from pfwizard.analysis import tablefiles
from pfwizard.analysis.lists import Step, StepKind
from pfwizard.catalogue import ArgKind
from pfwizard.errors import ConfigError, PfwizardError
from pfwizard.findings import Finding, Severity
from pfwizard.indexfiles import PATTERN_TYPES, TABLE_TYPES

if TYPE_CHECKING:
    from pfwizard.tables.lint import TableFinding
    from pfwizard.tables.model import Table

# Which access(5) search a restriction does with its table.
USED_AS = {
    "check_sender_access": "sender",
    "check_recipient_access": "recipient",
    "check_client_access": "client",
    "check_helo_access": "helo",
    "check_reverse_client_hostname_access": "client",
}
# A bare table in a list is that list's default check_*_access.
BARE_USED_AS = {
    "sender": "sender",
    "recipient": "recipient",
    "relay": "recipient",
    "client": "client",
    "helo": "helo",
}
POSTFIX_LIBRARIES = "/usr/lib/postfix"
"""Debian's and Ubuntu's shlib_directory: libpostfix-*.so and the map plugins."""
CONTENT_CHECKS = {
    "header_checks": "header",
    "mime_header_checks": "header",
    "nested_header_checks": "header",
    "body_checks": "body",
}
"""cleanup's content checks (main.cf, or a service's ``-o``) and what their tables match."""
CONTENT_USES = {f"content:{what}": what for what in ("header", "body")}
MAX_TABLE_BYTES = 1 << 20
"""Larger tables are not linted (a real access table is a few hundred lines; linting a
30,000-line pattern table takes seconds, and ``check`` and the wizard ask on every edit)."""
# Linted; INFO findings (style notes) are left to the table editor.
SHOWN = (Severity.CAUTION, Severity.DANGER)
ONCE_PER_TABLE = frozenset({"forgeable-allow"})


def _table_of(step: Step) -> tuple[str, str | None] | None:
    if step.kind is StepKind.TABLE:
        return step.item.name, BARE_USED_AS.get(step.list_key)
    r = step.restriction
    if r is not None and r.arg_kind is ArgKind.TABLE and step.item.arg:
        return step.item.arg, USED_AS.get(r.name)
    return None


def read_table(
    ref: str, config_dir: Path, pending: Mapping[str, str] | None = None
) -> tuple[str, str, bytes] | None:
    """(type, name, source bytes) of the table ``ref`` names, as its file reads (None: not a
    file we can lint).

    ``pending``: table contents not written yet (the wizard's edits), by path."""
    parsed = tablefiles.split_table(ref)
    if parsed is None or parsed[0] not in TABLE_TYPES:
        return None
    kind, name = parsed
    path = tablefiles.locate(name, config_dir)
    for candidate in (name, str(path)):
        if pending and candidate in pending:
            return kind, name, pending[candidate].encode()
    try:
        return kind, name, inputs.read_bytes(path, MAX_TABLE_BYTES, what="table")
    except ConfigError:
        return None


def table_findings(
    kind: str, name: str, text: str | bytes, used_as: str | None = None
) -> tuple[TableFinding, ...]:
    """Every finding (info included) for a table's text, worst first then by line: what the
    table editor shows as the admin types."""
    data = text.encode() if isinstance(text, str) else text
    if kind not in TABLE_TYPES or len(data) > MAX_TABLE_BYTES:
        return ()
    found = _linted(kind, name, data, used_as)
    return tuple(sorted(found, key=lambda f: (-f.severity.rank, f.line)))


@functools.lru_cache(maxsize=128)
def _linted(kind: str, name: str, data: bytes, used_as: str | None) -> tuple[TableFinding, ...]:
    """The lint of one table's bytes, proven: the wizard asks again after every edit, so the
    answer is kept per content.  No config directory: the table alone decides (a scratch
    main.cf, so a broken one on the box does not change the answer)."""
    from pfwizard.tables.lint import lint, lint_content
    from pfwizard.tables.model import Table

    try:
        table = Table.parse(data, kind, path=name)
        if used_as in CONTENT_USES:
            found = lint_content(table, CONTENT_USES[used_as])
        else:
            found = lint(table, None, used_as=used_as)
    except ConfigError:
        return ()  # Postfix cannot open it: the table check reports that
    return tuple(_proven(table, found))


def _proven(table: Table, found: list[TableFinding]) -> list[TableFinding]:
    """Danger findings whose example key ``postmap -q`` answers (one run for the table);
    without Postfix the simulator's word stands. A danger Postfix does not confirm is not
    shown: a warning the admin can disprove with one command would teach them to ignore it."""
    keys = [
        f.example
        for f in found
        if f.severity is Severity.DANGER
        and f.example
        and "\t" not in f.example
        and "\n" not in f.example
    ]
    if not keys or not postfix.available():
        return found
    from pfwizard.tables.engines import postmap_batch

    try:
        answers = postmap_batch(table, keys)
    except (PfwizardError, OSError, ValueError):
        return found
    return [
        f
        for f in found
        if f.severity is not Severity.DANGER
        or not f.example
        or f.example not in answers
        or answers[f.example] is not None
    ]


class Shown(NamedTuple):
    """What ``findings`` tells of one table finding (caution or danger)."""

    code: str
    severity: Severity
    message: str
    line: int
    example: str | None


def _shown(kind: str, name: str, data: bytes, used_as: str | None) -> tuple[Shown, ...]:
    """The caution and danger findings of one table's bytes.  In a run that keeps answers
    (``status``, ``check``: pfwizard.memo) they are read back when the same bytes were
    linted before by the same pfwizard and the same ``postmap``: the lint runs postmap twice
    per table, more than the rest of ``status`` together."""
    kept = memo.get("tablelint")
    k = ""
    if kept is not None:
        k = memo.key(
            kind,
            name,
            data,
            "\0" if used_as is None else used_as,
            memo.file_identity(postfix.program("postmap")),
            # Postfix's own libraries and map plugins (postfix-pcre is a package of its own).
            memo.dir_identity(POSTFIX_LIBRARIES),
        )
        found = kept.get(k)
        if isinstance(found, list):
            try:
                back = tuple(
                    Shown(str(c), Severity(s), str(m), int(ln), None if e is None else str(e))
                    for c, s, m, ln, e in found
                )
                if all(f.severity in SHOWN for f in back):
                    return back
            except (TypeError, ValueError):
                pass  # not one this pfwizard wrote: lint again
    shown = tuple(
        Shown(tf.code, tf.severity, tf.message, tf.line, tf.example)
        for tf in _linted(kind, name, data, used_as)
        if tf.severity in SHOWN
    )
    if kept is not None:
        kept.put(k, [[f.code, f.severity.value, f.message, f.line, f.example] for f in shown])
    return shown


def findings(
    steps: Iterable[Step], config_dir: Path, pending: Mapping[str, str] | None = None
) -> list[Finding]:
    """Caution and danger findings of every table the ``steps`` name (``pending``: tables
    about to be written, by path, read instead of the files)."""
    out: list[Finding] = []
    seen: set[tuple[str, str, int]] = set()
    for step in steps:
        found = _table_of(step)
        if found is None:
            continue
        ref, used_as = found
        table = read_table(ref, config_dir, pending)
        if table is None:
            continue
        for tf in _shown(*table, used_as):
            # One "anyone can forge this sender" per table says it; one per line is noise.
            line = 0 if tf.code in ONCE_PER_TABLE else tf.line
            if (ref, tf.code, line) in seen:
                continue
            seen.add((ref, tf.code, line))
            out.append(_finding(ref, tf, step.parameter, step.entry, step.index))
    return out


def _finding(
    ref: str, tf: Shown, parameter: str | None, entry: str | None, index: int | None = None
) -> Finding:
    """A table finding as the analyser tells it: which table, and for a danger the
    ``postmap -q`` command that shows it."""
    proof = (
        f" Check it: postmap -q '{tf.example}' {ref}"
        if tf.example and tf.severity is Severity.DANGER
        else ""
    )
    return Finding(
        code=tf.code,
        severity=tf.severity,
        message=f"table {ref}, {tf.message}{proof}",
        parameter=parameter,
        entry=entry,
        index=index,
        acceptable=True,
    )


def content_findings(
    places: Iterable[tuple[str, str, str]],
    config_dir: Path,
    pending: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Caution and danger findings of the pattern tables in cleanup's content checks.
    ``places``: (where, parameter, value): ``header_checks`` of main.cf, or
    ``authclean/unix/header_checks`` of a master.cf service, with its value expanded."""
    out: list[Finding] = []
    seen: set[tuple[str, str, str, int]] = set()
    for where, parameter, value in places:
        what = CONTENT_CHECKS.get(parameter)
        if what is None:
            continue
        for ref in dict.fromkeys(value.replace(",", " ").split()):
            table = read_table(ref, config_dir, pending)
            if table is None or table[0] not in PATTERN_TYPES:
                continue
            for tf in _shown(*table, f"content:{what}"):
                if (where, ref, tf.code, tf.line) in seen:
                    continue
                seen.add((where, ref, tf.code, tf.line))
                out.append(_finding(ref, tf, where, ref))
    return out
