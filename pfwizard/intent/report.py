"""Plain-text account of a rebase plan, shared by ``status``, ``restore`` and ``apply``."""

from __future__ import annotations

from pfwizard.chain import Chain
from pfwizard.intent.rebase import (
    GONE_DECIDED,
    ChainPlan,
    ChainState,
    ParameterPlan,
    RestorePlan,
)


def _items(chain: Chain | None) -> list[str]:
    return [] if chain is None else [str(i) for i in chain.items]


def miab_changes(ch: ChainPlan) -> list[str]:
    """What MiaB changed under the customisation (its value now against the base)."""
    base, now = _items(ch.base), _items(ch.miab_now)
    out = [f"MiaB added: {i}" for i in now if i not in base]
    out += [f"MiaB dropped: {i}" for i in base if i not in now]
    return out


def _label(name: str, master: bool) -> str:
    return f"master.cf {name}" if master else name


def describe_chain(ch: ChainPlan) -> list[str]:
    states = ch.states()
    lines = [f"{_label(ch.parameter, ch.master)}: {'; '.join(s.value for s in states)}"]
    if states == [ChainState.IN_SYNC]:
        return lines
    if ChainState.BASE_CHANGED in states:
        lines += [f"    {m}" for m in miab_changes(ch)]
    for g in ch.glued:
        lines.append(f"    main.cf {g.describe()}")
    if ch.changes:
        lines.append(f"    now:      {ch.value(ch.current)}")
        lines.append(f"    restored: {ch.value(ch.result)}")
    return lines


def describe_parameter(p: ParameterPlan, master: bool = False) -> list[str]:
    name = _label(p.intent.name, master)
    if p.kept_miab:
        return [
            f"{name}: in sync (not put back: the service is gone from master.cf; yours "
            f"goes back once MiaB ships it again; decided with keep-miab)"
        ]
    if p.in_sync and p.current != p.intent.value:
        now = "not set" if p.current is None else repr(p.current)
        return [f"{name}: in sync (MiaB's value {now} stays, decided with keep-miab)"]
    if p.in_sync:
        return [f"{name}: in sync"]
    now = "not set" if p.current is None else repr(p.current)
    want = "removed" if p.intent.value is None else repr(p.intent.value)
    lines = [f"{name}: customisation missing (now {now}, yours {want})"]
    lines += [f"    main.cf {g.describe()}" for g in p.glued]
    return lines


def describe(plan: RestorePlan) -> list[str]:
    lines: list[str] = []
    for ch in plan.chains + plan.master_chains:
        lines += describe_chain(ch)
    for p in plan.parameters:
        lines += describe_parameter(p)
    for p in plan.master_options:
        lines += describe_parameter(p, master=True)
    for t in plan.tables:
        if t.problem:
            lines.append(f"table {t.intent.path}: {t.problem} (rebuilt from customizations.yaml)")
    for name, gl, _ in plan.glued_uncaptured:
        for g in gl:
            lines.append(f"{name}: glued continuation lines: main.cf {g.describe()}")
    for note in plan.notes:
        lines.append(f"note: {note}")
    for c in plan.decided:
        if c.operation is None:  # the service or option is gone: the whole entry waits
            lines.append(
                f"decided ({plan.policy.value if plan.policy else '?'}): master.cf "
                f"{c.parameter}: {GONE_DECIDED.get(c.kind, 'decided')}; recorded, "
                "not asked again"
            )
            continue
        decided = next(
            (
                o
                for ch in plan.chains + plan.master_chains
                for o in ch.operations
                if o == c.operation and o.decided()
            ),
            None,
        )
        what = decided.decided() if decided is not None else "decided"
        lines.append(
            f"decided ({plan.policy.value if plan.policy else '?'}): {c.parameter}: "
            f"{c.operation}: {what}; recorded, not asked again"
        )
    if plan.conflicts:
        if plan.policy is None:
            lines.append("conflicts (pfwizard does not guess):")
        elif plan.left_open:
            lines.append(
                f"conflicts left open ({plan.policy.value}; still recorded, decide later):"
            )
        else:
            lines.append(f"conflicts ({plan.policy.value}: MiaB's value wins):")
        lines += [f"    {c}" for c in plan.conflicts]
    return lines
