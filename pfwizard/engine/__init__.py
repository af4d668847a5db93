"""The safe apply engine: every change to Postfix's configuration goes through here.

As safe as ``visudo`` (lock, validate, atomic install) and as forgiving as a router's "commit
confirmed" (undo by itself unless the admin confirms).  No UI: the wizard, ``restore`` and
``apply`` all call this API.

Public API (keep these names; other parts of pfwizard are built against them)::

    TableChange(path: Path, content: str | None, map_type: str, mode: int | None = None)
        content None deletes the table; relative paths are relative to the config directory;
        tables pfwizard creates belong in <config_dir>/pfwizard/ (OWN_TABLE_DIR).
        Indexed types (hash, btree, lmdb, cdb) are postmap'd; regexp/pcre/cidr/texthash not.
        mode: for a new file (default 0644). A table others cannot read (its source or
        index, or the mode asked for: 0600, 0640) is secret: source and index are written
        with the permissions both allow, and its diff only says how many lines changed.
    ChangeSet(summary: str, params: dict[str, str | None], tables: list[TableChange],
              intent: dict | None = None, kind: str = "apply",
              master_params: dict[str, str | None] = {},
              record: IntentRecord | None = None)
        params: main.cf edits through MainCf.set/remove (None removes the parameter).
        master_params: master.cf -o edits keyed service/type/option (postconf -P names,
        e.g. authclean/unix/header_checks) through MasterCf.set_option/remove_option.
        master.cf is managed exactly like main.cf in every step below.
        intent: opaque, recorded in the journal.  kind: "apply" or "restore".
        record: IntentRecord(path, before, after): customizations.yaml as the change
        leaves it, a file of the plan with role "intent" (only <state_dir>/
        customizations.yaml, ``engine.intent_path``; UnsafePath otherwise).  It is never
        staged or shown to Postfix, but guarded, compared-and-swapped, backed up, written
        (0600, last) and undone like the others, so ``rollback`` puts it back too, and a
        failure to write it undoes the whole change (exit 3).  ``before`` is the bytes
        the intent was read from: edited meanwhile, the change is refused (exit 4).

    engine = Engine(config_dir: Path, state_dir: Path, *, reload: bool = True,
                    gate: Callable[[MainCf, Path], list[Finding]] | None = None,
                    timeout: float = 60)
        gate None: pfwizard.analyser.analyse if it exists (a DANGER finding blocks).
        rollback and revert: only findings nobody may accept block (open relay, unknown
        restriction...).  On every path, a *_checks/*_maps parameter set to anything but
        lookup tables is refused (``listcheck``).
        Extra keyword-only seams for tests: tools=PostfixTools, writer=AtomicWriter,
        restart=callable (how to stop/start Postfix when a reload cannot revive smtpd).
    engine.recover() -> list[str]          call at every start: undoes interrupted applies,
                                           reverts overdue unconfirmed ones; messages to show
    engine.plan(changeset) -> Plan         Plan.files: list[FilePlan(path, before, after, diff)]
                                           Plan.unified_diff() -> str, Plan.is_empty
    engine.apply(plan, progress: Callable[[StepEvent], None] | None = None,
                 confirm_within: float | None = None) -> ApplyResult
    engine.check(plan, progress=None) -> ApplyResult   step 3 alone on a staged copy outside
                                           the state directory, no lock, nothing written (a
                                           dry run); refused: the real run would refuse it
    engine.rollback(entry_id, progress=None) -> ApplyResult   (journaled: can be undone too)
    engine.rollback_plan(entry_id) -> Plan  what rollback would write (show it first)
    engine.history_scan() -> (entries, [(id, reason)])  history() and the unreadable entries
    engine.history() -> list[JournalEntry]  oldest first; id, kind, time, user, summary,
                                           files (FileRecord: checksums before/after, backup,
                                           owner, mode), outcome, error, diff_available
    engine.diff(entry_id) -> str | None    the diff shown when that entry was applied
    engine.confirm(entry_id)               keep a change applied with confirm_within
    StepEvent(step, status: "start"|"ok"|"failed"|"skipped", detail)
    ApplyResult(ok, entry_id, steps, error, postfix_output, refused, outcome)
        refused: nothing written (gate or validation refused, locked, changed meanwhile,
        unsafe path, no permission): exit 4.

The transaction (``Engine.apply``):

1. plan: a unified diff per file (``--dry-run`` stops here, after ``check``: step 3 alone);
2. guard: one pfwizard at a time (flock in the state directory); refuse, writing nothing,
   if a file changed since the plan read it;
3. validate on a staged copy of the config directory (main.cf, master.cf and tables as they
   will be): the gate, postmap of staged tables, ``postfix check``, new ``postconf``
   warnings; a master.cf that ``postconf -P`` cannot parse is refused, and the maps changed
   ``-o`` options name must open (see ``validate``, ``mastercheck``);
4. back up every file to be touched (and its index) into the journal, fsynced, before any
   change (``journal``, ``backup``);
5. write atomically (``atomic``); indexed tables via postmap on a temp source (``tables``);
   right before each rename, compare-and-swap: a file that changed since the guard read it
   stops the write, what was renamed in is put back, the change is refused;
6. reload only the Postfix whose running master reads config_dir (``instance``: its
   ``-c`` or ``MAIL_CONFIG``; a copy is written, never reloaded, stopped or started)
   (master re-reads master.cf too: the next mail already meets a changed service),
   then check smtpd really answers, and ask every service master.cf added or changed
   (a cleanup greets, a plain smtpd passes the SMTP probe) (``serving``, ``probe_changed``);
7. any failure in 5-6: restore every file, reload (restart if smtpd stays down), report with
   Postfix's own output;
8. optional confirm-or-revert by a detached watcher (``confirm``, ``watcher``).

Outcomes in the journal: applied, pending-confirm, confirmed, reverted, failed (restored),
refused (nothing written), recovered (interrupted, undone at the next start).
"""

from __future__ import annotations

from pfwizard.engine.atomic import AtomicWriter, FileMeta
from pfwizard.engine.changeset import (
    OWN_TABLE_DIR,
    ChangeSet,
    FilePlan,
    IntentRecord,
    Plan,
    TableChange,
)
from pfwizard.engine.engine import ApplyResult, Engine, StepEvent, default_gate
from pfwizard.engine.errors import ChangedMeanwhile, Locked, Refused, StepFailed, UnsafePath
from pfwizard.engine.journal import FileRecord, JournalEntry
from pfwizard.engine.pftools import PostfixTools

__all__ = [
    "OWN_TABLE_DIR",
    "ApplyResult",
    "AtomicWriter",
    "ChangeSet",
    "ChangedMeanwhile",
    "Engine",
    "FileMeta",
    "FilePlan",
    "FileRecord",
    "IntentRecord",
    "JournalEntry",
    "Locked",
    "Plan",
    "PostfixTools",
    "Refused",
    "StepEvent",
    "StepFailed",
    "TableChange",
    "UnsafePath",
    "default_gate",
]
