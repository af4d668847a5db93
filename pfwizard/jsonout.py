"""``--json``: one JSON document on standard output, the same frame for ``apply``,
``restore``, ``rollback``, ``check`` and ``status`` (described in docs/json.md).

With ``--json`` everything meant for a person (progress, the diff as text, Postfix's own
words) goes to standard error, so a program reads standard output whole, whatever Postfix
printed along the way.  The contents of a private file (a ``sasl_passwd`` at 0600) are never
put in the document, exactly as they are never shown in a diff.

Kept light: ``check --json`` must not pay for the engine or the YAML library.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pfwizard.findings import Finding

if TYPE_CHECKING:
    from pfwizard.engine.changeset import FilePlan, Plan
    from pfwizard.intent.execute import Request
    from pfwizard.intent.rebase import RestorePlan
    from pfwizard.maincf import MainCf

SCHEMA = 1
"""Raised only when a key changes meaning or goes away; new keys may appear at any time."""


def frame(command: str, exit_code: int, *, dry_run: bool = False) -> dict[str, Any]:
    """The keys every command's document has, filled in later by the command."""
    return {
        "schema": SCHEMA,
        "command": command,
        "exit_code": exit_code,
        "changed": False,
        "dry_run": dry_run,
        "journal_entry": None,
        "files": [],
        "findings": [],
        "warnings": [],
        "error": None,
    }


def finding(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "severity": f.severity.value,
        "message": f.message,
        "parameter": f.parameter,
        "entry": f.entry,
        "index": f.index,
        "acceptable": f.acceptable,
    }


def findings(found: Iterable[Finding]) -> list[dict[str, Any]]:
    return [finding(f) for f in found]


def warning_lines(*texts: str | None) -> list[str]:
    """Postfix's output as separate lines, each once, in order (a run can repeat one
    warning a hundred times: one entry is enough)."""
    seen: dict[str, None] = {}
    for text in texts:
        for line in (text or "").splitlines():
            if line.strip():
                seen.setdefault(line.rstrip(), None)
    return list(seen)


def _text(data: bytes | None) -> str | None:
    return None if data is None else data.decode("utf-8", errors="replace")


def _secret(f: FilePlan) -> int | None:
    """The mode that makes this file private, or None: the same judgement as its diff."""
    from pfwizard.engine.changeset import secret_mode

    if f.meta is not None and f.meta.mode & 0o004 == 0:
        return f.meta.mode
    found = secret_mode(f.path)
    if found is None and f.map_type is not None:
        found = secret_mode(f.path, f.map_type)
    return found


def _action(f: FilePlan) -> str:
    if f.before is None:
        return "create"
    if f.after is None:
        return "delete"
    return "rebuild-index" if f.before == f.after else "modify"


def file_entry(f: FilePlan) -> dict[str, Any]:
    """One file a change writes: its text before and after, or for a private file (and a
    binary index) only what its diff says."""
    hidden = f.role == "index" or _secret(f) is not None
    mode = _secret(f) if f.role != "index" else None
    return {
        "path": str(f.path),
        "role": f.role,
        "map_type": f.map_type,
        "action": _action(f),
        "secret": mode is not None,
        "mode": None if mode is None else f"{mode:04o}",
        "before": None if hidden else _text(f.before),
        "after": None if hidden else _text(f.after),
        "diff": f.diff,
    }


def plan_files(plan: Plan | None, rebuild: Iterable[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """Every file ``plan`` changes (tables, main.cf, master.cf, then binary indexes), and each
    ``(map_type, path)`` in ``rebuild``: a table whose source is as recorded but whose index
    is lost."""
    out = [] if plan is None else [file_entry(f) for f in [*plan.files, *plan.indexes] if f.changes]
    for map_type, path in rebuild:
        out.append(
            {
                "path": path,
                "role": "table",
                "map_type": map_type,
                "action": "rebuild-index",
                "secret": False,
                "mode": None,
                "before": None,
                "after": None,
                "diff": f"rebuild {map_type}:{path} (its index is missing)\n",
            }
        )
    return out


def conflicts(plan: RestorePlan) -> list[dict[str, Any]]:
    return [
        {"kind": c.kind.value, "parameter": c.parameter, "message": c.message}
        for c in plan.conflicts
    ]


def change_document(
    command: str,
    code: int,
    req: Request,
    plan: RestorePlan,
    gate: RecordingGate | None,
    said: list[str],
) -> dict[str, Any]:
    """``apply``'s and ``restore``'s document, from what ``intent.execute`` kept."""
    from pfwizard import exitcodes

    doc = frame(command, code, dry_run=req.dry_run)
    doc["changed"] = code == exitcodes.CHANGED
    prepared, outcome = req.prepared, req.outcome
    if prepared is not None:
        doc["files"] = plan_files(prepared.plan, [(t.map_type, t.path) for t in prepared.rebuild])
    doc["journal_entry"] = req.entry_id or (outcome.entry_id if outcome is not None else None)
    if gate is not None:
        doc["findings"] = findings(gate.found)
        # A dry run's checks can stop before the analyser (postfix check refused the copy):
        # checked all the same, and refused.
        doc["checked"] = gate.ran or (outcome is not None and outcome.checked)
    if outcome is not None:
        doc["warnings"] = warning_lines(outcome.output)
        if outcome.ok and outcome.error:  # a dry run not checked: why, apart from Postfix's
            doc["warnings"].append(outcome.error)
    if code not in (exitcodes.OK, exitcodes.CHANGED):
        doc["error"] = req.error or (said[-1] if said else None)
    doc["conflicts"] = conflicts(plan)
    return doc


class RecordingGate:
    """The engine's safety check (pfwizard's analyser on the staged copy), keeping what it
    found so the document can list it with the staged paths put back to the live ones."""

    def __init__(self, config_dir: Path) -> None:
        from pfwizard.engine import default_gate

        self.gate = default_gate()
        self.live = str(Path(config_dir).resolve())
        self.found: list[Finding] = []
        self.ran = False

    def __call__(self, cf: MainCf, staged_dir: Path) -> list[Finding]:
        found = self.gate(cf, staged_dir) if self.gate is not None else []
        stage = str(staged_dir)

        def live(text: str | None) -> str | None:
            return None if text is None else text.replace(stage, self.live)

        self.found = [
            replace(
                f, message=live(f.message) or "", entry=live(f.entry), parameter=live(f.parameter)
            )
            for f in found
        ]
        self.ran = True
        return found


def emit(doc: dict[str, Any], out: TextIO | None = None) -> None:
    """The document, on standard output (and nothing else there)."""
    global _emitted
    stream = out if out is not None else sys.stdout
    stream.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    stream.flush()
    _emitted = True


def to_stderr(line: str) -> None:
    """Progress with --json: for people, on standard error."""
    print(line, file=sys.stderr)


_emitted = False


class _Tee:
    """Standard error as usual, keeping the last line pfwizard said (for the document
    of a command that stopped before it could write its own)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lines: list[str] = []

    def write(self, text: str) -> int:
        self.lines += [ln for ln in text.splitlines() if ln.strip()]
        del self.lines[:-20]
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


@contextmanager
def guarded(command: str, dry_run: bool) -> Iterator[list[int]]:
    """Run a command with --json: if it ends (an error, a refusal before it started) without
    having written its document, write one naming the exit code and the last error line.
    The caller puts the exit code in the yielded list."""
    global _emitted
    _emitted = False
    tee = _Tee(sys.stderr)
    code: list[int] = []
    sys.stderr = tee
    try:
        yield code
    finally:
        sys.stderr = tee.stream
        if not _emitted and code:
            doc = frame(command, code[0], dry_run=dry_run)
            last = tee.lines[-1] if tee.lines else None
            if last is not None and last.startswith("pfwizard"):
                last = last.split(": ", 1)[-1] if ": " in last else last
            doc["error"] = last
            emit(doc)
