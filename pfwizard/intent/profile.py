"""`apply PROFILE.yaml`: one customisations file pushed to many boxes (Ansible, cron, ...).

The profile's chains (and master.cf list options) are replayed onto this box's MiaB values,
whatever release it runs; the profile then becomes this box's record for the chains,
parameters, services and tables it names (the rest of the box's customizations.yaml,
comments included, is left alone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from pfwizard.chain import Chain
from pfwizard.intent.glued import value_without_glue
from pfwizard.intent.model import ChainIntent, Customisations, ParameterIntent
from pfwizard.intent.rebase import ChainPlan, ParameterPlan, Policy, RestorePlan, build_plan
from pfwizard.intent.replay import ConflictKind, replay
from pfwizard.intent.store import IntentFile
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf


def _in_force(ci: ChainIntent | None, current: str | None) -> bool:
    """Is the box's own recorded customisation of this list what the file holds?"""
    return (
        ci is not None
        and replay(ci.parameter, ci.base or Chain([]), ci.operations).result.items
        == Chain.parse(current or "").items
    )


def miab_values(
    cf: MainCf,
    state: Customisations,
    names: list[str],
    master: MasterCf | None = None,
    keys: Iterable[str] = (),
) -> dict[str, str | None]:
    """MiaB's value of each chain (``names``) and master.cf list option (``keys``) on this box:
    the recorded base while the box's own customisation is in force, else what the file
    holds (MiaB rewrote it)."""
    out: dict[str, str | None] = {}
    for name in names:
        ci = state.chains.get(name)
        if ci is not None and _in_force(ci, cf.get(name)):
            out[name] = ci.base.render() if ci.base is not None else None
        else:
            out[name] = value_without_glue(cf, name)
    for key in keys:
        si = state.services.get(key)
        current = master.get(key) if master is not None else None
        if isinstance(si, ChainIntent) and _in_force(si, current):
            out[key] = si.base.render() if si.base is not None else None
        else:
            out[key] = current
    return out


def _with_decisions(ci: ChainIntent, recorded: object) -> ChainIntent:
    """The profile's operations with the decisions this box recorded for the same operations
    (a conflict decided once, by ``--on-conflict`` on this box, is not asked again each time
    the unchanged profile is applied)."""
    if not isinstance(recorded, ChainIntent):
        return ci
    if recorded.kept_miab and not ci.kept_miab and recorded.operations == ci.operations:
        # The same master.cf option, decided to wait while its service or option is gone.
        ci = replace(ci, kept_miab=True)
    ops = []
    for op in ci.operations:
        if op.decided() is None:
            mine = next((o for o in recorded.operations if o == op and o.decided()), None)
            if mine is not None:
                op = op.with_decision_of(mine)
        ops.append(op)
    return replace(ci, operations=ops)


def _with_kept(pi: ParameterIntent, recorded: object) -> ParameterIntent:
    """The profile's whole value with this box's decision on it (the same value: a
    conflict decided by ``--on-conflict=keep-miab`` on this box is not asked again)."""
    if not isinstance(recorded, ParameterIntent) or recorded.value != pi.value:
        return pi
    if recorded.has_keep and not pi.has_keep:
        pi = replace(pi, keep=recorded.keep, has_keep=True)
    if recorded.kept_miab and not pi.kept_miab:  # master.cf: waits while the service is gone
        pi = replace(pi, kept_miab=True)
    return pi


def _on_recorded_base(si: ChainIntent, recorded: object, miab_now: str | None) -> ChainIntent:
    """A profile's master.cf list option without a base, where MiaB no longer sets the option
    this box recorded MiaB's value of: on that base, so it is the same ``option-gone``
    conflict (and decision) as for ``restore``, not the profile's items alone in place of
    main.cf's value."""
    if (
        si.has_base
        or miab_now is not None
        or not isinstance(recorded, ChainIntent)
        or not recorded.has_base
        or recorded.base is None
    ):
        return si
    return replace(si, base=recorded.base, has_base=True)


def plan_profile(
    cf: MainCf,
    state: IntentFile,
    profile: Customisations,
    policy: Policy | None,
    master: MasterCf | None = None,
) -> RestorePlan:
    starts = miab_values(cf, state.model, list(profile.chains), master, profile.services)
    services = {
        k: _on_recorded_base(si, state.model.services.get(k), starts.get(k))
        if isinstance(si, ChainIntent)
        else si
        for k, si in profile.services.items()
    }
    decided = replace(
        profile,
        chains={
            n: _with_decisions(ci, state.model.chains.get(n)) for n, ci in profile.chains.items()
        },
        parameters={
            n: _with_kept(pi, state.model.parameters.get(n)) for n, pi in profile.parameters.items()
        },
        services={
            k: _with_decisions(si, state.model.services.get(k))
            if isinstance(si, ChainIntent)
            else _with_kept(si, state.model.services.get(k))
            for k, si in services.items()
        },
    )
    return build_plan(
        cf,
        decided,
        policy,
        compare_tables=True,
        miab_values=starts,
        uncaptured_glue=False,
        master=master,
    )


def _record(
    state: IntentFile,
    sections: tuple[str, str],
    chains: list[ChainPlan],
    params: list[ParameterPlan],
    policy: Policy | None,
    before: Callable[[str], str | None],
) -> None:
    """The profile's chains and whole values become this box's record in ``sections``
    (for lists, for whole values); ``before``: a value before the apply (the base of a
    whole value never recorded)."""
    section, value_section = sections
    for ch in chains:
        ops = ch.operations
        old_ci = getattr(state.model, section).get(ch.parameter)
        if ch.kept_miab:
            # The service or MiaB's option is gone, decided (now or before): the record
            # keeps the base its operations were made on (the box's, else the profile's).
            src = old_ci if isinstance(old_ci, ChainIntent) and old_ci.has_base else ch.intent
            state.set_chain(
                ChainIntent(ch.parameter, src.base, ops, has_base=src.has_base, kept_miab=True),
                section,
            )
            continue
        if ch.conflicting and policy is Policy.KEEP_MIAB:
            ops = [o for o in ops if o not in ch.conflicting]
        if ops and ch.conflicting and policy is not Policy.KEEP_MIAB:
            # Left open: the base must not move past MiaB's change, or restore would no
            # longer see the conflict (the box's earlier base, else the profile's, else none).
            src = old_ci if isinstance(old_ci, ChainIntent) and old_ci.has_base else ch.intent
            state.set_chain(
                ChainIntent(
                    ch.parameter,
                    src.base,
                    ops,
                    has_base=src.has_base,
                    kept_miab=ch.intent.kept_miab,
                ),
                section,
            )
        elif ops:
            state.set_chain(
                ChainIntent(ch.parameter, ch.miab_now, ops, kept_miab=ch.intent.kept_miab), section
            )
        else:
            state.remove(section, ch.parameter)
    for p in params:
        old = getattr(state.model, value_section).get(p.intent.name)
        # keep-miab on a master.cf service that is gone: the value waits for it (recorded).
        waits = p.intent.kept_miab
        if p.conflict is not None and policy is Policy.KEEP_MIAB:
            if p.conflict.kind is ConflictKind.PARAMETER_CHANGED:
                state.set_parameter(p.decided(), value_section)
                continue
            waits = True
        if (
            p.intent.has_keep
            and p.in_sync
            and isinstance(old, ParameterIntent)
            and old.kept(p.current)
        ):
            continue  # decided before on this box (found by ``_with_kept``): record as is
        if p.kept_miab and isinstance(old, ParameterIntent) and old.kept_miab:
            continue  # the same: decided before on this box, the record stays as is
        chain = state.model.chains.get(p.intent.name) if section == "chains" else None
        if isinstance(old, ParameterIntent) and old.has_base:
            base: str | None = old.base
        elif isinstance(chain, ChainIntent) and chain.has_base:
            # The box recorded it as a list: its base is MiaB's value, the one to keep.
            base = chain.base.render() if chain.base is not None else None
        elif p.intent.has_base:
            base = p.intent.base
        else:
            base = before(p.intent.name)
        state.set_parameter(
            ParameterIntent(
                p.intent.name, p.intent.value, base, True, p.intent.why, kept_miab=waits
            ),
            value_section,
        )


def record_profile(
    state: IntentFile,
    cf_before: MainCf,
    plan: RestorePlan,
    profile: Customisations,
    release: str | None,
    master_before: MasterCf | None = None,
) -> bool:
    """Make the profile this box's record; True if customizations.yaml needs saving."""
    before = state.dumps()
    _record(
        state, ("chains", "parameters"), plan.chains, plan.parameters, plan.policy, cf_before.get
    )
    _record(
        state,
        ("services", "services"),
        plan.master_chains,
        plan.master_options,
        plan.policy,
        lambda key: master_before.get(key) if master_before is not None else None,
    )
    for t in profile.tables.values():
        state.set_table(t)
    if release:
        state.set_release(release)
    return state.dumps() != before
