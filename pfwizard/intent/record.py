"""Recording what the admin changed, as intent (the wizard calls these after every apply).

``diff_chains`` turns "the list before" and "the list after" into operations anchored on MiaB's
items (insert X before the next item MiaB shipped, ...), so they can be replayed onto whatever
MiaB ships next.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pfwizard.chain import Chain, Item
from pfwizard.intent.model import (
    ChainIntent,
    Operation,
    OpKind,
    ParameterIntent,
    TableIntent,
    is_chain_parameter,
    is_list_option,
)
from pfwizard.intent.replay import replay
from pfwizard.intent.store import IntentFile
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf


def _lcs(a: list[Item], b: list[Item]) -> list[Item]:
    """Longest common subsequence (lists are a few dozen items at most)."""
    n, m = len(a), len(b)
    dp = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            dp[i][j] = dp[i + 1][j + 1] + 1 if a[i] == b[j] else max(dp[i + 1][j], dp[i][j + 1])
    out: list[Item] = []
    i = j = 0
    while i < n and j < m:
        if a[i] == b[j]:
            out.append(a[i])
            i += 1
            j += 1
        elif dp[i + 1][j] >= dp[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def _anchored(kind: OpKind, item: Item, target: list[Item], k: int, fixed: set[Item]) -> Operation:
    """``item`` (at index ``k`` of the target) placed against a fixed neighbour: the next one
    (before X) or the previous one (after X), preferring one without an argument (MiaB changes
    arguments, e.g. v68's return-code filters, more often than it drops restrictions)."""
    nxt = next((i for i in target[k + 1 :] if i in fixed), None)
    prev = next((i for i in reversed(target[:k]) if i in fixed), None)
    if nxt is not None and (nxt.arg is None or prev is None or prev.arg is not None):
        return Operation(kind, item, before=nxt)
    if prev is not None:
        return Operation(kind, item, after=prev)
    return Operation(kind, item, at="end")


def diff_chains(parameter: str, base: Chain, target: Chain) -> list[Operation]:
    """Operations that turn ``base`` into ``target`` (replaying them gives ``target``)."""
    b, t = list(base.items), list(target.items)
    ops: list[Operation] = []
    # Same restriction, another argument (v68's zen.spamhaus.org=127.0.0.[2..11]): a change.
    for name in dict.fromkeys(i.name for i in b):
        gone = [i for i in b if i.name == name and i not in t]
        new = [i for i in t if i.name == name and i not in b]
        if len(gone) == 1 and len(new) == 1:
            ops.append(Operation(OpKind.CHANGE, gone[0], to=new[0]))
            b = [new[0] if i == gone[0] else i for i in b]
    for item in b:
        if item not in t:
            ops.append(Operation(OpKind.REMOVE, item))
    b = [i for i in b if i in t]
    stay = _lcs(b, [i for i in t if i in b])
    fixed = set(stay)
    for k, item in enumerate(t):
        if item in b and item not in fixed:
            ops.append(_anchored(OpKind.MOVE, item, t, k, fixed))
    common = set(b)
    for k, item in enumerate(t):
        if item not in common:
            op = _anchored(OpKind.INSERT, item, t, k, common)
            if op.after is not None and t[k - 1] != op.after:
                # Several new items in a row placed after one of MiaB's: each goes after the
                # one before it (inserted just before), so replay keeps their order.
                op = Operation(OpKind.INSERT, item, after=t[k - 1])
            ops.append(op)
    if replay(parameter, base, ops).result.items != t:
        # Duplicated items can defeat the anchors: say it plainly as "the whole list".
        ops = [Operation(OpKind.REMOVE, i) for i in dict.fromkeys(base.items)]
        ops += [Operation(OpKind.INSERT, i, at="end") for i in t]
    return ops


def _with_reasons(ops: list[Operation], old: list[Operation], why: str | None) -> list[Operation]:
    """Keep the reason already recorded for an operation; give ``why`` to the new ones."""
    out = []
    for op in ops:
        prev = next((o for o in old if o == op), None)
        reason = prev.why if prev is not None else why
        # A decision recorded on the operation (keep / also_remove MiaB's new form,
        # decided: keep-miab) stays.
        new = Operation(op.kind, op.item, op.before, op.after, op.at, op.to, reason)
        out.append(new.with_decision_of(prev) if prev is not None else new)
    return out


def record_chain(
    store: IntentFile,
    parameter: str,
    before: Chain | None,
    after: Chain,
    why: str | None = None,
    section: str = "chains",
) -> ChainIntent | None:
    """The admin changed ``parameter`` from ``before`` to ``after``: update the intent.

    The base stays the one recorded first (MiaB's value); operations are recomputed from it,
    so undoing a change removes its operation. Returns None when nothing is left to keep.
    ``section="services"``: a master.cf list option, ``parameter`` its key.
    """
    found = getattr(store.model, section).get(parameter)
    existing = found if isinstance(found, ChainIntent) and found.has_base else None
    whole = store.model.parameters.get(parameter) if section == "chains" else None
    if existing is not None:
        base = existing.base
    elif isinstance(whole, ParameterIntent) and whole.has_base:
        # Set as a whole value before (a profile's parameters:): one record, on MiaB's value.
        base = Chain.parse(whole.base) if whole.base is not None else None
    else:
        base = before
    if why is None and isinstance(whole, ParameterIntent):
        why = whole.why
    ops = diff_chains(parameter, base or Chain([]), after)
    if not ops:
        store.remove(section, parameter)
        if section == "chains":
            store.remove("parameters", parameter)
        return None
    ci = ChainIntent(
        parameter,
        base,
        _with_reasons(ops, found.operations if isinstance(found, ChainIntent) else [], why),
    )
    store.set_chain(ci, section)
    return ci


def record_parameter(
    store: IntentFile,
    name: str,
    before: str | None,
    after: str | None,
    why: str | None = None,
    section: str = "parameters",
) -> ParameterIntent | None:
    found = getattr(store.model, section).get(name)
    existing = found if isinstance(found, ParameterIntent) else None
    listed = store.model.chains.get(name) if section == "parameters" else None
    if existing is not None and existing.has_base:
        base: str | None = existing.base
    elif isinstance(listed, ChainIntent) and listed.has_base:
        # Recorded as list operations before: one record, on MiaB's value.
        base = listed.base.render() if listed.base is not None else None
    else:
        base = before
    if after == base:
        store.remove(section, name)
        if section == "parameters":
            store.remove("chains", name)
        return None
    reason = why if why is not None else (existing.why if existing else None)
    pi = ParameterIntent(name, after, base, True, reason)
    store.set_parameter(pi, section)
    return pi


def record_table(
    store: IntentFile, path: str, map_type: str, content: str, why: str | None = None
) -> TableIntent:
    existing = store.model.tables.get(path)
    reason = why if why is not None else (existing.why if existing else None)
    ti = TableIntent(path, map_type, content, reason)
    store.set_table(ti)
    return ti


def is_restriction_list(name: str) -> bool:
    """Parameters kept as operations (the restriction and milter lists); others as whole
    values.  Lists MiaB may extend in a later release (v0.07 added OpenDMARC's milter) are
    among them, so MiaB's additions survive a restore."""
    return is_chain_parameter(name)


def record_service_option(
    store: IntentFile, key: str, before: str | None, after: str | None, why: str | None = None
) -> None:
    """The admin changed master.cf option ``key`` (``service/type/option``) from ``before``
    to ``after`` (None: not set)."""
    if is_list_option(key) and after is not None:
        prior = Chain.parse(before) if before is not None else None
        record_chain(store, key, prior, Chain.parse(after), why, section="services")
    else:
        record_parameter(store, key, before, after, why, section="services")


def record_change(
    store: IntentFile,
    before: MainCf,
    params: Mapping[str, str | None],
    tables: Iterable[tuple[str, str | None, str]] = (),
    reasons: Mapping[str, str] | None = None,
    *,
    master_before: MasterCf | None = None,
    master_params: Mapping[str, str | None] | None = None,
) -> IntentFile:
    """Record one successful apply (the engine's change set) in customizations.yaml.

    ``before``: main.cf as it was before the apply; ``params``: name -> new value (None:
    removed); ``tables``: (path, content or None for deleted, map type); ``reasons``: optional
    "why" per parameter, master.cf key or table path; ``master_params``: the change set's
    master.cf options (``service/type/option`` -> value, None: removed), ``master_before``
    master.cf before the apply. The caller hands ``store.record()`` to the engine with the
    change (or saves).
    """
    why = reasons or {}
    for key, value in (master_params or {}).items():
        old = master_before.get(key) if master_before is not None else None
        record_service_option(store, key, old, value, why.get(key))
    for name, value in params.items():
        old = before.get(name)
        if is_restriction_list(name) and value is not None:
            prior = Chain.parse(old) if old is not None else None
            record_chain(store, name, prior, Chain.parse(value or ""), why.get(name))
        else:
            record_parameter(store, name, old, value, why.get(name))
    for path, content, map_type in tables:
        if content is None:
            store.remove("tables", str(path))
        else:
            record_table(store, str(path), map_type, content, why.get(str(path)))
    return store
