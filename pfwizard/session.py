"""The wizard's state, without any UI: what the admin has changed so far and what it means.

A ``Session`` holds the main.cf as read, the values the admin is editing (per parameter), the
table files the admin is writing, an undo stack and the findings the analyser gives on the
result.  Nothing is written to disk here: ``changeset()`` hands the whole edit to the apply
engine, which plans, backs up, writes, checks and reloads.

It keeps edits and undo, nothing else: the answers file is ``pfwizard.wizard.answers``,
recording the change as intent ``pfwizard.wizard.record``, Apply ``pfwizard.wizard.apply``,
milter checks ``pfwizard.milters``, what the catalogue and the table tools say for the
screens ``pfwizard.wizard.restrictions`` and ``pfwizard.wizard.tables``.
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pfwizard import inputs, miab
from pfwizard.chain import Chain, Item
from pfwizard.errors import ConfigError, PfwizardError, ValueRefused
from pfwizard.findings import Finding, Severity
from pfwizard.maincf import MainCf, check_value

if TYPE_CHECKING:
    from pfwizard.engine import ChangeSet, Engine
    from pfwizard.recipes import Proposal

# The engine, tables and intent modules load when first used, not at start-up: the first
# screen of `sudo pfwizard` should come up as fast as Textual allows.

# Where the tables pfwizard creates live (= pfwizard.engine.OWN_TABLE_DIR, kept in step by
# tests/test_session.py without importing the engine at start-up).
OWN_TABLE_DIR = "pfwizard"


def list_of_param() -> dict[str, str]:
    """Which list key (catalogue.LISTS) each restriction parameter is: the catalogue's map,
    read when first asked (``LIST_OF_PARAM`` too), not before the first screen."""
    from pfwizard import catalogue

    return catalogue.PARAM_LISTS


MILTER_LISTS = ("smtpd_milters", "non_smtpd_milters")

# Parameters each wizard stage edits (the stage's dirty flag and findings are about these).
STAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "helo": ("smtpd_helo_required", "smtpd_helo_restrictions", "smtpd_client_restrictions"),
    "sender": ("smtpd_sender_restrictions",),
    "recipient": (
        "smtpd_recipient_restrictions",
        "smtpd_relay_restrictions",
        "smtpd_data_restrictions",
    ),
    "milter": ("smtpd_milters", "non_smtpd_milters", "milter_default_action", "milter_protocol"),
}


@dataclass(frozen=True)
class TableEdit:
    """A lookup table the admin wrote in the wizard (content replaces the file on apply)."""

    path: str
    content: str
    map_type: str


@dataclass
class _Snapshot:
    edits: dict[str, str | None]
    tables: dict[str, TableEdit]
    ops: int
    master: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Session:
    """Everything the wizard knows and has changed; nothing here touches the disk."""

    config_dir: Path
    state_dir: Path
    cf: MainCf
    reload: bool = True
    demo: bool = False
    miab_checkout: Path | None = None
    """MiaB's git checkout (None: $PFWIZARD_MIAB_DIR, else /root/mailinabox or ~/mailinabox)."""
    edits: dict[str, str | None] = field(default_factory=dict)
    tables: dict[str, TableEdit] = field(default_factory=dict)
    master_edits: dict[str, str | None] = field(default_factory=dict)
    """master.cf ``-o`` edits (``service/type/option`` -> value; None removes the override),
    e.g. recipe 5's authclean header_checks."""
    master_before: dict[str, str | None] = field(default_factory=dict)
    """Each edited master.cf option as master.cf had it when first edited (for the intent)."""
    accepted: set[tuple[str, str | None, str | None]] = field(default_factory=set)
    ops: list[dict[str, Any]] = field(default_factory=list)
    """What the admin did, as intent for customizations.yaml (insert/remove/move/...)."""
    _undo: list[_Snapshot] = field(default_factory=list)
    _findings: list[Finding] | None = None

    @classmethod
    def open(
        cls,
        config_dir: str | Path,
        state_dir: str | Path,
        *,
        reload: bool = True,
        demo: bool = False,
        miab_checkout: str | Path | None = None,
    ) -> Session:
        cdir = Path(config_dir)
        cf = MainCf.read(cdir / "main.cf")
        return cls(
            cdir,
            Path(state_dir),
            cf,
            reload=reload,
            demo=demo,
            miab_checkout=miab.find_checkout(miab_checkout),
        )

    # ---- values ----------------------------------------------------------------------------
    def original(self, param: str) -> str | None:
        return self.cf.get(param)

    def value(self, param: str) -> str | None:
        """The value as it will be after apply (None: not set, Postfix's default)."""
        return self.edits[param] if param in self.edits else self.cf.get(param)

    def effective_params(self) -> dict[str, str]:
        params = self.cf.parameters()
        for name, value in self.edits.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        return params

    def chain(self, param: str) -> Chain:
        """A fresh copy of the chain (callers may edit it); parsing is cached per value."""
        items, sep = _parse_chain(self.value(param) or "")
        return Chain(list(items), sep)

    def _checkpoint(self) -> None:
        self._undo.append(
            _Snapshot(dict(self.edits), dict(self.tables), len(self.ops), dict(self.master_edits))
        )
        self._findings = None

    def _store(self, param: str, value: str | None) -> None:
        if value is not None:
            value = check_value(param, value)
        if value == self.cf.get(param):
            self.edits.pop(param, None)
        else:
            self.edits[param] = value

    def set_value(self, param: str, value: str | None) -> None:
        """Set a plain parameter (``smtpd_helo_required``, ``milter_default_action``, ...)."""
        if value is not None:
            check_value(param, value)
        self._checkpoint()
        self._store(param, value)
        self.ops.append({"op": "set", "parameter": param, "value": value})

    def _set_chain(self, param: str, chain: Chain, op: dict[str, Any]) -> None:
        if param not in list_of_param() and param not in MILTER_LISTS:
            # header_checks = permit, written as a "list edit", stopped mail intake.
            raise ValueRefused(
                f"{param} is not a restriction or milter list: list edits on it are refused"
            )
        self._checkpoint()
        self._store(param, chain.render())
        self.ops.append({"parameter": param, **op})

    # ---- chain edits (each one undoable) -----------------------------------------------------
    def move(self, param: str, index: int, delta: int) -> int:
        chain = self.chain(param)
        if not 0 <= index < len(chain):
            return index
        item = chain.items[index]
        new = chain.move(index, delta)
        if new != index:
            self._set_chain(
                param, chain, {"op": "move", "item": item.render(), "to": new, "from": index}
            )
        return new

    def insert(self, param: str, index: int, item: Item) -> int:
        """Insert ``item`` at ``index`` (clamped); returns where it went."""
        _check_item(item)
        chain = self.chain(param)
        index = max(0, min(len(chain), index))
        anchor = chain.items[index].render() if index < len(chain) else None
        chain.items.insert(index, item)
        op: dict[str, Any] = {"op": "insert", "item": item.render()}
        if anchor is not None:
            op["before"] = anchor
        elif index > 0:
            op["after"] = chain.items[index - 1].render()
        self._set_chain(param, chain, op)
        return index

    def remove(self, param: str, index: int) -> Item | None:
        chain = self.chain(param)
        if not 0 <= index < len(chain):
            return None
        item = chain.items.pop(index)
        self._set_chain(param, chain, {"op": "remove", "item": item.render()})
        return item

    def replace(self, param: str, index: int, item: Item) -> None:
        """Change one entry (its argument, usually); validated like an insert."""
        _check_item(item)
        chain = self.chain(param)
        if not 0 <= index < len(chain):
            raise ValueRefused(f"no entry {index + 1} in {param}")
        old = chain.items[index]
        chain.items[index] = item
        self._set_chain(param, chain, {"op": "change", "item": old.render(), "to": item.render()})

    def undo(self) -> bool:
        if not self._undo:
            return False
        snap = self._undo.pop()
        self.edits, self.tables = snap.edits, snap.tables
        self.master_edits = snap.master
        del self.ops[snap.ops :]
        self._findings = None
        return True

    def apply_answer(self, op: Mapping[str, Any]) -> None:
        """One operation from an answers file (``pfwizard.wizard.answers``)."""
        from pfwizard.wizard.answers import apply_op

        apply_op(self, op)

    def revert(self, params: tuple[str, ...]) -> None:
        """Leave these parameters as they were read (Skip); undoable like any edit."""
        if not any(p in self.edits for p in params):
            return
        self._checkpoint()
        for p in params:
            self.edits.pop(p, None)
        self.ops.append({"op": "revert", "parameters": list(params)})

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def set_master_option(self, key: str, value: str | None) -> None:
        """A master.cf ``-o`` override, keyed as ``postconf -P`` names it
        (``authclean/unix/header_checks``); the engine checks the value when it plans."""
        if key not in self.master_before:
            from pfwizard.mastercf import MasterCf  # not needed for the first screen

            self.master_before[key] = MasterCf.of_config_dir(self.config_dir).get(key)
        self._checkpoint()
        self.master_edits[key] = value
        self.ops.append({"op": "master", "key": key, "value": value})

    def prefill(self, proposal: Proposal) -> None:
        """A recipe's proposal into the session: its parameters, master.cf edits and tables,
        as the stages would enter them (each undoable, all recorded as intent)."""
        for name, value in proposal.params.items():
            self.set_value(name, value)
        for key, value in proposal.master_params.items():
            self.set_master_option(key, value)
        for t in proposal.tables:
            if t.content is not None:  # None would delete a table; no recipe proposes that
                self.set_table(str(t.path), t.content, t.map_type)

    # ---- tables ----------------------------------------------------------------------------
    def own_table_path(self, name: str) -> Path:
        return self.config_dir / OWN_TABLE_DIR / name

    def table_text(self, path: str) -> str:
        """The table as it will be: the admin's edit, else the file on disk, else empty."""
        if path in self.tables:
            return self.tables[path].content
        try:
            return inputs.read_bytes(path, inputs.MAX_TABLE_BYTES, what="table").decode(
                "utf-8", errors="replace"
            )
        except ConfigError:
            return ""

    def set_table(self, path: str, content: str, map_type: str) -> None:
        if "\x00" in content:
            raise ValueRefused("a lookup table cannot contain a NUL byte")
        resolved = Path(path).resolve()
        base = self.config_dir.resolve()
        if resolved != base and base not in resolved.parents:
            raise ValueRefused(f"{path} is outside the Postfix configuration directory {base}")
        from pfwizard.engine.changeset import check_table_target

        try:  # said now, in the editor, rather than at Apply: the engine refuses it too
            check_table_target(self.config_dir, Path(path))
        except PfwizardError as exc:
            raise ValueRefused(str(exc)) from None
        if content and not content.endswith("\n"):
            content += "\n"
        self._checkpoint()
        self.tables[path] = TableEdit(path, content, map_type)
        self.ops.append({"op": "table", "path": path, "type": map_type})

    # ---- findings --------------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        """The analyser's findings on the config as it will be (recomputed after each edit)."""
        if self._findings is None:
            found = analyse_params(
                self.effective_params(),
                self.config_dir,
                tables={p: t.content for p, t in self.tables.items()},
            )
            pending = tuple(self.tables)
            # A table the wizard is about to write is not "missing": it will exist after apply.
            self._findings = [
                f
                for f in found
                if not (
                    pending
                    and "table" in f.code
                    and any(p in f.message or p in (f.entry or "") for p in pending)
                )
            ]
        return self._findings

    def findings_for(self, params: tuple[str, ...]) -> list[Finding]:
        return [f for f in self.findings() if f.parameter in params or f.parameter is None]

    @staticmethod
    def _key(f: Finding) -> tuple[str, str | None, str | None]:
        return (f.code, f.parameter, f.entry)

    def accept(self, finding: Finding) -> bool:
        """Knowingly accept a danger finding; refused for findings Postfix can't live with."""
        if not finding.acceptable:
            return False
        self.accepted.add(self._key(finding))
        return True

    def is_accepted(self, finding: Finding) -> bool:
        return self._key(finding) in self.accepted

    def blocking(self, params: tuple[str, ...] | None = None) -> list[Finding]:
        """Danger findings not (or not acceptably) accepted: Next/Apply stay blocked."""
        found = self.findings() if params is None else self.findings_for(params)
        return [f for f in found if f.severity is Severity.DANGER and not self.is_accepted(f)]

    # ---- what will be written ----------------------------------------------------------------
    def dirty(self, stage: str) -> bool:
        params = STAGE_PARAMS.get(stage, ())
        if any(p in self.edits for p in params):
            return True
        return stage == "tables" and bool(self.tables)

    @property
    def changed(self) -> bool:
        return bool(self.edits or self.tables or self.master_edits)

    def summary(self) -> str:
        parts = [f"{p}" for p in sorted(self.edits)]
        parts += [Path(t).name for t in sorted(self.tables)]
        parts += [f"master.cf {k}" for k in sorted(self.master_edits)]
        return "wizard: " + (", ".join(parts) if parts else "no change")

    def changeset(self) -> ChangeSet:
        return make_changeset(
            summary=self.summary(),
            params=dict(self.edits),
            tables=[(t.path, t.content, t.map_type) for t in self.tables.values()],
            intent=list(self.ops),
            master_params=dict(self.master_edits),
        )

    def engine(self) -> Engine:
        """The apply engine for this config; its analyser gate lets through exactly the
        findings the admin accepted in the wizard (never an unacceptable one)."""
        from pfwizard.engine import Engine

        return Engine(self.config_dir, self.state_dir, reload=self.reload, gate=self._gate)

    def _gate(self, cf: MainCf, config_dir: Path) -> list[Finding]:
        from pfwizard import analyser

        found = analyser.analyse(cf, config_dir)
        return [
            f
            for f in found
            if not (f.acceptable and self.is_accepted(self._unstaged(f, config_dir)))
        ]

    def _unstaged(self, f: Finding, stage_dir: Path) -> Finding:
        """``f`` as the admin saw it: the gate reads a staged copy, where table paths in
        main.cf point into the copy; accepted findings are keyed by the live paths."""
        if not f.entry or str(stage_dir) not in f.entry:
            return f
        live = str(Path(os.path.realpath(self.config_dir)))
        for candidate in dict.fromkeys((live, str(self.config_dir))):
            moved = replace(f, entry=f.entry.replace(str(stage_dir), candidate))
            if self.is_accepted(moved):
                return moved
        return f

    # ---- facts for the Welcome screen ----------------------------------------------------------
    def box_name(self) -> str:
        return self.cf.get("myhostname") or socket.gethostname()

    def miab_release(self) -> str | None:
        """``git describe`` in MiaB's checkout (None when there is no checkout or no git)."""
        return miab.installed_release(self.miab_checkout)

    def restore_status(self) -> tuple[bool, list[str]]:
        """Are the recorded customisations in force? (``pfwizard.wizard.record``)"""
        from pfwizard.wizard.record import restore_status

        return restore_status(self)

    def record_intent(self) -> Path:
        """Save the change as intent on its own (``pfwizard.wizard.record``)."""
        from pfwizard.wizard.record import record_intent

        return record_intent(self)


@functools.lru_cache(maxsize=256)
def _parse_chain(value: str) -> tuple[tuple[Item, ...], str]:
    chain = Chain.parse(value)
    return tuple(chain.items), chain.separator


def _check_item(item: Item) -> None:
    for text in (item.name, item.arg or ""):
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise ValueRefused("a restriction cannot contain control characters")
        if any(c in text for c in " ,\t"):
            raise ValueRefused(f"{text!r}: no spaces or commas inside one word")
    from pfwizard import catalogue

    nargs = catalogue.argument_count(item.name)
    if nargs and not item.arg:
        raise ValueRefused(f"{item.name} needs an argument")
    if not nargs and item.arg:
        raise ValueRefused(f"{item.name} takes no argument")


# ==== the core's answers the session needs (tests replace analyse_params) ===============


def analyse_params(
    params: Mapping[str, str], config_dir: Path, tables: Mapping[str, str] | None = None
) -> list[Finding]:
    # The analyser (and the table simulator under it) loads with the first findings, after
    # the wizard's first frame: the Welcome asks for them once it is on screen.
    from pfwizard import analyser

    return analyser.analyse_params(params, config_dir, tables=tables)


def make_changeset(
    summary: str,
    params: dict[str, str | None],
    tables: list[tuple[str, str, str]],
    intent: Any,
    master_params: dict[str, str | None] | None = None,
) -> ChangeSet:
    from pfwizard.engine import ChangeSet, TableChange

    tcs = [TableChange(path=Path(p), content=c, map_type=m) for p, c, m in tables]
    return ChangeSet(
        summary=summary,
        params=params,
        tables=tcs,
        intent={"wizard": intent},
        master_params=dict(master_params or {}),
    )


# Moved to the modules they belong to; the old names still work (branches written before the
# split import them from here), loaded only when asked for.
_MOVED = {
    "MilterState": "pfwizard.milters",
    "milter_state": "pfwizard.milters",
    "is_milter_address": "pfwizard.milters",
    "LOOPBACK": "pfwizard.milters",
    "RestrictionInfo": "pfwizard.wizard.restrictions",
    "restriction_info": "pfwizard.wizard.restrictions",
    "candidates": "pfwizard.wizard.restrictions",
    "parameter_risk": "pfwizard.wizard.restrictions",
    "argument_count": "pfwizard.wizard.restrictions",
    "split_table": "pfwizard.wizard.tables",
    "postmap_query": "pfwizard.wizard.tables",
    "access_answer": "pfwizard.wizard.tables",
    "validate_table": "pfwizard.wizard.tables",
    "INDEXED_TYPES": "pfwizard.wizard.tables",
}


def __getattr__(name: str) -> Any:
    if name == "LIST_OF_PARAM":
        return list_of_param()
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
