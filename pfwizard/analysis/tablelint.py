"""The table checker at the analyser's door: every access table a restriction list names is
read and linted (``pfwizard.tables.lint``), so ``check``, the apply gate on every path and the
wizard all see a PERMIT pattern that lets a longer or look-alike domain in, or a ``/.../i``
pattern that never matches real mail.

Danger findings here are acceptable by name: the admin may know better (``--accept-risk CODE``
on the command line, a confirmation in the wizard); an open relay never is.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pfwizard import inputs
from pfwizard.analysis import tablefiles
from pfwizard.analysis.lists import Step, StepKind
from pfwizard.catalogue import ArgKind
from pfwizard.errors import ConfigError
from pfwizard.findings import Finding, Severity
from pfwizard.tables.lint import lint
from pfwizard.tables.model import TABLE_TYPES, Table

# Which access(5) search a restriction does with its table.
USED_AS = {"check_sender_access": "sender", "check_recipient_access": "recipient",
           "check_client_access": "client", "check_helo_access": "helo",
           "check_reverse_client_hostname_access": "client"}
# A bare table in a list is that list's default check_*_access.
BARE_USED_AS = {"sender": "sender", "recipient": "recipient", "relay": "recipient",
                "client": "client", "helo": "helo"}
MAX_TABLE_BYTES = 4 << 20
"""Larger tables are not linted (a real access table is a few hundred lines)."""
# Linted; INFO findings (style notes) are left to the table editor.
SHOWN = (Severity.CAUTION, Severity.DANGER)


def _table_of(step: Step) -> tuple[str, str | None] | None:
    if step.kind is StepKind.TABLE:
        return step.item.name, BARE_USED_AS.get(step.list_key)
    r = step.restriction
    if r is not None and r.arg_kind is ArgKind.TABLE and step.item.arg:
        return step.item.arg, USED_AS.get(r.name)
    return None


def read_table(ref: str, config_dir: Path) -> Table | None:
    """The table ``ref`` names, as its source file reads (None: not a file we can lint)."""
    parsed = tablefiles.split_table(ref)
    if parsed is None or parsed[0] not in TABLE_TYPES:
        return None
    kind, name = parsed
    path = tablefiles.locate(name, config_dir)
    try:
        data = inputs.read_bytes(path, MAX_TABLE_BYTES, what="table")
        return Table.parse(data, kind, path=name)
    except ConfigError:
        return None


def findings(steps: Iterable[Step], config_dir: Path) -> list[Finding]:
    out: list[Finding] = []
    seen: set[tuple[str, str, int]] = set()
    for step in steps:
        found = _table_of(step)
        if found is None:
            continue
        ref, used_as = found
        table = read_table(ref, config_dir)
        if table is None:
            continue
        for tf in lint(table, config_dir, used_as=used_as):
            if tf.severity not in SHOWN or (ref, tf.code, tf.line) in seen:
                continue
            seen.add((ref, tf.code, tf.line))
            proof = (f" Check it: postmap -q '{tf.example}' {ref}"
                     if tf.example and tf.severity is Severity.DANGER else "")
            out.append(Finding(code=tf.code, severity=tf.severity,
                               message=f"table {ref}, {tf.message}{proof}",
                               parameter=step.parameter, entry=step.entry, index=step.index,
                               acceptable=True))
    return out
