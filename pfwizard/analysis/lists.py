"""Restriction lists resolved the way smtpd runs them: ``$name`` references expanded,
restriction classes (``smtpd_restriction_classes``) opened in place, each step traced back to
the entry the admin wrote (its index in the list as written).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pfwizard import catalogue
from pfwizard.analysis.params import Params
from pfwizard.catalogue import Restriction
from pfwizard.chain import Chain, Item, tokens

MAX_CLASS_DEPTH = 10


class StepKind(str, Enum):
    RESTRICTION = "restriction"
    CLASS = "class"
    TABLE = "table"
    """A bare ``type:table``: smtpd reads it as the list's default check_*_access."""
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Step:
    """One restriction as smtpd evaluates it, in the order it does."""

    list_key: str
    index: int
    """Position of the entry as written in the list (what the wizard shows)."""
    written: Item
    """That entry as written (may be a ``$parameter`` or a class name)."""
    item: Item
    """What smtpd runs at this step."""
    kind: StepKind
    restriction: Restriction | None
    via: tuple[str, ...] = ()
    """Restriction classes and ``$parameters`` this step came through."""

    @property
    def parameter(self) -> str:
        return catalogue.LIST_PARAMS[self.list_key]

    @property
    def entry(self) -> str:
        return self.written.render()

    @property
    def where(self) -> str:
        """'(via class foo)' when the step sits inside a class or expansion, else ''."""
        return f" (inside {' → '.join(self.via)})" if self.via else ""


def class_names(params: Params) -> list[str]:
    return tokens(params.expanded("smtpd_restriction_classes"))


def classes(params: Params) -> dict[str, str]:
    """Restriction class name → its (unexpanded) value; undefined classes map to ''."""
    return {name: params.get(name) or "" for name in class_names(params)}


def _items_with_origin(raw: str, params: Params) -> list[tuple[int, Item]]:
    """Items smtpd builds from ``raw`` (expanded), each with the index of the written entry."""
    written = Chain.parse(raw).items
    origin: list[int] = []
    for k, item in enumerate(written):
        origin.extend([k] * (1 if item.arg is None else 2))
    expanded: list[tuple[int, str]] = []
    for tok, k in zip(tokens(raw), origin, strict=False):
        for word in tokens(params.expand(tok)) if "$" in tok else [tok]:
            expanded.append((k, word))
    out: list[tuple[int, Item]] = []
    i = 0
    while i < len(expanded):
        k, name = expanded[i]
        if catalogue.argument_count(name) and i + 1 < len(expanded):
            out.append((k, Item(name, expanded[i + 1][1])))
            i += 2
        else:
            out.append((k, Item(name)))
            i += 1
    return out


def resolve(list_key: str, params: Params) -> list[Step]:
    """Every step smtpd may run for list ``list_key``, in order."""
    raw = params.get(catalogue.LIST_PARAMS[list_key]) or ""
    written = Chain.parse(raw).items
    return _resolve(list_key, raw, params, classes(params), written, (), 0, None)


def _resolve(
    list_key: str,
    raw: str,
    params: Params,
    cls: dict[str, str],
    written: list[Item],
    via: tuple[str, ...],
    depth: int,
    fixed_index: int | None,
) -> list[Step]:
    steps: list[Step] = []
    for k, item in _items_with_origin(raw, params):
        index = k if fixed_index is None else fixed_index
        w = written[k] if fixed_index is None else written[0]
        here = via
        if fixed_index is None and "$" in written[k].render():
            here = (*via, written[k].name if "$" in written[k].name else written[k].render())
        r = catalogue.lookup(item.name)
        if r is not None:
            steps.append(Step(list_key, index, w, item, StepKind.RESTRICTION, r, here))
        elif item.name in cls:
            steps.append(Step(list_key, index, w, item, StepKind.CLASS, None, here))
            if depth < MAX_CLASS_DEPTH:
                inner = [w] if fixed_index is None else written
                steps.extend(
                    _resolve(
                        list_key,
                        cls[item.name],
                        params,
                        cls,
                        inner,
                        (*here, item.name),
                        depth + 1,
                        index,
                    )
                )
        elif catalogue.is_table_reference(item.name):
            steps.append(Step(list_key, index, w, item, StepKind.TABLE, None, here))
        else:
            steps.append(Step(list_key, index, w, item, StepKind.UNKNOWN, None, here))
    return steps


def resolve_value(outer: Step, value: str, params: Params, via: str) -> list[Step]:
    """The steps smtpd runs for a restriction list found somewhere else (an access table's
    result, e.g. ``permit_mynetworks, reject``), traced back to ``outer``'s entry."""
    return _resolve(
        outer.list_key,
        value,
        params,
        classes(params),
        [outer.written],
        (*outer.via, via),
        1,
        outer.index,
    )
