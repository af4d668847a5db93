"""Customisations as intent: what the admin changed, relative to MiaB's base, not a copy of it.

A chain customisation is a list of operations on the restriction list MiaB shipped (its
``base``): insert X before/after Y, remove X, move X before/after Y, change X to X'. Replayed
onto whatever MiaB writes next, they put the admin's items back where they belong and keep
everything MiaB added or changed meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum

from pfwizard.catalogue import LIST_PARAMS
from pfwizard.chain import Chain, Item

SCHEMA_VERSION = 1

CHAIN_PARAMETERS = frozenset(
    {*LIST_PARAMS.values(), "smtpd_etrn_restrictions", "smtpd_milters", "non_smtpd_milters"}
)
"""The main.cf lists kept as operations (``chains:``): the restriction lists and the milter
lists.  A list edit of any other parameter is refused: ``header_checks = permit`` written
that way stopped mail intake (cleanup died on it)."""

TABLE_LIST_SUFFIXES = ("_checks", "_maps")
"""Options whose items are lookup tables (``header_checks=pcre:A,pcre:B``)."""


def is_chain_parameter(name: str) -> bool:
    return name in CHAIN_PARAMETERS


def takes_tables(name: str) -> bool:
    return name.endswith(TABLE_LIST_SUFFIXES)


def is_list_option(key: str) -> bool:
    """master.cf options kept as operations (``services:``, keyed ``service/type/option``):
    the restriction and milter lists, and the lookup-table lists."""
    option = key.rsplit("/", 1)[-1]
    return is_chain_parameter(option) or takes_tables(option)


class OpKind(str, Enum):
    INSERT = "insert"
    REMOVE = "remove"
    MOVE = "move"
    CHANGE = "change"


@dataclass(frozen=True)
class Operation:
    """One edit of a restriction list, relative to the items around it."""

    kind: OpKind
    item: Item
    before: Item | None = None
    """Anchor: the item goes right before this one (insert, move)."""
    after: Item | None = None
    """Anchor: the item goes right after this one (insert, move)."""
    at: str | None = None
    """``start`` or ``end`` for an insert without an anchor (default ``end``)."""
    to: Item | None = None
    """change: the new form of ``item`` (same restriction, another argument)."""
    why: str | None = field(default=None, compare=False)
    line: int | None = field(default=None, compare=False)
    """1-based line in customizations.yaml, for messages."""
    keep: Item | None = field(default=None, compare=False)
    """A decided conflict (remove, change): MiaB's new form of ``item``, which stays.  Not
    part of the operation's identity: the same operation in a profile finds the decision."""
    also_remove: Item | None = field(default=None, compare=False)
    """A decided conflict (remove): MiaB's new form of ``item``, removed as well."""
    kept_miab: bool = field(default=False, compare=False)
    """A decided conflict (insert, move, change; ``decided: keep-miab``): while the operation
    cannot be placed as made (its anchor or item is gone, or MiaB ships the item itself at
    another place), MiaB's list stays as it is and nobody is asked again.  Once it can be
    placed again (the anchor is back), it is."""

    def decided(self) -> str | None:
        """What was decided about MiaB's new form of the item, in words (None: nothing)."""
        if self.also_remove is not None:
            return f"MiaB's new form '{self.also_remove}' is removed too"
        if self.keep is not None:
            return f"MiaB's new form '{self.keep}' stays"
        if self.kept_miab:
            return "MiaB's list stays as MiaB ships it while this cannot be placed"
        return None

    def with_decision_of(self, other: Operation) -> Operation:
        """This operation carrying ``other``'s recorded decision (the same operation)."""
        return replace(
            self, keep=other.keep, also_remove=other.also_remove, kept_miab=other.kept_miab
        )

    def describe(self) -> str:
        if self.kind is OpKind.CHANGE:
            return f"change {self.item} to {self.to}"
        where = ""
        if self.before is not None:
            where = f" before {self.before}"
        elif self.after is not None:
            where = f" after {self.after}"
        elif self.kind is OpKind.INSERT:
            where = " at the start" if self.at == "start" else " at the end"
        return f"{self.kind.value} {self.item}{where}"

    def __str__(self) -> str:
        return self.describe()


@dataclass
class ChainIntent:
    """The admin's edits of one restriction list (``smtpd_sender_restrictions``, ...)."""

    parameter: str
    base: Chain | None
    """MiaB's value the operations were made on; None: the parameter was not set."""
    operations: list[Operation] = field(default_factory=list)
    line: int | None = None
    has_base: bool = True
    """False: no ``base`` given (a hand-written profile): the operations are replayed onto
    MiaB's value now, and nothing can be said about what MiaB changed under them."""
    kept_miab: bool = False
    """master.cf only, a decided conflict (``decided: keep-miab``): while the service is gone
    from master.cf, or MiaB no longer sets the option the operations were made on, master.cf
    stays as MiaB ships it and nobody is asked; once MiaB ships it again, the operations are
    replayed onto it again."""


@dataclass
class ParameterIntent:
    """A parameter pfwizard set to a whole value (``smtpd_helo_required = yes``)."""

    name: str
    value: str | None
    """None: pfwizard removed the parameter (Postfix's default applies)."""
    base: str | None = None
    has_base: bool = False
    """Whether ``base`` (the value before the change; None = not set) is known."""
    why: str | None = None
    line: int | None = None
    keep: str | None = None
    has_keep: bool = False
    """A decided conflict (``keep: VALUE``, written by ``--on-conflict=keep-miab``): MiaB
    changed the value under yours, and its value ``keep`` (None: not set) stays. Only that
    exact value: if MiaB changes it again, that is a new conflict."""

    kept_miab: bool = False
    """master.cf only, a decided conflict (``decided: keep-miab``): while the service is gone
    from master.cf, nobody is asked; once MiaB ships the service again, the value goes back."""

    def kept(self, current: str | None) -> bool:
        """Is ``current`` the MiaB value decided to stay?"""
        return self.has_keep and current == self.keep


@dataclass
class TableIntent:
    """A lookup table pfwizard owns; its content is kept so a lost table can be rebuilt."""

    path: str
    map_type: str
    content: str
    why: str | None = None
    line: int | None = None

    @property
    def reference(self) -> str:
        return f"{self.map_type}:{self.path}"


ServiceIntent = ChainIntent | ParameterIntent
"""A master.cf option: a list option as operations (its ``parameter`` is the key
``service/type/option``), any other as a whole value (its ``name`` is the key)."""


@dataclass
class Customisations:
    """Everything customizations.yaml records: the admin's changes to MiaB's values."""

    version: int = SCHEMA_VERSION
    miab_release: str | None = None
    chains: dict[str, ChainIntent] = field(default_factory=dict)
    parameters: dict[str, ParameterIntent] = field(default_factory=dict)
    tables: dict[str, TableIntent] = field(default_factory=dict)
    services: dict[str, ServiceIntent] = field(default_factory=dict)
    """master.cf ``-o`` options keyed ``service/type/option`` (``postconf -P`` notation):
    list options (``authclean/unix/header_checks``) as operations on MiaB's value, like the
    chains; the others as a whole value, like the parameters."""

    def is_empty(self) -> bool:
        return not (self.chains or self.parameters or self.tables or self.services)
