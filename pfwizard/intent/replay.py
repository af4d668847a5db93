"""Replaying the admin's operations onto a restriction list, item by item.

The same code computes the admin's target (operations on the base they were made on) and the
rebase (the same operations on whatever MiaB wrote since). Where an operation cannot be placed
without guessing, it is not applied and a ``Conflict`` says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from pfwizard.chain import Chain, Item
from pfwizard.intent.model import Operation, OpKind


class ConflictKind(str, Enum):
    ANCHOR_GONE = "anchor-gone"
    """The item the admin's change is placed against is no longer in MiaB's list."""
    MIAB_SHIPS_ITEM = "miab-ships-item"
    """MiaB now ships the admin's item itself, at a place the admin's anchor contradicts."""
    REMOVED_CHANGED = "removed-changed"
    """The admin removed an item that MiaB has since changed."""
    CHANGED_CHANGED = "changed-changed"
    """The admin changed an item's argument and MiaB changed it differently."""
    ITEM_GONE = "item-gone"
    """The item the admin moved or changed is no longer in MiaB's list."""
    PARAMETER_CHANGED = "parameter-changed"
    """MiaB (or a hand edit) changed a parameter the admin had set."""
    GLUED_UNCAPTURED = "glued-uncaptured"
    """Glued continuation lines with no recorded customisation to put back."""
    SERVICE_GONE = "service-gone"
    """The master.cf service the admin's option was on is no longer there."""
    OPTION_GONE = "option-gone"
    """MiaB no longer sets the master.cf option the admin's operations were made on."""


@dataclass(frozen=True)
class Conflict:
    """An operation that cannot be replayed as made onto what MiaB wrote."""

    kind: ConflictKind
    parameter: str
    message: str
    operation: Operation | None = None
    new_form: Item | None = None
    """removed-changed, changed-changed: the form of the item MiaB ships now."""

    def __str__(self) -> str:
        return f"{self.parameter}: {self.message}"


@dataclass
class Replay:
    """A list with the admin's operations replayed onto MiaB's value."""

    result: Chain
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    conflicting: list[Operation] = field(default_factory=list)


def _index(items: list[Item], item: Item) -> int | None:
    try:
        return items.index(item)
    except ValueError:
        return None


def _same_name(items: list[Item], name: str) -> list[Item]:
    return [i for i in items if i.name == name]


def _forms(items: list[Item], item: Item) -> list[Item]:
    """Other forms of ``item`` in ``items``: the same restriction on the same list, with
    another reply filter (``zen.spamhaus.org`` → ``zen.spamhaus.org=127.0.0.[2..11]``).
    ``reject_rbl_client bl.spamcop.net`` is not a form of ``... zen.spamhaus.org``."""

    def target(i: Item) -> str | None:
        return None if i.arg is None else i.arg.split("=", 1)[0]

    return [i for i in items if i.name == item.name and i != item and target(i) == target(item)]


class _Replayer:
    def __init__(
        self, parameter: str, start: Chain, base: Chain | None, miab_now: Chain | None
    ) -> None:
        self.parameter = parameter
        self.start = list(start.items)
        self.base = list(base.items) if base is not None else []
        self.miab = list(miab_now.items) if miab_now is not None else None
        self.items = list(start.items)
        self.out = Replay(Chain([], start.separator))

    def conflict(
        self, kind: ConflictKind, op: Operation, msg: str, new_form: Item | None = None
    ) -> None:
        self.out.conflicts.append(Conflict(kind, self.parameter, msg, op, new_form))
        self.out.conflicting.append(op)

    def changed_forms(self, anchor: Item) -> list[Item]:
        """The items of MiaB's list that can be ``anchor`` with its argument changed: the same
        restriction on the same target (postgrey's ``check_policy_service`` is not Dovecot's
        quota service on another port, however alone it is in the list)."""
        return [
            i
            for i in _same_name(self.start, anchor.name)
            if i == anchor or i in _forms([i], anchor)
        ]

    def anchor(self, anchor: Item) -> tuple[int | None, str | None]:
        """Index of the anchor; when MiaB changed only its argument (one item of that name in
        the list it wrote), that item, with a note saying so."""
        k = _index(self.items, anchor)
        if k is not None:
            return k, None
        same = self.changed_forms(anchor)
        if len(same) == 1 and same[0] in self.items:
            return self.items.index(same[0]), (
                f"{self.parameter}: anchor '{anchor}' is now '{same[0]}' (MiaB changed its "
                f"argument); placed against it"
            )
        return None, None

    def target_index(self, op: Operation) -> int | None:
        """Where ``op.item`` goes in ``self.items`` (item not in the list); None: anchor gone."""
        if op.before is not None or op.after is not None:
            anchor = op.before if op.before is not None else op.after
            assert anchor is not None
            k, note = self.anchor(anchor)
            if k is None:
                return None
            if note:
                self.out.notes.append(note)
            return k if op.before is not None else k + 1
        return 0 if op.at == "start" else len(self.items)

    def satisfied(self, op: Operation, k: int) -> bool:
        """Is the item at index ``k`` where ``op`` wants it?"""
        anchor = op.before if op.before is not None else op.after
        if anchor is None:
            return True
        j = _index(self.items, anchor)
        if j is None:
            same = self.changed_forms(anchor)
            if len(same) == 1 and same[0] in self.items:
                j = self.items.index(same[0])
        if j is None:
            return False
        return k < j if op.before is not None else k > j

    def decided(self, op: Operation, why: str) -> None:
        """``op`` cannot be placed, and keep-miab was decided for it: MiaB's list stays."""
        self.out.notes.append(
            f"{self.parameter}: {op.describe()}: not placed, {why} (decided: keep-miab)"
        )

    def place(self, op: Operation) -> None:
        """insert/move: put ``op.item`` at its anchor (or report why not)."""
        k = _index(self.items, op.item)
        if k is not None and op.kind is OpKind.INSERT and op.kept_miab:
            if not self.satisfied(op, k):  # MiaB ships it at its own place: that place stays
                self.decided(op, f"MiaB ships '{op.item}' at its own place")
            return
        if k is not None and self.satisfied(op, k):
            if (
                op.kind is OpKind.INSERT
                and self.miab is not None
                and op.item in self.miab
                and op.item not in self.base
            ):
                self.out.notes.append(
                    f"{self.parameter}: '{op.item}' is already where you "
                    f"wanted it (MiaB ships it now, or it was added by "
                    f"hand); nothing to do"
                )
            return
        if (
            k is not None
            and op.kind is OpKind.INSERT
            and self.miab is not None
            and op.item in self.miab
            and op.item not in self.base
        ):
            self.conflict(
                ConflictKind.MIAB_SHIPS_ITEM,
                op,
                f"MiaB now ships '{op.item}' itself, but not where you put it ({op.describe()})",
            )
            return
        if k is None and op.kind is OpKind.MOVE:
            if op.kept_miab:
                self.decided(op, f"'{op.item}' is no longer in the list")
            else:
                self.item_missing(op)
            return
        rest = [i for i in self.items if i != op.item] if k is not None else self.items
        saved, self.items = self.items, rest
        where = self.target_index(op)
        if where is None:
            self.items = saved
            anchor = op.before if op.before is not None else op.after
            if op.kept_miab:
                self.decided(op, f"'{anchor}' is no longer in the list")
                return
            self.conflict(
                ConflictKind.ANCHOR_GONE,
                op,
                f"cannot {op.describe()}: '{anchor}' is no longer in the list",
            )
            return
        self.items.insert(where, op.item)

    def item_missing(self, op: Operation) -> None:
        same = _same_name(self.items, op.item.name)
        if same:
            self.conflict(
                ConflictKind.ITEM_GONE,
                op,
                f"cannot {op.describe()}: the list now has '{same[0]}' instead",
            )
        else:
            self.conflict(
                ConflictKind.ITEM_GONE,
                op,
                f"cannot {op.describe()}: '{op.item}' is no longer in the list",
            )

    def remove(self, op: Operation) -> None:
        k = _index(self.items, op.item)
        if k is not None:
            del self.items[k]
        if op.also_remove is not None and op.also_remove in self.items:
            self.items.remove(op.also_remove)  # decided: MiaB's new form goes too
            return
        if k is not None or (op.keep is not None and op.keep in self.items):
            return
        # Another form of the same restriction that was not there when the admin removed
        # theirs (or nobody knows: no base): MiaB changed it, and pfwizard does not guess
        # whether the removal was meant for it too.
        same = [i for i in _forms(self.items, op.item) if i not in self.base]
        if same:
            self.conflict(
                ConflictKind.REMOVED_CHANGED,
                op,
                f"you removed '{op.item}'; MiaB now ships '{same[0]}' instead: "
                f"remove that too (remove-new) or keep it (keep-miab)?",
                same[0],
            )
            return
        self.out.notes.append(f"{self.parameter}: '{op.item}' is gone already")

    def change(self, op: Operation) -> None:
        assert op.to is not None
        if op.to in self.items:
            return
        k = _index(self.items, op.item)
        if k is not None:
            self.items[k] = op.to
            return
        if op.keep is not None and op.keep in self.items:
            return  # decided: MiaB's new form stays
        same = _forms(self.items, op.item)
        if len(same) >= 1:
            self.conflict(
                ConflictKind.CHANGED_CHANGED,
                op,
                f"you changed '{op.item}' to '{op.to}'; MiaB now ships "
                f"'{same[0]}' (keep-miab keeps it)",
                same[0],
            )
        elif op.kept_miab:
            self.decided(op, f"'{op.item}' is no longer in the list")
        else:
            self.item_missing(op)

    def run(self, ops: list[Operation]) -> Replay:
        for op in ops:
            if op.kind is OpKind.REMOVE:
                self.remove(op)
            elif op.kind is OpKind.CHANGE:
                self.change(op)
            else:
                self.place(op)
        self.out.result = Chain(self.items, self.out.result.separator)
        return self.out


def replay(
    parameter: str,
    start: Chain,
    ops: list[Operation],
    *,
    base: Chain | None = None,
    miab_now: Chain | None = None,
) -> Replay:
    """Apply ``ops`` to ``start``. ``base``: the list the ops were made on; ``miab_now``: what
    MiaB ships now (enables the "MiaB ships the same item" check)."""
    return _Replayer(parameter, start, base, miab_now).run(ops)
