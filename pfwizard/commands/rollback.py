"""`pfwizard rollback`: the journal of changes, undoing one, confirming a pending one."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pfwizard import exitcodes, jsonout

# The same y/N question restore asks (one prompt, one behaviour on EOF).
from pfwizard.commands.restore import _ask
from pfwizard.engine import Engine, JournalEntry, Refused, StepEvent
from pfwizard.engine.atomic import can_access
from pfwizard.engine.journal import unreadable_words

EPILOG = """\
Every apply, restore and rollback is a journal entry in the state directory, with a backup of
each file it touched. --to ID puts every file that entry changed back as it was before it
(main.cf, master.cf, tables and their .db indexes, and customizations.yaml, so `status` and
the restore hook agree with the rollback), through the same checks as an apply: the
rollback is itself an entry, so it can be rolled back too. It refuses if a file changed after
that entry (roll back the later entries first). Changes applied with a confirmation deadline
are rolled back by themselves unless confirmed with --confirm ID in time.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{parser.description}.\n\n{EPILOG}"
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--list",
        action="store_true",
        help="the journal: every change with its time, user, outcome, summary (the default)",
    )
    what.add_argument("--show", metavar="ID", help="one entry in full, with its diff")
    what.add_argument(
        "--to", metavar="ID", help="undo entry ID: its files go back as they were before it"
    )
    what.add_argument(
        "--confirm", metavar="ID", help="keep change ID, applied with a confirmation deadline"
    )
    parser.add_argument("-y", "--yes", action="store_true", help="do not ask before writing")
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON document and ask nothing (--to "
        "then needs --yes or --dry-run); progress goes to standard error",
    )


def _no_permission(config_dir: Path, state_dir: Path) -> str | None:
    """Why this user cannot change the configuration (None: it can)."""
    state_parent = state_dir if state_dir.exists() else state_dir.parent
    for what, path in (("configuration directory", config_dir), ("state directory", state_parent)):
        if path.exists() and not can_access(path, os.W_OK | os.X_OK):
            return (
                f"cannot write the {what} {path}: permission denied. "
                f"Run it as root: sudo pfwizard rollback ..."
            )
    return None


def _readable(state_dir: Path) -> str | None:
    journal = state_dir / "journal"
    if state_dir.exists() and not can_access(state_dir, os.R_OK | os.X_OK):
        return (
            f"cannot read the journal in {state_dir}: permission denied. "
            "Run it as root: sudo pfwizard rollback --list"
        )
    if journal.exists() and not can_access(journal, os.R_OK | os.X_OK):
        return f"cannot read {journal}: permission denied (use sudo)"
    return None


def _line(e: JournalEntry) -> str:
    when = e.time.replace("T", " ").replace("+00:00", "")
    outcome = e.outcome
    if e.rolled_back_by:
        outcome += f", undone by {e.rolled_back_by}"
    return f"{e.id:>4}  {when:19}  {e.user[:12]:12}  {e.kind:8}  {outcome:22}  {e.summary}"


def _entry_json(e: JournalEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "time": e.time,
        "user": e.user,
        "kind": e.kind,
        "outcome": e.outcome,
        "summary": e.summary,
        "error": e.error,
        "rollback_of": e.rollback_of,
        "rolled_back_by": e.rolled_back_by,
        "files": [
            {
                "path": f.path,
                "role": f.role,
                "sha256_before": f.sha256_before,
                "sha256_after": f.sha256_after,
            }
            for f in e.files
        ],
    }


def _list_json(engine: Engine) -> int:
    entries, unreadable = engine.journal.scan()
    doc = jsonout.frame("rollback", exitcodes.OK)
    doc["entries"] = [_entry_json(e) for e in sorted(entries, key=lambda e: int(e.id))]
    doc["unreadable"] = [{"id": i, "reason": why} for i, why in unreadable]
    jsonout.emit(doc)
    return exitcodes.OK


def _read_entry(engine: Engine, entry_id: str) -> JournalEntry | None:
    """The entry for --show; None (said on stderr) when it is missing or fails the checks."""
    try:
        entry = engine.journal.read(entry_id)
    except Refused as exc:
        print(f"pfwizard: {exc}", file=sys.stderr)
        return None
    if entry is None:
        print(f"pfwizard: no journal entry {entry_id!r}", file=sys.stderr)
    return entry


def _show_json(engine: Engine, entry_id: str) -> int:
    entry = _read_entry(engine, entry_id)
    if entry is None:
        return exitcodes.ERROR
    doc = jsonout.frame("rollback", exitcodes.OK)
    doc["journal_entry"] = entry.id
    doc["entry"] = _entry_json(entry)
    doc["entry"]["diff"] = engine.diff(entry_id)
    jsonout.emit(doc)
    return exitcodes.OK


def _list(engine: Engine) -> int:
    # An entry that fails the checks is named on one line and skipped, never shown as true.
    entries, unreadable = engine.journal.scan()
    if not entries and not unreadable:
        print(f"no changes recorded yet in {engine.state_dir}")
        return exitcodes.OK
    print(f"{'ID':>4}  {'WHEN (UTC)':19}  {'USER':12}  {'KIND':8}  {'OUTCOME':22}  SUMMARY")
    lines = [(int(e.id), _line(e)) for e in entries]
    lines += [(int(i), f"{i:>4}  {unreadable_words(why)}") for i, why in unreadable]
    for _, line in sorted(lines):
        print(line)
    print("\npfwizard rollback --show ID: details and diff; --to ID: undo it")
    return exitcodes.OK


def _show(engine: Engine, entry_id: str) -> int:
    entry = _read_entry(engine, entry_id)
    if entry is None:
        return exitcodes.ERROR
    print(_line(entry))
    if entry.error:
        print(f"\n{entry.error}")
    print("\nfiles:")
    for f in entry.files:
        before = (f.sha256_before or "absent")[:12]
        after = (f.sha256_after or "absent")[:12]
        print(f"  {f.path}  sha256 {before} -> {after}")
    diff = engine.diff(entry_id)
    if diff:
        print("\n" + diff.rstrip("\n"))
    return exitcodes.OK


def _progress_to(say: Callable[[str], None]) -> Callable[[StepEvent], None]:
    def progress(ev: StepEvent) -> None:
        if ev.status == "start" and not ev.detail:
            return
        head = f"  {ev.step}: {ev.status}"
        detail = ev.detail.strip()
        if "\n" in detail:
            say(head)
            for ln in detail.splitlines():
                say(f"      {ln}")
        else:
            say(f"{head}{f' ({detail})' if detail else ''}")

    return progress


_progress = _progress_to(print)


def _to_json(
    engine: Engine, entry_id: str, args: argparse.Namespace, gate: jsonout.RecordingGate
) -> int:
    """``--to ID --json``: the same steps, asking nothing, one document on stdout."""
    doc = jsonout.frame("rollback", exitcodes.OK, dry_run=args.dry_run)
    doc["rolled_back"] = entry_id
    doc["warnings"] = [f"pfwizard: {msg}" for msg in engine.recover()]
    try:
        plan = engine.rollback_plan(entry_id)
    except Refused as exc:
        jsonout.to_stderr(f"pfwizard: refused, nothing written: {exc}")
        doc.update(exit_code=exitcodes.REFUSED, error=f"refused, nothing written: {exc}")
        jsonout.emit(doc)
        return exitcodes.REFUSED
    doc["files"] = jsonout.plan_files(plan)
    jsonout.to_stderr(f"rollback of entry {entry_id} would write:")
    jsonout.to_stderr(plan.unified_diff().rstrip("\n") or "(index files only)")
    if args.dry_run or not args.yes:
        code = exitcodes.CHANGED if args.dry_run else exitcodes.REFUSED
        doc.update(
            exit_code=code,
            changed=args.dry_run,
            dry_run=True,
            error=None if args.dry_run else "--json asks nothing: run again with --yes",
        )
        jsonout.emit(doc)
        return code
    res = engine.rollback(entry_id, progress=_progress_to(jsonout.to_stderr))
    code = exitcodes.CHANGED if res.ok else exitcodes.REFUSED if res.refused else exitcodes.FAILED
    doc.update(
        exit_code=code,
        changed=res.ok,
        journal_entry=res.entry_id,
        error=res.error,
        findings=jsonout.findings(gate.found),
        checked=gate.ran,
    )
    doc["warnings"] += jsonout.warning_lines(res.postfix_output)
    jsonout.emit(doc)
    return code


def _to(engine: Engine, entry_id: str, args: argparse.Namespace) -> int:
    for msg in engine.recover():
        print(f"pfwizard: {msg}")
    try:
        plan = engine.rollback_plan(entry_id)
    except Refused as exc:
        print(f"pfwizard: refused, nothing written: {exc}", file=sys.stderr)
        return exitcodes.REFUSED
    print(f"rollback of entry {entry_id} would write:")
    print(plan.unified_diff().rstrip("\n") or "(index files only)")
    if args.dry_run:
        print("dry run: nothing written")
        return exitcodes.CHANGED
    if not args.yes and not _ask(f"Roll back entry {entry_id}?"):
        print("declined: nothing written")
        return exitcodes.REFUSED
    res = engine.rollback(entry_id, progress=_progress)
    if res.ok:
        print(
            f"rolled back entry {entry_id} (journal entry {res.entry_id}; "
            f"undo it with: pfwizard rollback --to {res.entry_id})"
        )
        return exitcodes.CHANGED
    print(f"pfwizard: rollback not done: {res.error}", file=sys.stderr)
    return exitcodes.REFUSED if res.refused else exitcodes.FAILED


def run(args: argparse.Namespace) -> int:
    config_dir, state_dir = Path(args.config_dir), Path(args.state_dir)
    gate = jsonout.RecordingGate(config_dir) if args.json else None
    engine = Engine(config_dir, state_dir, reload=not args.no_reload, gate=gate)
    if args.to or args.confirm:
        why = _no_permission(config_dir, state_dir)
        if why:
            print(f"pfwizard: {why}", file=sys.stderr)
            return exitcodes.REFUSED
    if args.to:
        return _to_json(engine, args.to, args, gate) if gate else _to(engine, args.to, args)
    if args.confirm:
        try:
            engine.confirm(args.confirm)
        except Refused as exc:
            print(f"pfwizard: {exc}", file=sys.stderr)
            return exitcodes.REFUSED
        if args.json:
            doc = jsonout.frame("rollback", exitcodes.OK)
            doc.update(journal_entry=args.confirm, confirmed=args.confirm)
            jsonout.emit(doc)
            return exitcodes.OK
        print(f"confirmed: entry {args.confirm} stays in force")
        return exitcodes.OK
    why = _readable(state_dir)
    if why:
        print(f"pfwizard: {why}", file=sys.stderr)
        return exitcodes.REFUSED
    if args.show:
        return _show_json(engine, args.show) if args.json else _show(engine, args.show)
    if args.json:
        return _list_json(engine)
    if not args.list and sys.stdin.isatty() and sys.stdout.isatty():
        # No flag, on a terminal: the wizard's rollback screen (journal, diffs, restore one).
        from pfwizard.commands.wizard import open_rollback

        return open_rollback(args)
    return _list(engine)
