"""The transaction: plan → guard → validate → back up → write → reload + serving check,
with every failure after writing undone, and an optional confirm-or-revert.

See the package docstring for the public API and the order of steps.
"""

from __future__ import annotations

import importlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import cast

from pfwizard import etckeeper, statedir, trail
from pfwizard.engine import backup, confirm, lock
from pfwizard.engine.atomic import TEMP_GLOBS, AtomicWriter, FileMeta, can_access, read_or_none
from pfwizard.engine.changeset import (
    INTENT_FILE,
    INTENT_ROLE,
    OWN_TABLE_DIR,
    ChangeSet,
    FilePlan,
    Plan,
    build_plan,
    index_path,
    intent_plan,
    intent_secret,
    text_diff,
    write_order,
)
from pfwizard.engine.errors import (
    ChangedMeanwhile,
    CorruptEntry,
    Refused,
    StepFailed,
    UnsafePath,
)
from pfwizard.engine.instance import serving_master
from pfwizard.engine.journal import (
    APPLIED,
    CONFIRMED,
    FAILED,
    IN_FORCE,
    IN_PROGRESS,
    PENDING_CONFIRM,
    RECOVERED,
    REFUSED,
    REVERTED,
    Journal,
    JournalEntry,
    current_user,
    now_iso,
    sha256,
)
from pfwizard.engine.mastercheck import ChangedService, changed_services
from pfwizard.engine.pftools import PostfixTools
from pfwizard.engine.probe_changed import check_changed, smtpd_verdict
from pfwizard.engine.serving import (
    ListenAddress,
    master_cf_text,
    smtp_service,
    smtpd_children,
    wait_gone,
)
from pfwizard.engine.tables import install_indexed
from pfwizard.engine.validate import Gate, Stage, never_acceptable, validate
from pfwizard.errors import PostfixCommandError
from pfwizard.journalcheck import same_dir
from pfwizard.postfix import Result
from pfwizard.statedir import StateDirError, UnsafeStateDir

# A pending confirm-or-revert whose watcher should have acted this long ago is reverted by
# the next pfwizard that starts (the machine rebooted, or the watcher was killed).
CONFIRM_GRACE = 30.0


@dataclass(frozen=True)
class StepEvent:
    step: str
    """plan, guard, gate, postmap, check, postconf, backup, write, reload, serve, restore,
    restart, confirm."""
    status: str
    """``start``, ``ok``, ``failed`` or ``skipped``."""
    detail: str = ""
    """Human text; for ``failed``, Postfix's own output when it has something to say."""


@dataclass
class ApplyResult:
    ok: bool
    entry_id: str | None
    steps: list[StepEvent] = field(default_factory=list)
    error: str | None = None
    postfix_output: str = ""
    refused: bool = False
    """Nothing was written: the gate or validation refused the change, locked, files
    changed meanwhile (before or at the write), unsafe path, not root."""
    outcome: str = ""
    """The journal outcome (``applied``, ``pending-confirm``, ``failed``, ``refused``...)."""


Progress = Callable[[StepEvent], None]


def default_gate() -> Gate | None:
    """pfwizard's analyser when it is installed (a danger finding blocks), else no gate."""
    try:
        mod = importlib.import_module("pfwizard.analyser")
    except ImportError:
        return None
    fn = getattr(mod, "analyse", None)
    return cast(Gate, fn) if callable(fn) else None


class _Run:
    """Collects the events of one operation and passes them on live."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.events: list[StepEvent] = []
        self.output: list[str] = []

    def __call__(self, step: str, status: str, detail: str = "") -> None:
        ev = StepEvent(step, status, detail)
        self.events.append(ev)
        if self.progress is not None:
            self.progress(ev)

    def result(
        self,
        ok: bool,
        entry_id: str | None,
        outcome: str,
        error: str | None = None,
        refused: bool = False,
    ) -> ApplyResult:
        out = "\n".join(x for x in self.output if x.strip())
        return ApplyResult(ok, entry_id, list(self.events), error, out, refused, outcome)


class Engine:
    def __init__(
        self,
        config_dir: Path,
        state_dir: Path,
        *,
        reload: bool = True,
        gate: Gate | None = None,
        timeout: float = 60,
        tools: PostfixTools | None = None,
        writer: AtomicWriter | None = None,
        restart: Callable[[], None] | None = None,
    ) -> None:
        # Absolute: the journal records paths that recovery must find from any directory.
        self.config_dir = Path(os.path.abspath(config_dir))
        self.state_dir = Path(state_dir)
        self.reload = reload
        self.gate = gate if gate is not None else default_gate()
        self.timeout = timeout
        self.tools = tools or PostfixTools(timeout)
        self.writer = writer or AtomicWriter()
        self.restart_hook = restart
        self.journal = Journal(self.state_dir, self.config_dir)
        self._queue_directory: Path | None = None
        self._served: int | None = None
        """The master PID established (before writing) as the one reading config_dir: only
        that instance is ever reloaded, stopped or started."""
        self._expect: dict[Path, str | None] = {}
        """Checksums of every file the write may replace, as read under the lock."""
        self.etc = etckeeper.ETC
        """Test seam: the directory etckeeper keeps (committed after a change under it)."""
        self.before_reload: Callable[[], None] | None = None
        """Test seam, called right before every reload: tests backdate mtimes there to skip
        Postfix's ~2 s cool-down for young files (the product never hides it)."""

    # ---- public API ------------------------------------------------------------------------
    def plan(self, changeset: ChangeSet) -> Plan:
        plan = build_plan(self.config_dir, changeset)
        record = changeset.record
        if record is not None and record.before != record.after:
            if Path(os.path.abspath(record.path)) != self.intent_path:
                raise UnsafePath(
                    f"refusing to write {record.path}: the customisations live "
                    f"in {self.intent_path}"
                )
            plan.files = write_order([*plan.files, intent_plan(record, plan.files)])
        return plan

    @property
    def intent_path(self) -> Path:
        """``<state_dir>/customizations.yaml``, the one file outside the config directory a
        change may write (role ``intent``)."""
        return Path(os.path.abspath(self.state_dir)) / INTENT_FILE

    def apply(
        self, plan: Plan, progress: Progress | None = None, confirm_within: float | None = None
    ) -> ApplyResult:
        run = _Run(progress)
        try:
            self._prepare()
            with lock.hold(self.state_dir):
                self._recover_locked(run)
                return self._transaction(plan, run, confirm_within, use_gate=True)
        except Refused as exc:
            run("guard", "failed", str(exc))
            return run.result(False, None, REFUSED, str(exc), refused=True)
        except (OSError, StateDirError) as exc:
            return self._state_dir_failed(run, exc)

    def check(self, plan: Plan, progress: Progress | None = None) -> ApplyResult:
        """Everything ``apply`` checks before it writes (the gate, the table-list check,
        postmap, ``postfix check``, new postconf warnings) on a staged copy, writing nothing
        and taking no lock: what a dry run answers.  ``refused``: the real run would refuse
        it (exit 4); ``outcome`` "checked", "unchanged", or "not checked" when not root
        (``postfix check`` is root's alone, and the real run needs root anyway)."""
        run = _Run(progress)
        if plan.is_empty:
            return run.result(True, None, "unchanged")
        if os.geteuid() != 0:
            why = "not checked: Postfix's checks run as root (sudo), like the change itself"
            run("check", "skipped", why)
            return run.result(True, None, "not checked", why)
        # Staged outside the state directory, which a dry run must not write: a private
        # (0700) directory under the system's temporary directory, removed on exit.
        try:
            with Stage(plan, Path(tempfile.gettempdir())) as stage:
                run.output.append(validate(stage, self.tools, self.gate, run))
        except StepFailed as exc:
            run.output.append(exc.output)
            return run.result(False, None, REFUSED, f"{exc}:\n{exc.output}", refused=True)
        except PostfixCommandError as exc:
            run.output.append(exc.output)
            return run.result(False, None, REFUSED, str(exc), refused=True)
        except OSError as exc:
            error = f"could not stage a copy to check: {exc.strerror or exc}"
            run("check", "failed", error)
            return run.result(False, None, FAILED, error)
        return run.result(True, None, "checked")

    def rollback(self, entry_id: str, progress: Progress | None = None) -> ApplyResult:
        """Put every file ``entry_id`` touched back as it was before it; journaled too."""
        run = _Run(progress)
        try:
            self._prepare()
            with lock.hold(self.state_dir):
                self._recover_locked(run)
                return self._rollback_locked(entry_id, run, "rollback")
        except Refused as exc:
            run("guard", "failed", str(exc))
            return run.result(False, None, REFUSED, str(exc), refused=True)
        except (OSError, StateDirError) as exc:
            return self._state_dir_failed(run, exc)

    def _state_dir_failed(self, run: _Run, exc: OSError | StateDirError) -> ApplyResult:
        """The state directory failed before anything was written (after the write,
        ``_transaction`` undoes it and reports a failure itself): refused, exit 4."""
        error = self._os_error(exc, "preparing the change") + "; nothing was written"
        run("guard", "failed", error)
        return run.result(False, None, REFUSED, error, refused=True)

    def _os_error(self, exc: OSError | StateDirError, doing: str) -> str:
        """One line; it names the state directory when the error happened there."""
        if isinstance(exc, StateDirError):
            return str(exc)
        where = str(exc.filename or self.state_dir)
        if where == str(self.state_dir) or where.startswith(f"{self.state_dir}/"):
            return str(statedir.failure(exc, self.state_dir, doing))
        return f"{doing} failed: {(exc.strerror or str(exc)).lower()} ({where})"

    def rollback_plan(self, entry_id: str) -> Plan:
        """What ``rollback(entry_id)`` would write (to show its diff first)."""
        target = self.journal.load(entry_id)
        if target is None:
            raise Refused(f"no journal entry {entry_id!r} (see pfwizard rollback --list)")
        if target.outcome in (IN_PROGRESS, REFUSED, FAILED, RECOVERED):
            raise Refused(
                f"entry {entry_id} ({target.outcome}) changed nothing that is in "
                "force: there is nothing to roll back"
            )
        files: list[FilePlan] = []
        indexes: list[FilePlan] = []
        changed: list[str] = []
        for rec in target.files:
            path = Path(rec.path)
            now = read_or_none(path)
            want = self.journal.backup_bytes(target, rec)
            if rec.role == "index":
                indexes.append(FilePlan(path, now, want, "", role="index", meta=rec.meta))
                continue
            if sha256(now) != rec.sha256_after:
                changed.append(
                    f"{path} changed after entry {entry_id} wrote it"
                    + (
                        " (edited by hand, or recorded by a later change)"
                        if rec.role == INTENT_ROLE
                        else ""
                    )
                )
            files.append(
                FilePlan(
                    path,
                    now,
                    want,
                    text_diff(path, now, want),
                    role=rec.role,
                    map_type=rec.map_type,
                    meta=rec.meta,
                )
            )
        # customizations.yaml is root's (0600) but the admin's text: shown, unless it keeps
        # the content of a secret table.
        for f in files:
            if f.role == INTENT_ROLE:
                f.diff = text_diff(
                    f.path, f.before, f.after, intent_secret(f.before, f.after, files), public=True
                )
        if changed:
            raise ChangedMeanwhile(
                f"cannot roll back entry {entry_id}: "
                + "; ".join(changed)
                + " (roll back the later entries first); nothing was written",
                changed,
            )
        return Plan(
            self.config_dir,
            write_order(files),
            summary=f"rollback of entry {entry_id}: {target.summary}",
            kind="rollback",
            indexes=indexes,
            rollback_of=entry_id,
        )

    def history(self) -> list[JournalEntry]:
        return self.journal.entries()

    def history_scan(self) -> tuple[list[JournalEntry], list[tuple[str, str]]]:
        """``history()``, and the entries that cannot be read as (id, reason)."""
        return self.journal.scan()

    def diff(self, entry_id: str) -> str | None:
        return self.journal.diff(entry_id)

    def recover(self, progress: Progress | None = None) -> list[str]:
        """Undo any apply cut short (SIGKILL, power loss); revert overdue unconfirmed ones.
        Refused if the state directory cannot be trusted; StateDirError if it fails."""
        try:
            if not statedir.verify(self.state_dir) or not (self.state_dir / "journal").is_dir():
                return []
        except UnsafeStateDir as exc:
            raise Refused(str(exc)) from None
        run = _Run(progress)
        try:
            with lock.hold(self.state_dir, wait=self.timeout):
                return self._recover_locked(run)
        except OSError as exc:
            raise StateDirError(self._os_error(exc, "undoing an interrupted change")) from None

    def confirm(self, entry_id: str) -> None:
        """Keep a change applied with ``confirm_within``; refuses if it is too late."""
        self._prepare()
        with lock.hold(self.state_dir, wait=self.timeout):
            entry = self.journal.load(entry_id)
            if entry is None:
                raise Refused(f"no journal entry {entry_id!r}")
            if entry.outcome == CONFIRMED:
                return
            if entry.outcome != PENDING_CONFIRM:
                raise Refused(
                    f"entry {entry_id} is {entry.outcome}: nothing to confirm"
                    + (
                        " (it was not confirmed in time and was rolled back)"
                        if entry.outcome == REVERTED
                        else ""
                    )
                )
            entry.outcome = CONFIRMED
            self.journal.save(entry)

    def revert_unconfirmed(self, entry_id: str, wait: float = 600) -> ApplyResult | None:
        """Called by the confirm-or-revert watcher at the deadline."""
        run = _Run(None)
        with lock.hold(self.state_dir, wait=wait):
            entry = self.journal.load(entry_id)
            if entry is None or entry.outcome != PENDING_CONFIRM:
                return None
            return self._rollback_locked(entry_id, run, "revert")

    # ---- the transaction -------------------------------------------------------------------
    def _prepare(self) -> None:
        try:
            statedir.ensure(self.state_dir)  # root's own, or refused
            os.chmod(self.state_dir, 0o700)
            self.journal.ensure()
        except UnsafeStateDir as exc:
            raise Refused(str(exc)) from None
        except PermissionError as exc:
            raise Refused(
                f"cannot write the state directory {self.state_dir} "
                f"({exc.strerror}): run pfwizard with sudo"
            ) from None
        if not can_access(self.config_dir, os.W_OK):
            raise Refused(
                f"cannot write into {self.config_dir}: permission denied; run pfwizard with sudo"
            )

    def _guard(self, plan: Plan) -> list[str]:
        """What changed since the plan read it; records each file's checksum for the
        compare-and-swap at the write (tables' indexes as they are now, under the lock)."""
        changes = []
        self._expect = {}
        for f in [*plan.files, *plan.indexes]:
            now = read_or_none(f.path)
            self._expect[f.path] = sha256(f.before)
            idx = index_path(f.path, f.map_type) if f.postmap and f.map_type else None
            if idx is not None:
                self._expect[idx] = sha256(read_or_none(idx))
            if now != f.before:
                if f.role == "index":
                    changes.append(f"{f.path} changed since it was read")
                else:
                    changes.append(
                        f"{f.path} changed since it was read:\n" + text_diff(f.path, f.before, now)
                    )
        return changes

    def _new_entry(self, plan: Plan) -> JournalEntry:
        return JournalEntry(
            id=self.journal.new_id(),
            kind=plan.kind,
            time=now_iso(),
            user=current_user(),
            summary=plan.summary,
            config_dir=str(self.config_dir),
            intent=plan.intent,
            rollback_of=plan.rollback_of,
        )

    def _finish(
        self, entry: JournalEntry, run: _Run, outcome: str, error: str | None = None
    ) -> None:
        """Record the outcome.  For a change left in force (applied, pending-confirm) a
        failure to record it raises StateDirError: the caller undoes the change.  For one
        already undone, the failure is only said: the entry stays in progress on disk and
        the next start undoes it again, which changes nothing."""
        entry.outcome = outcome
        entry.error = error
        entry.postfix_output = "\n".join(x for x in run.output if x.strip())
        entry.steps = [asdict(e) for e in run.events]
        try:
            self.journal.save(entry)
        except StateDirError as exc:
            if outcome in IN_FORCE:
                raise
            run("journal", "failed", f"{exc}; the files are as before")

    def _keep(
        self, entry: JournalEntry, run: _Run, outcome: str, was_running: bool
    ) -> ApplyResult | None:
        """Record a change as in force; if the state directory fails now, undo it (the
        previous configuration goes back in force) and return the failure (exit 3)."""
        try:
            self._finish(entry, run, outcome)
        except StateDirError as exc:
            error = f"{exc}: the change could not be recorded, so it was undone"
            run("journal", "failed", error)
            self._undo(entry, run, True, was_running)
            self._finish(entry, run, FAILED, error + "; every file was put back as before")
            self._announce(entry, run, FAILED)
            return run.result(False, entry.id, FAILED, error)
        self._announce(entry, run, outcome)
        return None

    def _announce(self, entry: JournalEntry, run: _Run, outcome: str) -> None:
        """One system-log line for a change that was written (in force, or undone after a
        failure), and an etckeeper commit of /etc for one left in force.  Neither can fail
        the change: it is written and journaled already."""
        files = [r.path for r in entry.files if r.role != "index"]
        if outcome in IN_FORCE:
            event = {
                "restore": "restored",
                "rollback": f"rolled back entry {entry.rollback_of}",
                "revert": f"reverted entry {entry.rollback_of} (not confirmed in time)",
            }.get(entry.kind, "applied")
            if outcome == PENDING_CONFIRM:
                event += ", pending confirmation"
        elif outcome == RECOVERED:
            event = "interrupted change undone"
        else:
            event = "change failed and was undone"
        trail.log(
            trail.change_line(event, entry.id, entry.kind, files, entry.summary),
            warning=outcome not in IN_FORCE,
        )
        if outcome in IN_FORCE:
            why = etckeeper.commit(
                f"pfwizard: entry {entry.id} {event}: {entry.summary}", files, self.etc
            )
            if why is not None:
                run("etckeeper", "failed", f"{why}; the change itself is in force")

    def _refuse(self, plan: Plan, run: _Run, error: str, refused: bool) -> ApplyResult:
        """Journal a refusal (nothing written) and say why."""
        try:
            entry = self._new_entry(plan)
            self.journal.create(entry)
            self.journal.save_diff(entry, plan.unified_diff())
        except StateDirError as exc:
            # Nothing was written: the refusal stands, only its journal entry is missing.
            self.journal.sweep_unwritten()
            return run.result(
                False, None, REFUSED, f"{error}\n(not journaled: {exc})", refused=refused
            )
        self._finish(entry, run, REFUSED, error)
        return run.result(False, entry.id, REFUSED, error, refused=refused)

    def _transaction(
        self,
        plan: Plan,
        run: _Run,
        confirm_within: float | None,
        use_gate: bool,
        only_unacceptable: bool = False,
    ) -> ApplyResult:
        """``only_unacceptable``: the gate blocks only findings no admin may accept (open
        relay, unknown restriction...), for rollback and revert, which put back what Postfix
        ran before; apply blocks every danger finding."""
        changed_files = [f for f in plan.files if f.changes]
        run("plan", "ok", f"{len(changed_files)} file(s) to change")
        if plan.is_empty:
            run("write", "skipped", "nothing to change")
            return run.result(True, None, "unchanged")

        run("guard", "start", "files unchanged since they were read?")
        changes = self._guard(plan)
        if changes:
            msg = (
                "files changed since pfwizard read them (did MiaB's setup run?); "
                "nothing was written:\n" + "\n".join(changes)
            )
            run("guard", "failed", msg)
            return self._refuse(plan, run, msg, refused=True)
        run("guard", "ok", "")

        # Facts for the reload step, asked alongside validation (Postfix commands cost tens of
        # ms each): which running master reads this config dir (none for a copy), and where
        # will smtpd listen (from the staged copy, which is what the live config will be).
        gate = self.gate if use_gate else None
        if gate is not None and only_unacceptable:
            gate = never_acceptable(gate)
        self._served = None
        facts = ThreadPoolExecutor(max_workers=3)
        served = facts.submit(lambda: self._live_master() if self.reload else None)
        try:
            with Stage(plan, self.state_dir) as stage:
                listen = facts.submit(
                    self.tools.params, stage.dir, "inet_interfaces", "myhostname", "queue_directory"
                )
                services = facts.submit(self._changed_services, plan, stage)
                run.output.append(validate(stage, self.tools, gate, run))
                interfaces, host, queue_dir = listen.result()
                changed = services.result()
        except StepFailed as exc:
            # Refused by validation or the gate: nothing was written (exit 4, not 3).
            run.output.append(exc.output)
            return self._refuse(
                plan, run, f"{exc}; nothing was written:\n{exc.output}", refused=True
            )
        except PostfixCommandError as exc:
            run.output.append(exc.output)
            return self._refuse(plan, run, f"{exc}; nothing was written", refused=True)
        finally:
            facts.shutdown(wait=True)

        self._served = served.result()
        was_running = self._served is not None
        listen_at = (stage.unstage(interfaces), host)
        if queue_dir and self._queue_directory is None:
            self._queue_directory = Path(queue_dir)
        try:
            entry = self._backup(plan, run)
        except (OSError, StateDirError) as exc:
            # Nothing was changed yet; without a complete backup nothing will be.
            error = f"backup failed: {self._os_error(exc, 'the backup')}; nothing was written"
            run("backup", "failed", error)
            self.journal.sweep_unwritten()
            return run.result(False, None, REFUSED, error, refused=True)
        wrote = False
        try:
            run("write", "start", "")
            wrote = True
            self._write(plan, run)
            for rec in entry.files:
                rec.sha256_after = sha256(read_or_none(Path(rec.path)))
            run("write", "ok", f"{len(changed_files)} file(s) written")
            self._reload_and_check(run, was_running, listen_at, changed)
        except ChangedMeanwhile as exc:
            # Someone else's edit landed while this change was validated: theirs stays, what
            # was already renamed in is put back, nothing is reloaded.
            error = f"{exc}; nothing was written (what was already written was put back)"
            run("write", "failed", error)
            self._undo_written(entry, run)
            self._finish(entry, run, REFUSED, error)
            return run.result(False, entry.id, REFUSED, error, refused=True)
        except (StepFailed, OSError, PostfixCommandError) as exc:
            step = exc.step if isinstance(exc, StepFailed) else "write"
            output = exc.output if isinstance(exc, (StepFailed, PostfixCommandError)) else ""
            if isinstance(exc, OSError):
                error = f"{step} failed: {exc.strerror or exc} ({exc.filename or ''})"
            else:
                error = f"{step} failed: {exc}"
            run(step, "failed", output or error)
            run.output.append(output)
            # smtpd that died (no banner) is throttled by master: only a restart revives it.
            dead = step == "serve" and any(
                w in error for w in ("no 220 banner", "timed out", "without a reply", "refused")
            )
            self._undo(entry, run, wrote, was_running, restart=dead)
            self._finish(
                entry,
                run,
                FAILED,
                error + "; every file was put back as before" + (f":\n{output}" if output else ""),
            )
            self._announce(entry, run, FAILED)
            return run.result(False, entry.id, FAILED, error)
        except BaseException:
            # KeyboardInterrupt and friends: never leave half a change behind.
            self._undo(entry, run, wrote, was_running)
            self._finish(entry, run, FAILED, "interrupted; every file was put back")
            raise

        if confirm_within is not None:
            entry.confirm_deadline = time.time() + confirm_within
            failed = self._keep(entry, run, PENDING_CONFIRM, was_running)
            if failed is not None:
                return failed
            confirm.spawn_watcher(self, entry.id, entry.confirm_deadline)
            run(
                "confirm",
                "start",
                f"confirm within {confirm_within:g} s "
                f"(pfwizard rollback --confirm {entry.id}) or it is rolled back by itself",
            )
            return run.result(True, entry.id, PENDING_CONFIRM)
        failed = self._keep(entry, run, APPLIED, was_running)
        return failed or run.result(True, entry.id, APPLIED)

    def _backup(self, plan: Plan, run: _Run) -> JournalEntry:
        run("backup", "start", f"into {self.journal.root}")
        entry = self._new_entry(plan)
        self.journal.create(entry)
        targets: list[tuple[Path, str, str | None]] = []
        for f in plan.files:
            targets.append((f.path, f.role, f.map_type))
            if f.postmap and f.map_type is not None:
                idx = index_path(f.path, f.map_type)
                if idx is not None:
                    targets.append((idx, "index", f.map_type))
        targets += [(f.path, "index", f.map_type) for f in plan.indexes]
        backup.capture(self.journal, entry, targets)
        self.journal.save_diff(entry, plan.unified_diff())
        # Written (and fsynced) before the first change: a crash from here on is undone.
        self.journal.save(entry)
        run("backup", "ok", f"journal entry {entry.id}: {len(entry.files)} file(s) saved")
        return entry

    def _default_meta(self, path: Path) -> FileMeta:
        st = os.stat(self.config_dir)
        return FileMeta(0o644, st.st_uid, st.st_gid)

    def _compare_and_swap(self, path: Path) -> None:
        """Right before a rename (or removal): is ``path`` still as the guard read it?"""
        if path in self._expect and sha256(read_or_none(path)) != self._expect[path]:
            raise ChangedMeanwhile(
                f"{path} changed while pfwizard was checking this change (did MiaB's setup "
                "or another editor run?)",
                [str(path)],
            )

    def _write(self, plan: Plan, run: _Run) -> None:
        self._written: list[Path] = []
        self.writer.before_rename = self._compare_and_swap
        try:
            self._write_files(plan, run)
        finally:
            self.writer.before_rename = None

    def _write_files(self, plan: Plan, run: _Run) -> None:
        for f in [*plan.files, *plan.indexes]:
            if not f.changes:
                continue
            idx = index_path(f.path, f.map_type) if f.postmap and f.map_type else None
            if f.after is None:
                self._compare_and_swap(f.path)
                if idx is not None:
                    self._compare_and_swap(idx)
                self._written.append(f.path)
                self.writer.remove(f.path)
                if idx is not None:
                    self._written.append(idx)
                    self.writer.remove(idx)
                run("write", "ok", f"removed {f.path}")
                continue
            meta = f.meta or (
                FileMeta.of(f.path) if f.path.exists() else self._default_meta(f.path)
            )
            if not f.path.parent.exists() and f.path.parent.name == OWN_TABLE_DIR:
                f.path.parent.mkdir(mode=0o755)
                os.chown(f.path.parent, meta.uid, meta.gid)
            if f.postmap and f.map_type is not None:
                # A plan's meta (a secret table's, see changeset.secret_meta) holds for
                # the index too: a 0600 sasl_passwd never gets a world-readable .db.
                imeta = (
                    f.meta
                    if f.meta is not None
                    else (FileMeta.of(idx) if idx is not None and idx.exists() else None)
                )
                run("postmap", "start", f"{f.map_type}:{f.path}")
                out = install_indexed(
                    self.writer,
                    self.tools,
                    self.config_dir,
                    f.path,
                    f.after,
                    f.map_type,
                    meta,
                    imeta,
                )
                self._written += [p for p in (idx, f.path) if p is not None]
                run.output.append(out)
                run("postmap", "ok", out or f"{f.map_type}:{f.path}")
            else:
                self.writer.write(f.path, f.after, meta)
                self._written.append(f.path)
            run("write", "ok", f"wrote {f.path}")

    def _changed_services(self, plan: Plan, stage: Stage) -> list[ChangedService]:
        """Services the new master.cf adds or changes (asked after the reload)."""
        if not any(f.role == "master.cf" and f.changes for f in plan.files):
            return []
        return changed_services(
            self.tools.services(stage.dir), self.tools.services(self.config_dir), stage.unstage
        )

    def _reload_and_check(
        self,
        run: _Run,
        was_running: bool,
        listen_at: tuple[str, str] | None = None,
        changed: list[ChangedService] | None = None,
    ) -> None:
        if not self.reload:
            run(
                "reload",
                "skipped",
                "--no-reload: Postfix picks the change up at its next reload or restart",
            )
            return
        if not was_running:
            run("reload", "skipped", self._not_served())
            return
        run("reload", "start", f"postfix -c {self.config_dir} reload")
        res = self._reload()
        run.output.append(res.output)
        if not res.ok:
            raise StepFailed("reload", f"postfix reload failed (exit {res.returncode})", res.output)
        run("reload", "ok", res.output)
        probed = self._check_serving(run, listen_at)
        if changed:
            interfaces, host = listen_at or self.tools.params(
                self.config_dir, "inet_interfaces", "myhostname"
            )
            check_changed(changed, self._queue_dir(), interfaces, host or "localhost", probed, run)

    def _queue_dir(self) -> Path:
        if self._queue_directory is None:
            self._queue_directory = Path(
                self.tools.params(self.config_dir, "queue_directory")[0] or "/nonexistent"
            )
        return self._queue_directory

    def _live_master(self) -> int | None:
        """The running master that reads this config dir (None: none does, e.g. a copy)."""
        return serving_master(self.config_dir, self._queue_dir())

    def _not_served(self) -> str:
        return (
            f"no running Postfix uses {self.config_dir}: the change was written, nothing "
            "was reloaded (it takes effect when a Postfix started on that directory "
            "starts or reloads)"
        )

    def _reload(self) -> Result:
        if self.before_reload is not None:
            self.before_reload()
        argv = ["postfix", "-c", str(self.config_dir), "reload"]
        master = self._live_master()
        if master is None:
            # Never `postfix -c COPY reload`: it would signal whichever master the copy's
            # queue_directory names (the system's Postfix).
            return Result(
                argv,
                1,
                "",
                f"pfwizard: no running Postfix uses {self.config_dir}: nothing was reloaded\n",
            )
        old = smtpd_children(master)
        res = self.tools.reload(self.config_dir)
        if res.ok and not wait_gone(old, master):
            # Not fatal: the probe may then meet an old smtpd; say so rather than hide it.
            return Result(
                res.argv,
                res.returncode,
                res.stdout,
                res.stderr + "\npfwizard: smtpd processes of the old configuration "
                "were still running 5 s after the reload\n",
            )
        return res

    def _check_serving(
        self, run: _Run, listen_at: tuple[str, str] | None = None
    ) -> ListenAddress | None:
        run("serve", "start", "is Postfix serving?")
        # No `postfix status` here: smtpd answering proves master is alive (it spawned it).
        interfaces, host = listen_at or self.tools.params(
            self.config_dir, "inet_interfaces", "myhostname"
        )
        addr = smtp_service(master_cf_text(self.config_dir), interfaces)
        if addr is None:
            if self._live_master() is None:
                raise StepFailed("serve", "the Postfix master process is not running")
            run("serve", "skipped", "no smtpd inet service in master.cf to probe")
            return None
        smtpd_verdict(addr, host or "localhost", run)
        return addr

    def _restart(self, run: _Run) -> None:
        # Only the instance established as reading this config dir (before writing, or now):
        # `postfix -c COPY stop` would stop the Postfix whose queue the copy names.
        if self._served is None and self._live_master() is None:
            run(
                "restart",
                "skipped",
                f"no running Postfix was started on {self.config_dir}: "
                "pfwizard never stops or starts a Postfix that does not use this directory",
            )
            return
        run("restart", "start", "postfix stop; postfix start (a throttled smtpd needs it)")
        if self.restart_hook is not None:
            self.restart_hook()
            run("restart", "ok", "")
            return
        res = self.tools.restart(self.config_dir)
        run.output.append(res.output)
        run("restart", "ok" if res.ok else "failed", res.output)

    def _undo(
        self, entry: JournalEntry, run: _Run, wrote: bool, was_running: bool, restart: bool = False
    ) -> None:
        """Every file back as before, and Postfix back on the old configuration (by a reload,
        or by a restart when smtpd died: master throttles it and a reload does not help)."""
        run("restore", "start", f"putting back the files saved in entry {entry.id}")
        self._sweep_temp(entry)
        done = backup.restore(self.journal, entry, self.writer)
        run("restore", "ok", "\n".join(done) or "nothing had changed yet")
        if not (wrote and self.reload and was_running):
            return
        try:
            if not restart and self._live_master() is not None:
                res = self._reload()
                run.output.append(res.output)
                run("reload", "ok" if res.ok else "failed", "old configuration: " + res.output)
                self._check_serving(run)
                return
        except (StepFailed, PostfixCommandError) as exc:
            run("serve", "failed", f"on the old configuration: {exc}")
        self._restart(run)
        try:
            self._check_serving(run)
        except StepFailed as exc:
            run("serve", "failed", f"still not serving after a restart: {exc}")

    def _undo_written(self, entry: JournalEntry, run: _Run) -> None:
        """After a refusal at the write: put back only the files this change already
        renamed in.  The entry keeps only those (a crash now restores no more than that):
        a file changed by someone else meanwhile is theirs, never overwritten."""
        written = {str(p) for p in getattr(self, "_written", [])}
        entry.files = [r for r in entry.files if r.path in written]
        self.journal.save(entry)
        run("restore", "start", f"putting back the {len(entry.files)} file(s) already written")
        self._sweep_temp(entry)
        done = backup.restore(self.journal, entry, self.writer)
        run("restore", "ok", "\n".join(done) or "nothing had been written yet")

    def _sweep_temp(self, entry: JournalEntry) -> None:
        for d in {Path(r.path).parent for r in entry.files}:
            if d.is_dir():
                for pattern in TEMP_GLOBS:
                    for p in d.glob(pattern):
                        p.unlink(missing_ok=True)

    # ---- rollback and recovery ------------------------------------------------------------
    def _rollback_locked(self, entry_id: str, run: _Run, kind: str) -> ApplyResult:
        plan = self.rollback_plan(entry_id)
        plan.kind = kind
        if kind == "revert":
            plan.summary = f"not confirmed in time: {plan.summary}"
        # A rollback restores what Postfix ran before, so a finding the admin could accept
        # does not stop it; one nobody may accept (an open relay, an unknown restriction)
        # does: a backup is not trusted to be safe because it once ran.
        result = self._transaction(plan, run, None, use_gate=True, only_unacceptable=True)
        if result.ok:
            target = self.journal.load(entry_id)
            if target is not None:
                target.rolled_back_by = result.entry_id
                if target.outcome == PENDING_CONFIRM:
                    target.outcome = REVERTED
                self.journal.save(target)
        return result

    def _recover_locked(self, run: _Run) -> list[str]:
        """Undo every change of this config dir left in progress (files back, then a reload:
        Postfix may have loaded the half-applied files), revert overdue unconfirmed ones.
        Entries that fail the checks (see ``journalcheck``) are skipped and said, never
        used; those of another config dir are left to a pfwizard run on that one."""
        msgs: list[str] = []
        self.journal.sweep_unwritten()
        for stale in self.state_dir.glob("stage-*"):
            shutil.rmtree(stale, ignore_errors=True)
        entries, bad = self.journal.scan()
        for entry_id, why in bad:
            msgs.append(
                f"journal entry {entry_id} is unreadable ({why}): skipped, never used "
                "to write anything"
            )
            run("recover", "skipped", msgs[-1])
        for entry in entries:
            if not same_dir(entry.config_dir, self.config_dir):
                if entry.outcome == IN_PROGRESS:
                    msgs.append(
                        f"entry {entry.id} ({entry.summary}) for {entry.config_dir} "
                        "was interrupted; run pfwizard with --config-dir "
                        f"{entry.config_dir} to undo it"
                    )
                    run("recover", "skipped", msgs[-1])
                continue
            if entry.outcome == IN_PROGRESS:
                msgs.append(self._recover_entry(entry, run))
            elif (
                entry.outcome == PENDING_CONFIRM
                and entry.confirm_deadline is not None
                and time.time() > entry.confirm_deadline + CONFIRM_GRACE
            ):
                try:
                    res = self._rollback_locked(entry.id, run, "revert")
                except Refused as exc:  # e.g. its saved copies fail the checks
                    msgs.append(
                        f"entry {entry.id} was not confirmed in time, but cannot be "
                        f"rolled back: {exc}"
                    )
                    continue
                msgs.append(
                    f"entry {entry.id} was not confirmed in time: "
                    + ("rolled back" if res.ok else f"rollback failed: {res.error}")
                )
        return msgs

    def _recover_entry(self, entry: JournalEntry, run: _Run) -> str:
        """Undo one interrupted change: files back, reload, then record it as recovered."""
        try:
            self._sweep_temp(entry)
            done = backup.restore(self.journal, entry, self.writer)
        except CorruptEntry as exc:
            run("recover", "failed", str(exc))
            return f"entry {entry.id} ({entry.summary}) was interrupted but cannot be undone: {exc}"
        reloaded = False
        if self.reload and self.tools.running(self.config_dir):
            self._undo_reload(run)
            reloaded = True
        msg = (
            f"entry {entry.id} ({entry.summary}) was interrupted; undone: "
            f"{len(done)} file(s) put back"
            + (
                ", Postfix reloaded"
                if reloaded
                else ", Postfix not reloaded (--no-reload)"
                if not self.reload
                else ", Postfix is not running"
            )
        )
        entry.outcome = RECOVERED
        entry.error = (
            "interrupted (pfwizard was killed, the machine stopped or the state "
            "directory failed); every file was put back as before"
        )
        try:
            self.journal.save(entry)
        except StateDirError as exc:
            msg += f" (not recorded in the journal: {exc})"
        self._announce(entry, run, RECOVERED)
        run("recover", "ok", msg)
        return msg

    def _undo_reload(self, run: _Run) -> None:
        if self._live_master() is None:
            run(
                "reload",
                "skipped",
                f"no running Postfix uses {self.config_dir}: nothing was reloaded",
            )
            return
        try:
            res = self._reload()
            run.output.append(res.output)
            self._check_serving(run)
        except (StepFailed, PostfixCommandError):
            self._restart(run)
