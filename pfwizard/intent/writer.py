"""The one door restore and apply-profile go through to change files: the safe apply engine
(diff, lock, backup, analyser gate, postfix check on a staged copy, reload, rollback)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pfwizard import inputs
from pfwizard.engine import ChangeSet as EngineChangeSet
from pfwizard.engine import (
    Engine,
    FileMeta,
    Plan,
    StepEvent,
    StepFailed,
    TableChange,
    risks,
)
from pfwizard.engine.changeset import INTENT_ROLE, IntentRecord, index_path, secret_meta
from pfwizard.engine.engine import default_gate
from pfwizard.engine.journal import REFUSED
from pfwizard.engine.tables import install_indexed
from pfwizard.engine.validate import Gate
from pfwizard.errors import ConfigError
from pfwizard.intent.model import TableIntent
from pfwizard.kept_lines import KeptLines


@dataclass
class Outcome:
    ok: bool
    error: str | None = None
    refused: bool = False
    entry_id: str | None = None
    output: str = ""
    checked: bool = False
    """A dry run's ``check``: the change went through Postfix's checks and pfwizard's on a
    staged copy (with or without a refusal)."""


@dataclass
class Prepared:
    diff: str
    is_empty: bool
    plan: Plan
    rebuild: list[TableIntent] = field(default_factory=list)
    """Indexed tables whose source is as recorded but whose index (.db) is lost."""
    records_intent: bool = False
    """customizations.yaml is written by the engine with the configuration (one journal
    entry: a rollback takes both back)."""


def _index_lost(t: TableIntent) -> bool:
    p = Path(t.path)
    idx = index_path(p, t.map_type)
    if idx is None or not p.exists() or idx.exists():
        return False
    try:
        return inputs.read_bytes(p, inputs.MAX_TABLE_BYTES, what="table") == t.content.encode()
    except ConfigError:
        return False


class Writer:
    """Plan and apply main.cf parameter edits, master.cf options and table files through the
    engine."""

    def __init__(
        self,
        config_dir: str | Path,
        state_dir: str | Path,
        *,
        reload: bool = True,
        accept_risk: frozenset[str] = frozenset(),
        gate: Gate | None = None,
    ) -> None:
        """``gate``: the check to run (None: the default one).
        ``accept_risk``: codes of acceptable danger findings the admin accepted by name
        (``--accept-risk CODE``); the gate still refuses every other one."""
        # The engine's default gate, the analyser on the staged copy (after the staged
        # postmap, so a table this very change builds is not "missing").
        # A finding accepted before for the same entry (a restore after an upgrade puts
        # back what the admin accepted) passes too; see engine/risks.py.
        self.state_dir = Path(state_dir)
        self.accepted_now: list[risks.Accepted] = []
        if gate is None:
            gate = default_gate()
        if gate is not None:
            gate = risks.accepting(
                gate, state_dir, Path(config_dir), accept_risk, self.accepted_now
            )
        self.engine = Engine(Path(config_dir), Path(state_dir), reload=reload, gate=gate)

    def prepare(
        self,
        summary: str,
        params: dict[str, str | None],
        tables: list[TableIntent],
        intent: dict[str, Any] | None = None,
        kind: str = "restore",
        master_params: dict[str, str | None] | None = None,
        kept_lines: list[KeptLines] | None = None,
        record: IntentRecord | None = None,
    ) -> Prepared:
        """``master_params``: master.cf options, ``service/type/option`` -> value;
        ``kept_lines``: lines to keep as comments under a note (adopted settings).
        ``record``: customizations.yaml as this change leaves it, written in the same
        transaction when the configuration changes (else the caller saves it alone)."""
        changes = [TableChange(Path(t.path), t.content, t.map_type) for t in tables]
        plan = self.engine.plan(
            EngineChangeSet(
                summary,
                params,
                changes,
                intent,
                kind,
                master_params=dict(master_params or {}),
                kept_lines=list(kept_lines or []),
                record=record,
            )
        )
        config = [f for f in plan.files if f.role != INTENT_ROLE]
        if not any(f.changes for f in [*config, *plan.indexes]):
            # Only the intent changes: no reason to validate and reload Postfix for that.
            plan.files = config
        # The engine rebuilds an index only when its source changes; a lost .db next to an
        # unchanged source is rebuilt here (nothing to back up: it does not exist).
        rebuild = [t for t in tables if _index_lost(t)]
        diff = plan.unified_diff() + "".join(
            f"rebuild {t.map_type}:{t.path} (its index is missing)\n" for t in rebuild
        )
        return Prepared(
            diff,
            plan.is_empty and not rebuild,
            plan,
            rebuild,
            any(f.role == INTENT_ROLE for f in plan.files),
        )

    def check(self, prepared: Prepared) -> Outcome:
        """What the real ``apply`` would say about the change, writing nothing: the same
        validation on a staged copy (dry runs).  Only a lost index to rebuild: nothing to
        check, postmap builds it from the source Postfix reads today."""
        if prepared.plan.is_empty:
            return Outcome(True, checked=not prepared.rebuild)
        res = self.engine.check(prepared.plan)
        return Outcome(
            res.ok,
            res.error,
            res.refused,
            None,
            res.postfix_output,
            checked=res.outcome in ("checked", REFUSED),
        )

    def apply(
        self,
        prepared: Prepared,
        progress: Callable[[str], None] | None = None,
        confirm_within: float | None = None,
        steps: Callable[[StepEvent], None] | None = None,
    ) -> Outcome:
        def relay(ev: StepEvent) -> None:
            if steps is not None:
                steps(ev)
            elif progress is not None:
                progress(f"{ev.step}: {ev.status}" + (f" ({ev.detail})" if ev.detail else ""))

        eng = self.engine
        for t in prepared.rebuild:
            path = Path(t.path)
            try:
                meta = secret_meta(path, t.map_type, eng.config_dir) or FileMeta.of(path)
                out = install_indexed(
                    eng.writer,
                    eng.tools,
                    eng.config_dir,
                    path,
                    path.read_bytes(),
                    t.map_type,
                    meta,
                    None,
                )
            except (StepFailed, OSError) as exc:
                return Outcome(False, str(exc), output=getattr(exc, "output", ""))
            relay(StepEvent("postmap", "ok", out or f"rebuilt {t.map_type}:{path}"))
        if prepared.plan.is_empty:
            return Outcome(True)
        res = eng.apply(prepared.plan, progress=relay, confirm_within=confirm_within)
        if res.ok:
            with contextlib.suppress(OSError):  # the change is in; only the memory is lost
                risks.remember(self.state_dir, self.accepted_now)
        return Outcome(res.ok, res.error, res.refused, res.entry_id, res.postfix_output)
