"""`apply PROFILE.yaml`: one customisations file pushed to many boxes (Ansible, cron, ...).

The profile's chains are replayed onto this box's MiaB values, whatever release it runs; the
profile then becomes this box's record for the chains, parameters and tables it names (the
rest of the box's customizations.yaml, comments included, is left alone).
"""

from __future__ import annotations

from pfwizard.chain import Chain
from pfwizard.intent.glued import value_without_glue
from pfwizard.intent.model import ChainIntent, Customisations, ParameterIntent
from pfwizard.intent.rebase import Policy, RestorePlan, build_plan
from pfwizard.intent.replay import replay
from pfwizard.intent.store import IntentFile
from pfwizard.maincf import MainCf


def miab_values(cf: MainCf, state: Customisations, names: list[str]) -> dict[str, str | None]:
    """MiaB's value of each chain on this box: the recorded base while the box's own
    customisation is in force, else what main.cf holds (MiaB rewrote it)."""
    out: dict[str, str | None] = {}
    for name in names:
        ci = state.chains.get(name)
        current = Chain.parse(cf.get(name) or "")
        if ci is not None and replay(name, ci.base or Chain([]),
                                     ci.operations).result.items == current.items:
            out[name] = ci.base.render() if ci.base is not None else None
        else:
            out[name] = value_without_glue(cf, name)
    return out


def plan_profile(cf: MainCf, state: IntentFile, profile: Customisations,
                 policy: Policy | None) -> RestorePlan:
    starts = miab_values(cf, state.model, list(profile.chains))
    return build_plan(cf, profile, policy, compare_tables=True, miab_values=starts,
                      uncaptured_glue=False)


def record_profile(state: IntentFile, cf_before: MainCf, plan: RestorePlan,
                   profile: Customisations, release: str | None) -> bool:
    """Make the profile this box's record; True if customizations.yaml needs saving."""
    before = state.dumps()
    for ch in plan.chains:
        ops = ch.intent.operations
        if ch.conflicting and plan.policy is Policy.KEEP_MIAB:
            ops = [o for o in ops if o not in ch.conflicting]
        if ops:
            state.set_chain(ChainIntent(ch.parameter, ch.miab_now, ops))
        else:
            state.remove("chains", ch.parameter)
    for p in plan.parameters:
        if p.conflict is not None and plan.policy is Policy.KEEP_MIAB:
            continue
        old = state.model.parameters.get(p.intent.name)
        if old is not None and old.has_base:
            base: str | None = old.base
        elif p.intent.has_base:
            base = p.intent.base
        else:
            base = cf_before.get(p.intent.name)
        state.set_parameter(ParameterIntent(p.intent.name, p.intent.value, base, True,
                                            p.intent.why))
    for t in profile.tables.values():
        state.set_table(t)
    if release:
        state.set_release(release)
    return state.dumps() != before
