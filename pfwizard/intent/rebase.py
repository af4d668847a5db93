"""Rebase the admin's customisations onto whatever MiaB wrote: the plan behind status/restore.

Three-way, per restriction list: MiaB's value now (the definition without glued lines), the
base the customisation was made on, and the admin's operations. The operations are replayed
onto MiaB's value now, so everything MiaB added or changed stays and the admin's items go back
at their anchors. What cannot be placed without guessing is a ``Conflict``.

After a successful restore the recorded base becomes MiaB's value now, so a second run finds
nothing to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from pfwizard import inputs
from pfwizard.chain import Chain
from pfwizard.errors import ConfigError
from pfwizard.indexfiles import index_path
from pfwizard.intent.glued import glued_by_parameter, value_without_glue
from pfwizard.intent.model import (
    ChainIntent,
    Customisations,
    Operation,
    ParameterIntent,
    TableIntent,
)
from pfwizard.intent.replay import Conflict, ConflictKind, Replay, replay
from pfwizard.intent.store import IntentFile
from pfwizard.maincf import GluedContinuation, MainCf
from pfwizard.mastercf import MasterCf, split_key


class Policy(str, Enum):
    """What to do with conflicts (None: stop and ask)."""

    KEEP_MIAB = "keep-miab"
    """MiaB's value wins: where MiaB changed an item you removed or changed, its new form
    stays; where your item cannot be placed (its anchor or item is gone, MiaB ships it
    elsewhere), MiaB's list stays; a whole value MiaB changed stays MiaB's; a master.cf option
    whose service or option MiaB dropped is left out until MiaB ships it again. All recorded
    as decided, not asked again."""
    REMOVE_NEW = "remove-new"
    """Where MiaB changed the form of an item you removed, remove the new form too (recorded
    as decided); other conflicts are left open, as with skip."""
    SKIP = "skip"
    """Apply the rest; keep the conflicting customisation recorded, to decide later."""


POLICY_HELP: dict[Policy, str] = {
    Policy.KEEP_MIAB: "MiaB's value wins, recorded so it is not asked again: its new form "
    "of an item you removed or changed stays, an item of yours that cannot "
    "be placed (anchor gone, MiaB ships it elsewhere) is left out, a whole "
    "value MiaB changed stays MiaB's, a master.cf option whose service or "
    "option MiaB dropped is left out until MiaB ships it again",
    Policy.REMOVE_NEW: "where MiaB changed the form of an item you removed, remove the new "
    "form too; other conflicts stay open, as with skip",
    Policy.SKIP: "apply the rest; the conflict stays open and recorded, to decide later",
}
"""What each ``--on-conflict`` choice does, in the admin's words (help, messages, wizard)."""


def policy_help() -> str:
    return "; ".join(f"{p.value}: {text}" for p, text in POLICY_HELP.items())


class ChainState(str, Enum):
    IN_SYNC = "in sync"
    MISSING = "customisations missing"
    BASE_CHANGED = "MiaB changed the base under a customisation"
    GLUED = "glued continuation lines"
    CONFLICT = "a conflict needs a decision"


@dataclass
class ChainPlan:
    """What restore does to one list: MiaB's value now, with the operations replayed."""

    parameter: str
    intent: ChainIntent
    miab_now: Chain | None
    """The value MiaB wrote (without glued lines); None: parameter not set."""
    current: Chain
    """The effective value (what Postfix uses now, glued lines included)."""
    target: Chain
    """The admin's intent on the base it was made on."""
    result: Chain
    glued: list[GluedContinuation] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    conflicting: list[Operation] = field(default_factory=list)
    master: bool = False
    """A master.cf option (``parameter`` is its key ``service/type/option``)."""
    operations: list[Operation] = field(default_factory=list)
    """The operations to record: the intent's, with the decisions of this run."""
    decided: list[Conflict] = field(default_factory=list)
    """Conflicts this run's policy decided (recorded on their operation: keep/also_remove)."""
    rebased_in_force: bool = False
    """The operations replayed onto MiaB's value now give what is in force (MiaB changed the
    base, and what the customisation does is there all the same): nothing is missing."""
    kept_miab: bool = False
    """master.cf: the service or MiaB's option is gone and keep-miab is decided for it (on
    record, or by this run's policy): master.cf stays as MiaB ships it."""

    @property
    def base(self) -> Chain | None:
        return self.intent.base

    def value(self, chain: Chain) -> str:
        """``chain`` as it is written: a master.cf ``-o`` value is one word, so its items and
        their arguments are joined with commas (Postfix reads commas as blanks)."""
        if not self.master:
            return chain.render()
        return ",".join(w for i in chain.items for w in (i.name, i.arg) if w is not None)

    @property
    def in_sync(self) -> bool:
        return (
            not self.glued
            and not self.conflicts
            and not self.decided
            and (self.current.items == self.target.items or self.rebased_in_force or self.kept_miab)
        )

    @property
    def base_changed(self) -> bool:
        if not self.intent.has_base:
            return False  # no base recorded: nothing to compare MiaB's value with
        base = self.base.items if self.base else []
        now = self.miab_now.items if self.miab_now else []
        return base != now and self.current.items != self.target.items

    @property
    def changes(self) -> bool:
        return bool(self.glued) or self.result.items != self.current.items

    def states(self) -> list[ChainState]:
        if self.in_sync:
            return [ChainState.IN_SYNC]
        out: list[ChainState] = []
        if self.current.items != self.target.items:
            out.append(ChainState.MISSING)
        if self.base_changed:
            out.append(ChainState.BASE_CHANGED)
        if self.glued:
            out.append(ChainState.GLUED)
        if self.conflicts:
            out.append(ChainState.CONFLICT)
        return out


@dataclass
class ParameterPlan:
    """What restore does to one whole value."""

    intent: ParameterIntent
    current: str | None
    conflict: Conflict | None = None
    glued: list[GluedContinuation] = field(default_factory=list)
    kept_miab: bool = False
    """master.cf: the service is gone and keep-miab was decided for it before (on record):
    nothing to put back, nothing to ask."""

    @property
    def in_sync(self) -> bool:
        return (
            self.current == self.intent.value or self.intent.kept(self.current) or self.kept_miab
        ) and not self.glued

    @property
    def changes(self) -> bool:
        return not self.in_sync and self.conflict is None

    def decided(self) -> ParameterIntent:
        """keep-miab's decision on its conflict: MiaB's value now stays, recorded (and the
        base moves to it), so the same change of MiaB's is not asked about again."""
        return replace(
            self.intent, base=self.current, has_base=True, keep=self.current, has_keep=True
        )


@dataclass
class TablePlan:
    """Whether restore must write a table pfwizard owns again."""

    intent: TableIntent
    problem: str | None
    """Why it needs writing (missing, map missing, content differs); None: as recorded."""


@dataclass
class RestorePlan:
    """Everything restore would do, and what stands in its way."""

    chains: list[ChainPlan]
    parameters: list[ParameterPlan]
    tables: list[TablePlan]
    glued_uncaptured: list[tuple[str, list[GluedContinuation], str | None]]
    """(parameter, glued lines, MiaB's value without them) with no customisation recorded."""
    policy: Policy | None = None
    master_chains: list[ChainPlan] = field(default_factory=list)
    """master.cf list options (``authclean/unix/header_checks``), rebased like the chains."""
    master_options: list[ParameterPlan] = field(default_factory=list)
    """Other master.cf options, whole values like the parameters."""

    @property
    def decided(self) -> list[Conflict]:
        """Conflicts the policy decided this run, recorded so they stay decided (a whole
        value's conflict decided by keep-miab stays listed under ``conflicts``)."""
        return [c for ch in self.chains + self.master_chains for c in ch.decided]

    @property
    def left_open(self) -> list[Conflict]:
        """Conflicts still open once this plan is carried out (skip, or remove-new for a
        conflict it does not decide): a run that leaves them is not a clean success."""
        return [] if self.policy is Policy.KEEP_MIAB else self.conflicts

    @property
    def conflicts(self) -> list[Conflict]:
        out = [c for ch in self.chains + self.master_chains for c in ch.conflicts]
        out += [p.conflict for p in self.parameters + self.master_options if p.conflict is not None]
        out += [
            Conflict(
                ConflictKind.GLUED_UNCAPTURED,
                name,
                f"{len(gl)} glued continuation group(s) and no recorded "
                f"customisation to put back: {gl[0].describe()}",
            )
            for name, gl, _ in self.glued_uncaptured
        ]
        return out

    @property
    def notes(self) -> list[str]:
        return [n for ch in self.chains + self.master_chains for n in ch.notes]

    @property
    def in_sync(self) -> bool:
        return (
            all(c.in_sync for c in self.chains + self.master_chains)
            and all(p.in_sync for p in self.parameters + self.master_options)
            and not any(t.problem for t in self.tables)
            and not self.glued_uncaptured
        )

    def master_params(self) -> dict[str, str | None]:
        """master.cf edits for the engine: ``service/type/option`` -> value (None: remove)."""
        out: dict[str, str | None] = {}
        for ch in self.master_chains:
            if ch.changes:
                out[ch.parameter] = ch.value(ch.result)
        for p in self.master_options:
            if p.changes:
                out[p.intent.name] = p.intent.value
        return out

    def params(self) -> dict[str, str | None]:
        """main.cf edits for the engine (a set drops the glued lines of that definition)."""
        out: dict[str, str | None] = {}
        for ch in self.chains:
            if ch.changes:
                out[ch.parameter] = ch.result.render()
        for p in self.parameters:
            if p.changes:
                out[p.intent.name] = p.intent.value
        if self.policy is Policy.KEEP_MIAB:
            for name, _, miab_value in self.glued_uncaptured:
                out[name] = miab_value or ""
        return out

    def table_changes(self) -> list[TableIntent]:
        return [t.intent for t in self.tables if t.problem]

    @property
    def has_changes(self) -> bool:
        return bool(self.params() or self.master_params() or self.table_changes())

    def update_intent(self, store: IntentFile, release: str | None = None) -> bool:
        """Record the rebase in customizations.yaml: new bases, dropped customisations.
        Returns True if the file needs saving."""
        changed = False
        for section, value_section, chains, params in (
            ("chains", "parameters", self.chains, self.parameters),
            ("services", "services", self.master_chains, self.master_options),
        ):
            for ch in chains:
                ci = ch.intent
                if ch.in_sync:
                    continue
                ops = ch.operations
                if ch.kept_miab:
                    # The service or MiaB's option is gone, decided now: the entry stays, on
                    # the base its operations were made on (MiaB has no value to move it
                    # to), and goes back once MiaB ships it again.
                    store.set_chain(replace(ci, operations=ops, kept_miab=True), section)
                    changed = True
                    continue
                if ch.conflicting and self.policy is Policy.KEEP_MIAB:
                    ops = [o for o in ops if o not in ch.conflicting]
                elif ch.conflicting:
                    # Left open: the base stays, so the conflict is found again next time;
                    # what this run decided is kept.
                    if ch.decided:
                        store.set_chain(replace(ci, operations=ops), section)
                        changed = True
                    continue
                new = ChainIntent(ci.parameter, ch.miab_now, ops, ci.line, kept_miab=ci.kept_miab)
                if not ops:
                    store.remove(section, ci.parameter)
                else:
                    store.set_chain(new, section)
                changed = True
            for p in params:
                if p.conflict is not None and self.policy is Policy.KEEP_MIAB:
                    if p.conflict.kind is ConflictKind.PARAMETER_CHANGED:
                        store.set_parameter(p.decided(), value_section)
                    else:  # the service is gone: the value waits for it, asked no more
                        store.set_parameter(replace(p.intent, kept_miab=True), value_section)
                    changed = True
        if release and store.model.miab_release != release:
            store.set_release(release)
            changed = True
        return changed


def _chain_plan(
    cf: MainCf,
    ci: ChainIntent,
    name: str,
    glued: list[GluedContinuation],
    miab_values: dict[str, str | None],
    policy: Policy | None,
) -> ChainPlan:
    miab_value = miab_values[name] if name in miab_values else value_without_glue(cf, name)
    return _rebase_chain(ci, cf.get(name), miab_value, glued, policy)


def _decide(conflict: Conflict, policy: Policy | None) -> Operation | None:
    """The conflicting operation with ``policy``'s decision on MiaB's new form recorded on
    it; None when the policy does not decide this kind of conflict that way."""
    op, new = conflict.operation, conflict.new_form
    if op is None or new is None:
        return None
    if conflict.kind is ConflictKind.REMOVED_CHANGED and policy is Policy.REMOVE_NEW:
        return replace(op, also_remove=new, keep=None)
    if (
        conflict.kind in (ConflictKind.REMOVED_CHANGED, ConflictKind.CHANGED_CHANGED)
        and policy is Policy.KEEP_MIAB
    ):
        return replace(op, keep=new, also_remove=None)
    return None


_KEPT_AS_MIAB_SHIPS = frozenset(
    {ConflictKind.ANCHOR_GONE, ConflictKind.MIAB_SHIPS_ITEM, ConflictKind.ITEM_GONE}
)
"""Conflicts keep-miab decides by leaving MiaB's list as it is (``decided: keep-miab``)."""


def _decide_op(conflict: Conflict, policy: Policy | None) -> Operation | None:
    """``_decide``, and for the conflicts with no new form (the anchor or the item is gone,
    MiaB ships the item elsewhere) keep-miab's decision: recorded on the operation, which
    stays in the file, so neither the next upgrade nor the same profile asks again."""
    op = conflict.operation
    if op is not None and policy is Policy.KEEP_MIAB and conflict.kind in _KEPT_AS_MIAB_SHIPS:
        return replace(op, kept_miab=True, keep=None, also_remove=None)
    return _decide(conflict, policy)


def _replay_deciding(
    ci: ChainIntent, start: Chain, miab_now: Chain | None, policy: Policy | None
) -> tuple[Replay, list[Operation], list[Conflict]]:
    """The rebase of ``ci``'s operations onto ``start``, with the conflicts ``policy``
    decides decided (their operations then carry the decision, so they stay decided)."""
    base = ci.base if ci.has_base else None
    ops = list(ci.operations)
    rp = replay(ci.parameter, start, ops, base=base, miab_now=miab_now)
    decided: list[Conflict] = []
    for c in rp.conflicts:
        op = _decide_op(c, policy)
        if op is not None and c.operation in ops:
            ops[ops.index(c.operation)] = op
            decided.append(c)
    if decided:
        rp = replay(ci.parameter, start, ops, base=base, miab_now=miab_now)
    return rp, ops, decided


def _rebase_chain(
    ci: ChainIntent,
    effective: str | None,
    miab_value: str | None,
    glued: list[GluedContinuation],
    policy: Policy | None = None,
) -> ChainPlan:
    """The three-way rebase of one list: its value in force, MiaB's part of it, the intent."""
    name = ci.parameter
    current = Chain.parse(effective or "")
    miab_now = Chain.parse(miab_value) if miab_value is not None else None
    base = ci.base or Chain([])
    if not ci.has_base:
        # No base (a hand-written profile): the intent is the operations on MiaB's value now.
        start = miab_now or Chain([], current.separator)
        rp, ops, decided = _replay_deciding(ci, start, miab_now, policy)
        plan = ChainPlan(
            name,
            ci,
            miab_now,
            current,
            rp.result,
            rp.result,
            glued,
            rp.conflicts,
            rp.notes,
            rp.conflicting,
            operations=ops,
            decided=decided,
        )
        if plan.in_sync:
            plan.result = current
        return plan
    target = replay(name, base, ci.operations).result
    plan = ChainPlan(
        name, ci, miab_now, current, target, target, glued, operations=list(ci.operations)
    )
    if plan.in_sync:
        plan.result = current
        return plan
    if not glued and current.items == target.items:
        plan.result = current
        return plan
    rp, ops, decided = _replay_deciding(ci, miab_now or Chain([], base.separator), miab_now, policy)
    plan.result, plan.conflicts, plan.notes = rp.result, rp.conflicts, rp.notes
    plan.conflicting, plan.operations, plan.decided = rp.conflicting, ops, decided
    plan.rebased_in_force = rp.result.items == current.items
    if plan.in_sync:
        plan.result = current
    return plan


def _parameter_plan(current: str | None, pi: ParameterIntent) -> ParameterPlan:
    plan = ParameterPlan(pi, current)
    if current != pi.value and pi.has_base and current != pi.base and not pi.kept(current):

        def show(v: str | None) -> str:
            return "not set" if v is None else repr(v)

        plan.conflict = Conflict(
            ConflictKind.PARAMETER_CHANGED,
            pi.name,
            f"you set it to {show(pi.value)} (it was {show(pi.base)}); it is now {show(current)}",
        )
    return plan


def table_problem(ti: TableIntent, *, compare_content: bool) -> str | None:
    p = Path(ti.path)
    if not p.exists():
        return "missing"
    db = index_path(p, ti.map_type)
    if db is not None and not db.exists():
        return f"{db.name} missing"
    if compare_content:
        try:
            if inputs.read_text(p, inputs.MAX_TABLE_BYTES, what="table") != ti.content:
                return "content differs"
        except ConfigError as exc:
            return f"unreadable: {exc.message}"
        if db is not None and db.stat().st_mtime < p.stat().st_mtime:
            return f"{db.name} older than its source"
    return None


def _service_gone(key: str, master: MasterCf) -> Conflict | None:
    service, type_, _ = split_key(key)
    if master.find(service, type_) is not None:
        return None
    return Conflict(
        ConflictKind.SERVICE_GONE,
        key,
        f"master.cf has no {service} {type_} service any more: nothing to put "
        f"your option on (keep-miab leaves it out until MiaB ships the service "
        f"again)",
    )


GONE_DECIDED: dict[ConflictKind, str] = {
    ConflictKind.SERVICE_GONE: "the service is gone from master.cf; yours goes back once "
    "MiaB ships it again",
    ConflictKind.OPTION_GONE: "MiaB no longer sets the option; yours goes back once MiaB "
    "sets it again",
}
"""keep-miab's decision on a master.cf service or option MiaB dropped, in the admin's words."""


def _gone(ch: ChainPlan, gone: Conflict, si: ChainIntent, policy: Policy | None) -> None:
    """``ch``, whose service or option MiaB dropped: nothing of it is written; keep-miab
    (recorded before, or this run's) leaves master.cf as MiaB ships it, else it is a
    conflict."""
    ch.result, ch.notes, ch.decided = ch.current, [], []
    ch.operations, ch.conflicting, ch.conflicts = list(si.operations), [], []
    if si.kept_miab:
        ch.kept_miab = True
        ch.notes = [
            f"master.cf {ch.parameter}: not put back: {GONE_DECIDED[gone.kind]} "
            f"(decided: keep-miab)"
        ]
    elif policy is Policy.KEEP_MIAB:
        ch.kept_miab, ch.decided = True, [gone]
    else:
        ch.conflicts, ch.conflicting = [gone], list(si.operations)


def _master_plans(
    master: MasterCf,
    cust: Customisations,
    miab_values: dict[str, str | None],
    policy: Policy | None,
) -> tuple[list[ChainPlan], list[ParameterPlan]]:
    """The rebase of the recorded master.cf options onto what master.cf holds now (after an
    upgrade: MiaB's own entry, which its setup rewrote whole)."""
    chains: list[ChainPlan] = []
    options: list[ParameterPlan] = []
    for key, si in cust.services.items():
        current = master.get(key)
        if isinstance(si, ParameterIntent):
            op = _parameter_plan(current, si)
            if not op.in_sync:
                gone = _service_gone(key, master)
                if gone is not None and si.kept_miab:
                    op.conflict, op.kept_miab = None, True  # decided before: not asked again
                else:
                    op.conflict = gone or op.conflict
            options.append(op)
            continue
        miab_value = miab_values.get(key, current)
        ch = _rebase_chain(si, current, miab_value, [], policy)
        ch.master = True
        if not ch.in_sync:
            gone = _service_gone(key, master)
            if gone is None and si.base is not None and miab_value is None:
                gone = Conflict(
                    ConflictKind.OPTION_GONE,
                    key,
                    f"MiaB no longer sets it (it was {si.base.render()!r}); yours "
                    f"alone would replace main.cf's value for this service "
                    f"(keep-miab leaves it out until MiaB sets it again)",
                )
            if gone is not None:
                _gone(ch, gone, si, policy)
        chains.append(ch)
    return chains, options


def build_plan(
    cf: MainCf,
    cust: Customisations,
    policy: Policy | None = None,
    *,
    compare_tables: bool = False,
    miab_values: dict[str, str | None] | None = None,
    uncaptured_glue: bool = True,
    master: MasterCf | None = None,
) -> RestorePlan:
    """The rebase of ``cust`` onto ``cf`` (and ``master``, master.cf, for the services; None:
    master.cf is not looked at).
    ``compare_tables``: rewrite tables whose content differs from the recorded one (apply
    PROFILE); otherwise only lost tables are rebuilt. ``miab_values``: MiaB's value of a chain
    or master.cf list option when the file holds more than MiaB's (default: the definition
    without glued lines; for master.cf, the option's value). ``uncaptured_glue``: report
    glued lines of parameters not customised (a conflict: dropping them loses the admin's
    text)."""
    glued = glued_by_parameter(cf)
    chains = [
        _chain_plan(cf, ci, name, glued.get(name, []), miab_values or {}, policy)
        for name, ci in cust.chains.items()
    ]
    params = [
        _parameter_plan(cf.get(pi.name), pi)
        for pi in cust.parameters.values()
        if pi.name not in cust.chains
    ]
    for p in params:
        p.glued = glued.get(p.intent.name, [])
    # A glued parameter with a customisation is repaired by its own set; one without has
    # nothing to put back, so dropping the lines loses the admin's text: that needs a decision.
    captured = set(cust.chains) | set(cust.parameters)
    uncaptured = [
        (name, gl, value_without_glue(cf, name))
        for name, gl in glued.items()
        if name not in captured and uncaptured_glue
    ]
    tables = [
        TablePlan(ti, table_problem(ti, compare_content=compare_tables))
        for ti in cust.tables.values()
    ]
    master_chains, master_options = (
        ([], []) if master is None else _master_plans(master, cust, miab_values or {}, policy)
    )
    return RestorePlan(chains, params, tables, uncaptured, policy, master_chains, master_options)
