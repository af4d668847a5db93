"""Carry out a rebase plan: show it, stop on conflicts, go through the engine, record the
rebase in customizations.yaml. Shared by ``restore`` and ``apply PROFILE`` (and the TUI)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pfwizard import exitcodes
from pfwizard.engine import Refused
from pfwizard.intent.rebase import RestorePlan
from pfwizard.intent.report import describe
from pfwizard.intent.store import IntentChanged, IntentFile
from pfwizard.intent.writer import Writer


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
    entry_id: str | None = None
    """Set by ``execute``: the journal entry of the change it applied (None: nothing applied)."""
    """Roll the change back by itself unless `pfwizard rollback --confirm ID` comes in time."""


def execute(plan: RestorePlan, store: IntentFile, writer: Writer, req: Request,
            say: Callable[[str], None] = print) -> int:
    """Returns an exit code: 0 nothing to do, 10 changed, 4 refused/conflict, 3 failed."""
    conflicts = plan.conflicts
    if plan.in_sync and not conflicts:
        if req.update is not None and not req.dry_run and req.update(store):
            try:
                store.save()
            except IntentChanged as exc:
                say(f"refused, nothing written: {exc}")
                return exitcodes.REFUSED
        say("nothing to do: the customisations are in force (in sync)")
        return exitcodes.OK
    for line in describe(plan):
        say(line)
    if conflicts and plan.policy is None:
        say("nothing written: decide the conflicts above, then run again with "
            "--on-conflict=keep-miab (MiaB's value wins, the customisation is dropped) or "
            "--on-conflict=skip (apply the rest, decide later)")
        return exitcodes.REFUSED
    update = req.update or (lambda s: plan.update_intent(s, req.release))
    params, tables, master = plan.params(), plan.table_changes(), plan.master_params()
    try:
        prepared = writer.prepare(req.summary, params, tables,
                                  {"kind": req.kind, "params": params, "master_params": master,
                                   "tables": [t.path for t in tables]}, req.kind, master)
    except Refused as exc:
        say(f"refused, nothing written: {exc}")
        return exitcodes.REFUSED
    if prepared.diff:
        say(prepared.diff.rstrip("\n"))
    if req.dry_run:
        say("dry run: nothing written")
        return exitcodes.OK
    if not store.unchanged():
        say(f"refused, nothing written: {store.path} changed since pfwizard read it "
            "(edited by hand or by another pfwizard meanwhile); run again")
        return exitcodes.REFUSED
    if prepared.is_empty:
        if update(store):
            try:
                store.save()
            except IntentChanged as exc:
                say(f"refused, nothing written: {exc}")
                return exitcodes.REFUSED
            say(f"configuration unchanged; {store.path} updated")
        else:
            say("nothing to change")
        return exitcodes.OK
    if req.confirm is not None and not req.confirm("Apply these changes?"):
        say("declined: nothing written")
        return exitcodes.REFUSED
    outcome = writer.apply(prepared, progress=say, confirm_within=req.confirm_within)
    if outcome.output:
        say(outcome.output)
    if not outcome.ok:
        say(f"not applied: {outcome.error}")
        return exitcodes.REFUSED if outcome.refused else exitcodes.FAILED
    req.entry_id = outcome.entry_id
    if update(store):
        try:
            store.save()
        except IntentChanged as exc:
            # The configuration change is in force; only its record was refused.
            say(f"the change is in force (journal entry {outcome.entry_id}), but it was not "
                f"recorded: {exc}. Undo it with `pfwizard rollback --to {outcome.entry_id}`, "
                "or run the same command again to record it")
            return exitcodes.REFUSED
    say(f"done{f' (journal entry {outcome.entry_id})' if outcome.entry_id else ''}")
    if req.confirm_within and outcome.entry_id:
        say(f"it will be rolled back in {req.confirm_within:g} s unless confirmed: "
            f"pfwizard rollback --confirm {outcome.entry_id}")
    return exitcodes.CHANGED
