"""Carry out a rebase plan: show it, stop on conflicts, go through the engine, record the
rebase in customizations.yaml. Shared by ``restore`` and ``apply PROFILE`` (and the TUI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pfwizard import exitcodes
from pfwizard.engine import Refused
from pfwizard.engine.engine import StepEvent
from pfwizard.intent.rebase import POLICY_HELP, Policy, RestorePlan
from pfwizard.intent.replay import Conflict, ConflictKind
from pfwizard.intent.report import describe
from pfwizard.intent.store import IntentChanged, IntentFile
from pfwizard.intent.writer import Outcome, Prepared, Writer
from pfwizard.kept_lines import KeptLines


@dataclass
class Request:
    summary: str
    kind: str = "restore"
    release: str | None = None
    dry_run: bool = False
    confirm: Callable[[str], bool] | None = None
    """Asked with the diff before writing; None: go ahead (--yes)."""
    update: Callable[[IntentFile], bool] | None = None
    """Records the outcome in customizations.yaml (default: the plan's rebase)."""
    confirm_within: float | None = None
    """Roll the change back by itself unless `pfwizard rollback --confirm ID` comes in time."""
    entry_id: str | None = None
    """Set by ``execute``: the journal entry of the change it applied (None: nothing applied)."""
    error: str | None = None
    """Set by ``execute`` when nothing was applied because of a refusal or failure: why."""
    kept_lines: list[KeptLines] = field(default_factory=list)
    """Lines to keep as comments under a note (what ``restore --adopt`` took over)."""
    prepared: Prepared | None = None
    """Set by ``execute``: what the change writes, file by file (None: nothing to plan)."""
    outcome: Outcome | None = None
    """Set by ``execute`` when it went through the engine: its result and Postfix's output."""
    check: bool = True
    """With ``dry_run``: run the real run's checks on a staged copy (False: only plan)."""
    steps: Callable[[StepEvent], None] | None = None
    """Where the engine's steps go as events (None: said as lines). The wizard draws them
    the way its own Apply screen does."""
    output: Callable[[str], None] | None = None
    """Where Postfix's own output goes (None: said with the rest). The wizard folds it, one
    line per kind of warning, instead of showing MiaB's 64 sqlite warnings one by one."""


def _save(store: IntentFile, say: Callable[[str], None], entry_id: str | None) -> int | None:
    """Record customizations.yaml: None when recorded, else the exit code, said first:
    REFUSED when someone changed the file meanwhile, FAILED when the state directory
    fails (no space left, an I/O error)."""
    applied = (
        f"the change is in force (journal entry {entry_id}; "
        f"`pfwizard rollback --to {entry_id}` undoes it) but "
        if entry_id
        else ""
    )
    try:
        store.save()
        return None
    except IntentChanged as exc:
        say(
            f"{applied}it was not recorded: {exc}; run the same command again to record it"
            if entry_id
            else f"refused, nothing written: {exc}"
        )
        return exitcodes.REFUSED
    except OSError as exc:
        what = (exc.strerror or str(exc)).lower()
        say(
            f"{what} in {store.path.parent}: {applied}{store.path} could not be updated; "
            "free some space and run the same command again to record it"
        )
        return exitcodes.FAILED


def choices(conflicts: list[Conflict]) -> list[Policy]:
    """The policies that mean something for these conflicts (remove-new only decides an
    item you removed whose form MiaB changed)."""
    removal = any(c.kind is ConflictKind.REMOVED_CHANGED for c in conflicts)
    return [p for p in Policy if p is not Policy.REMOVE_NEW or removal]


def _dry_run(prepared: Prepared, writer: Writer, req: Request, say: Callable[[str], None]) -> int:
    """The real run's checks on a staged copy, so a dry run (Ansible's check mode) answers
    what the real run would: 4 when it would refuse, 10 when it would change, 0 when not."""
    if req.check and not prepared.is_empty:
        outcome = writer.check(prepared)
        req.outcome = outcome
        if not outcome.ok:
            req.error = outcome.error
            say(
                f"dry run: the change would be refused, nothing written: {outcome.error}"
                if outcome.refused
                else f"dry run: could not check the change: {outcome.error}"
            )
            return exitcodes.REFUSED if outcome.refused else exitcodes.FAILED
        if outcome.checked:
            say("dry run: Postfix's checks and pfwizard's pass on a staged copy")
        elif outcome.error:
            say(f"dry run: {outcome.error}")
    say("dry run: nothing written")
    return exitcodes.OK if prepared.is_empty else exitcodes.CHANGED


def execute(
    plan: RestorePlan,
    store: IntentFile,
    writer: Writer,
    req: Request,
    say: Callable[[str], None] = print,
) -> int:
    """Returns an exit code: 0 nothing to do, 10 changed (with ``dry_run``: would change),
    4 refused/conflict, 3 failed."""
    conflicts = plan.conflicts
    if plan.in_sync and not conflicts and not req.kept_lines:
        if req.update is not None and not req.dry_run and req.update(store):
            failed = _save(store, say, None)
            if failed is not None:
                return failed
        say("nothing to do: the customisations are in force (in sync)")
        return exitcodes.OK
    for line in describe(plan):
        say(line)
    if conflicts and plan.policy is None:
        req.error = f"{len(conflicts)} conflict(s) need a decision"
        say("nothing written: decide the conflicts above, then run again with one of")
        for policy in choices(conflicts):
            say(f"    --on-conflict={policy.value}: {POLICY_HELP[policy]}")
        return exitcodes.REFUSED
    update = req.update or (lambda s: plan.update_intent(s, req.release))
    # What customizations.yaml will say, decided before anything is written: the engine
    # writes it in the same transaction as the configuration (one journal entry, so a
    # rollback takes both back, and a failure to record it undoes the change).
    record = store.record() if update(store) else None
    params, tables, master = plan.params(), plan.table_changes(), plan.master_params()
    try:
        prepared = writer.prepare(
            req.summary,
            params,
            tables,
            {
                "kind": req.kind,
                "params": params,
                "master_params": master,
                "tables": [t.path for t in tables],
            },
            req.kind,
            master,
            req.kept_lines,
            record=record,
        )
    except Refused as exc:
        req.error = str(exc)
        say(f"refused, nothing written: {exc}")
        return exitcodes.REFUSED
    req.prepared = prepared
    if prepared.diff:
        say(prepared.diff.rstrip("\n"))
    if req.dry_run:
        return _dry_run(prepared, writer, req, say)
    if not store.unchanged():
        say(
            f"refused, nothing written: {store.path} changed since pfwizard read it "
            "(edited by hand or by another pfwizard meanwhile); run again"
        )
        return exitcodes.REFUSED
    if prepared.is_empty:
        if record is not None:
            failed = _save(store, say, None)
            if failed is not None:
                return failed
            say(f"configuration unchanged; {store.path} updated")
        else:
            say("nothing to change")
        return exitcodes.OK
    if req.confirm is not None and not req.confirm("Apply these changes?"):
        say("declined: nothing written")
        return exitcodes.REFUSED
    outcome = writer.apply(
        prepared, progress=say, confirm_within=req.confirm_within, steps=req.steps
    )
    req.outcome = outcome
    if outcome.output:
        (req.output or say)(outcome.output)
    if not outcome.ok:
        req.error = outcome.error
        say(f"not applied: {outcome.error}")
        return exitcodes.REFUSED if outcome.refused else exitcodes.FAILED
    req.entry_id = outcome.entry_id
    if record is not None:
        if prepared.records_intent:
            store.written(record)
        else:  # only lost indexes were rebuilt: no journal entry to write it with
            failed = _save(store, say, outcome.entry_id)
            if failed is not None:
                return failed
    say(f"done{f' (journal entry {outcome.entry_id})' if outcome.entry_id else ''}")
    if req.confirm_within and outcome.entry_id:
        say(
            f"it will be rolled back in {req.confirm_within:g} s unless confirmed: "
            f"pfwizard rollback --confirm {outcome.entry_id}"
        )
    return exitcodes.CHANGED
