"""Plain-text account of a rebase plan, shared by ``status``, ``restore`` and ``apply``."""

from __future__ import annotations

from pfwizard.chain import Chain
from pfwizard.intent.rebase import ChainPlan, ChainState, RestorePlan


def _items(chain: Chain | None) -> list[str]:
    return [] if chain is None else [str(i) for i in chain.items]


def miab_changes(ch: ChainPlan) -> list[str]:
    """What MiaB changed under the customisation (its value now against the base)."""
    base, now = _items(ch.base), _items(ch.miab_now)
    out = [f"MiaB added: {i}" for i in now if i not in base]
    out += [f"MiaB dropped: {i}" for i in base if i not in now]
    return out


def describe(plan: RestorePlan) -> list[str]:
    lines: list[str] = []
    for ch in plan.chains:
        states = ch.states()
        lines.append(f"{ch.parameter}: {'; '.join(s.value for s in states)}")
        if states == [ChainState.IN_SYNC]:
            continue
        if ChainState.BASE_CHANGED in states:
            lines += [f"    {m}" for m in miab_changes(ch)]
        for g in ch.glued:
            lines.append(f"    main.cf {g.describe()}")
        if ch.changes:
            lines.append(f"    now:      {ch.current.render()}")
            lines.append(f"    restored: {ch.result.render()}")
    for p in plan.parameters:
        if p.in_sync:
            lines.append(f"{p.intent.name}: in sync")
            continue
        now = "not set" if p.current is None else repr(p.current)
        want = "removed" if p.intent.value is None else repr(p.intent.value)
        lines.append(f"{p.intent.name}: customisation missing (now {now}, yours {want})")
        for g in p.glued:
            lines.append(f"    main.cf {g.describe()}")
    for t in plan.tables:
        if t.problem:
            lines.append(f"table {t.intent.path}: {t.problem} (rebuilt from customizations.yaml)")
    for name, gl, _ in plan.glued_uncaptured:
        for g in gl:
            lines.append(f"{name}: glued continuation lines: main.cf {g.describe()}")
    for note in plan.notes:
        lines.append(f"note: {note}")
    if plan.conflicts:
        lines.append("conflicts (pfwizard does not guess):")
        lines += [f"    [{c.kind.value}] {c}" for c in plan.conflicts]
    return lines
