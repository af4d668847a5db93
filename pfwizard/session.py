"""The wizard's state, without any UI: what the admin has changed so far and what it means.

A ``Session`` holds the main.cf as read, the values the admin is editing (per parameter), the
table files the admin is writing, an undo stack and the findings the analyser gives on the
result.  Nothing is written to disk here: ``changeset()`` hands the whole edit to the apply
engine, which plans, backs up, writes, checks and reloads.

The screens (``screens/``) only call this module; every Postfix fact comes from the core
(catalogue, analyser, tables, engine); the functions at the end of this module put their
answers in the shape the screens show.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import socket
import tempfile
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
    from pfwizard.engine import ChangeSet, Engine, Plan
    from pfwizard.intent import IntentFile
    from pfwizard.recipes import Proposal

# The engine, tables and intent modules load when first used, not at start-up: the first
# screen of `sudo pfwizard` should come up as fast as Textual allows.

# Where the tables pfwizard creates live (= pfwizard.engine.OWN_TABLE_DIR, kept in step by
# tests/test_session.py without importing the engine at start-up).
OWN_TABLE_DIR = "pfwizard"

# Which list key (catalogue.LISTS) each restriction parameter is.
LIST_OF_PARAM = {
    "smtpd_client_restrictions": "client",
    "smtpd_helo_restrictions": "helo",
    "smtpd_sender_restrictions": "sender",
    "smtpd_relay_restrictions": "relay",
    "smtpd_recipient_restrictions": "recipient",
    "smtpd_data_restrictions": "data",
    "smtpd_end_of_data_restrictions": "end_of_data",
}
MILTER_LISTS = ("smtpd_milters", "non_smtpd_milters")

# Parameters each wizard stage edits (the stage's dirty flag and findings are about these).
STAGE_PARAMS: dict[str, tuple[str, ...]] = {
    "helo": ("smtpd_helo_required", "smtpd_helo_restrictions", "smtpd_client_restrictions"),
    "sender": ("smtpd_sender_restrictions",),
    "recipient": ("smtpd_recipient_restrictions", "smtpd_relay_restrictions",
                  "smtpd_data_restrictions"),
    "milter": ("smtpd_milters", "non_smtpd_milters", "milter_default_action",
               "milter_protocol"),
}

INDEXED_TYPES = frozenset({"hash", "btree", "lmdb", "cdb", "dbm", "sdbm"})


@dataclass(frozen=True)
class TableEdit:
    """A lookup table the admin wrote in the wizard (content replaces the file on apply)."""

    path: str
    content: str
    map_type: str


@dataclass(frozen=True)
class MilterState:
    address: str
    state: str
    """``up``, ``down`` or ``not checked`` (a word, never only a colour)."""
    detail: str


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
    def open(cls, config_dir: str | Path, state_dir: str | Path, *, reload: bool = True,
             demo: bool = False, miab_checkout: str | Path | None = None) -> Session:
        cdir = Path(config_dir)
        cf = MainCf.read(cdir / "main.cf")
        return cls(cdir, Path(state_dir), cf, reload=reload, demo=demo,
                   miab_checkout=miab.find_checkout(miab_checkout))

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
        self._undo.append(_Snapshot(dict(self.edits), dict(self.tables), len(self.ops),
                                    dict(self.master_edits)))
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
        if param not in LIST_OF_PARAM and param not in MILTER_LISTS:
            # header_checks = permit, written as a "list edit", stopped mail intake.
            raise ValueRefused(f"{param} is not a restriction or milter list: list edits "
                               "on it are refused")
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
            self._set_chain(param, chain, {"op": "move", "item": item.render(),
                                           "to": new, "from": index})
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
        self._set_chain(param, chain, {"op": "change", "item": old.render(),
                                       "to": item.render()})

    def undo(self) -> bool:
        if not self._undo:
            return False
        snap = self._undo.pop()
        self.edits, self.tables = snap.edits, snap.tables
        self.master_edits = snap.master
        del self.ops[snap.ops:]
        self._findings = None
        return True

    def apply_answer(self, op: Mapping[str, Any]) -> None:
        """One operation from an answers file (tests drive every screen with these).

        ``{"insert": "check_sender_access regexp:/x", "param": P, "before": NAME}`` (or
        ``"after": NAME``, ``"index": N``), ``{"remove": NAME, "param": P}``,
        ``{"move": NAME, "param": P, "by": -1}``, ``{"set": P, "value": V}``,
        ``{"table": PATH, "content": TEXT, "type": "regexp"}``, ``{"accept": CODE}``.
        """
        param = str(op.get("param", ""))
        if "insert" in op:
            item = Item.parse(str(op["insert"]))
            chain = self.chain(param)
            if "before" in op:
                index = chain.index_of(str(op["before"]))
            elif "after" in op:
                index = chain.index_of(str(op["after"])) + 1
            else:
                index = int(op.get("index", len(chain)))
            self.insert(param, index, item)
        elif "remove" in op:
            self.remove(param, self.chain(param).index_of(str(op["remove"])))
        elif "move" in op:
            self.move(param, self.chain(param).index_of(str(op["move"])), int(op.get("by", 0)))
        elif "set" in op:
            value = op.get("value")
            self.set_value(str(op["set"]), None if value is None else str(value))
        elif "table" in op:
            self.set_table(str(op["table"]), str(op.get("content", "")),
                           str(op.get("type", "hash")))
        elif "accept" in op:
            for f in self.findings():
                if f.code == op["accept"]:
                    self.accept(f)
        else:
            raise ValueRefused(f"unknown answer operation: {dict(op)!r}")

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
                "utf-8", errors="replace")
        except ConfigError:
            return ""

    def set_table(self, path: str, content: str, map_type: str) -> None:
        if "\x00" in content:
            raise ValueRefused("a lookup table cannot contain a NUL byte")
        resolved = Path(path).resolve()
        base = self.config_dir.resolve()
        if resolved != base and base not in resolved.parents:
            raise ValueRefused(f"{path} is outside the Postfix configuration directory {base}")
        if content and not content.endswith("\n"):
            content += "\n"
        self._checkpoint()
        self.tables[path] = TableEdit(path, content, map_type)
        self.ops.append({"op": "table", "path": path, "type": map_type})

    # ---- findings --------------------------------------------------------------------------
    def findings(self) -> list[Finding]:
        """The analyser's findings on the config as it will be (recomputed after each edit)."""
        if self._findings is None:
            found = analyse_params(self.effective_params(), self.config_dir,
                                   tables={p: t.content for p, t in self.tables.items()})
            pending = tuple(self.tables)
            # A table the wizard is about to write is not "missing": it will exist after apply.
            self._findings = [f for f in found
                              if not (pending and "table" in f.code
                                      and any(p in f.message or p in (f.entry or "")
                                              for p in pending))]
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
        return [f for f in found
                if not (f.acceptable and self.is_accepted(self._unstaged(f, config_dir)))]

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

    # ---- facts for the Welcome and Milter screens --------------------------------------------
    def box_name(self) -> str:
        return self.cf.get("myhostname") or socket.gethostname()

    def miab_release(self) -> str | None:
        """``git describe`` in MiaB's checkout (None when there is no checkout or no git)."""
        return miab.installed_release(self.miab_checkout)

    def restore_status(self) -> tuple[bool, list[str]]:
        """(in sync, what differs) between customizations.yaml and main.cf: after a MiaB
        upgrade this says which customisations are missing (``pfwizard restore``)."""
        from pfwizard.intent import IntentFile, build_plan
        from pfwizard.intent.context import read_master
        from pfwizard.intent.report import describe

        store = IntentFile.for_state_dir(self.state_dir)
        plan = build_plan(self.cf, store.model, master=read_master(self.config_dir))
        if plan.in_sync and not plan.conflicts:
            return True, []
        return False, describe(plan)

    def intent_store(self) -> IntentFile:
        """customizations.yaml with what the admin did recorded as intent (chains as
        operations on MiaB's base), in memory: ``plan`` hands it to the engine, which
        writes it in the same transaction as the change, so ``pfwizard restore`` puts the
        change back after an upgrade and a rollback takes both back together."""
        from pfwizard.engine import risks
        from pfwizard.intent import (
            IntentFile,
            record_chain,
            record_parameter,
            record_service_option,
            record_table,
        )

        store = IntentFile.for_state_dir(self.state_dir)
        for param, value in self.edits.items():
            before = self.cf.get(param)
            if param in LIST_OF_PARAM or param in MILTER_LISTS:
                record_chain(store, param, None if before is None else Chain.parse(before),
                             Chain.parse(value or ""))
            else:
                record_parameter(store, param, before, value)
        for t in self.tables.values():
            record_table(store, t.path, t.map_type, t.content)
        for key, value in self.master_edits.items():
            record_service_option(store, key, self.master_before.get(key), value)
        # What the admin accepted in the confirmation goes back unasked after an upgrade.
        with contextlib.suppress(OSError):
            risks.remember(self.state_dir, [(c, e) for c, _p, e in self.accepted if e])
        return store

    def plan(self, engine: Engine) -> Plan:
        """The plan Review shows and Apply writes: the change and customizations.yaml,
        one transaction (IntentError, naming file and line, if customizations.yaml is
        broken: nothing is planned)."""
        cs = self.changeset()
        cs.record = self.intent_store().record()
        plan = engine.plan(cs)
        if all(f.role == "intent" for f in plan.files if f.changes) and not any(
                f.changes for f in plan.indexes):
            plan.files = []  # no change to Postfix's files: nothing to apply, nor to record
        return plan

    def record_intent(self) -> Path:
        """Save the intent on its own (tests, and callers without an engine)."""
        return self.intent_store().save()

    def milter_states(self, param: str, timeout: float = 0.3) -> list[MilterState]:
        return [milter_state(item.name, self.queue_directory(), timeout)
                for item in self.chain(param)]

    def queue_directory(self) -> Path:
        return Path(self.effective_params().get("queue_directory", "/var/spool/postfix"))


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
    nargs = argument_count(item.name)
    if nargs and not item.arg:
        raise ValueRefused(f"{item.name} needs an argument")
    if not nargs and item.arg:
        raise ValueRefused(f"{item.name} takes no argument")


LOOPBACK = ("127.", "::1", "localhost", "[::1]")
# What smtpd_milters accepts as one milter: inet:HOST:PORT, unix:PATH or a bare /PATH.
_MILTER_ADDRESS_RE = re.compile(
    r"(inet:[A-Za-z0-9.\-\[\]:]*:\d{1,5}|unix:/?[^\s,{}]+|/[^\s,{}]+)\Z")


def is_milter_address(value: str) -> bool:
    """A milter address the wizard may write (one word, no list separators)."""
    return _MILTER_ADDRESS_RE.match(value) is not None


def milter_state(address: str, queue_dir: Path, timeout: float = 0.3) -> MilterState:
    """Is a milter listening? TCP connect on loopback only, or a unix socket present."""
    addr = address.strip()
    if addr.startswith("$"):
        return MilterState(address, "not checked", "a $parameter reference")
    if addr.startswith("inet:"):
        hostport = addr[5:]
        host, _, port = hostport.rpartition(":")
        host = host.strip("[]") or "localhost"
        if not port.isdigit():
            return MilterState(address, "down", f"no port number in {address}")
        if not host.startswith(LOOPBACK):
            return MilterState(address, "not checked", f"{host} is not on this machine")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return MilterState(address, "up", f"something answers on {host}:{port}")
        except OSError as exc:
            return MilterState(address, "down", f"{host}:{port}: {exc.strerror or exc}")
    path = addr[5:] if addr.startswith("unix:") else addr
    p = Path(path) if path.startswith("/") else queue_dir / path
    with contextlib.suppress(OSError):
        if p.is_socket():
            return MilterState(address, "up", f"socket {p} is present")
    return MilterState(address, "down", f"no socket at {p}")




# ==== what the rest of the core says, in the shape the screens show ===========================


@dataclass(frozen=True)
class RestrictionInfo:
    """What the wizard shows about a restriction before and after adding it."""

    name: str
    summary: str
    level: Severity | None
    risk: str
    takes_argument: bool
    arg_kind: str = ""


# The catalogue loads with the first stage that lists restrictions, not before the first
# screen (the Welcome shows none).


def argument_count(name: str) -> int:
    from pfwizard import catalogue

    return catalogue.argument_count(name)


def restriction_info(name: str) -> RestrictionInfo:
    from pfwizard import catalogue

    r = catalogue.lookup(name)
    if r is None:
        return RestrictionInfo(name, "not in pfwizard's catalogue: Postfix may not know it",
                               Severity.CAUTION, "an unknown name makes every RCPT fail with "
                               "451 4.3.5 once evaluation reaches it",
                               argument_count(name) > 0)
    return RestrictionInfo(r.name, r.summary, r.risk.level, r.risk.text,
                           argument_count(name) > 0, r.arg_kind.value)


def candidates(list_key: str) -> list[RestrictionInfo]:
    """Restrictions valid in this list (stage-valid entries only), for the add dialog."""
    from pfwizard import catalogue

    return [restriction_info(r.name) for r in catalogue.for_list(list_key)]


def parameter_risk(name: str, value: str) -> tuple[Severity, str] | None:
    from pfwizard import catalogue

    risk = catalogue.parameter_risk(name, value)
    return None if risk is None else (risk.level, risk.text)


def analyse_params(params: Mapping[str, str], config_dir: Path,
                   tables: Mapping[str, str] | None = None) -> list[Finding]:
    # The analyser (and the table simulator under it) loads with the first findings, after
    # the wizard's first frame: the Welcome asks for them once it is on screen.
    from pfwizard import analyser

    return analyser.analyse_params(params, config_dir, tables=tables)


def make_changeset(summary: str, params: dict[str, str | None],
                   tables: list[tuple[str, str, str]], intent: Any,
                   master_params: dict[str, str | None] | None = None) -> ChangeSet:
    from pfwizard.engine import ChangeSet, TableChange

    tcs = [TableChange(path=Path(p), content=c, map_type=m) for p, c, m in tables]
    return ChangeSet(summary=summary, params=params, tables=tcs, intent={"wizard": intent},
                     master_params=dict(master_params or {}))


# ---- tables -----------------------------------------------------------------------------------
def split_table(arg: str, config_dir: Path) -> tuple[str, str]:
    """``regexp:/etc/postfix/x`` -> (``regexp``, absolute path). Refuses odd map types."""
    kind, sep, path = arg.partition(":")
    if not sep or not kind.isalnum():
        raise ValueRefused(f"{arg}: a lookup table is written type:path, e.g. hash:/etc/postfix/x")
    p = Path(path)
    if not p.is_absolute():
        p = config_dir / p
    return kind, str(p)


def postmap_query(map_type: str, content: str, key: str) -> str:
    """What ``postmap -q KEY type:TABLE`` answers for the table as edited (not yet written).

    Postfix itself answers when installed (in a scratch config directory: the answer depends
    only on the table, and the box's main.cf must not make postmap stop); otherwise the
    tables simulator, and it says so.
    """
    from pfwizard import postfix
    from pfwizard.tables import lookup
    from pfwizard.tables.model import Table

    if not postfix.available():
        found = lookup.postmap_query(Table.parse(content, map_type), key)
        return f"{found or '(not found)'}  [simulated: Postfix is not installed]"
    with tempfile.TemporaryDirectory(prefix="pfwizard-q-") as tmp:
        (Path(tmp) / "main.cf").write_text("compatibility_level = 3.6\n")
        src = Path(tmp) / "table"
        src.write_text(content)
        if map_type in INDEXED_TYPES:
            built = postfix.postmap(tmp, f"{map_type}:{src}")
            if not built.ok:
                return f"postmap could not build the table: {built.output}"
        res = postfix.postmap(tmp, "-q", key, f"{map_type}:{src}")
    if res.stderr.strip():
        return f"{res.stdout.strip() or '(not found)'}; postmap said: {res.stderr.strip()}"
    return res.stdout.strip() or "(not found)"


def access_answer(map_type: str, content: str, address: str, kind: str) -> str:
    """What smtpd's access(5) search would find for ``address`` (the tables simulator)."""
    from pfwizard.tables import lookup
    from pfwizard.tables.model import Table

    try:
        found = lookup.access_lookup(Table.parse(content, map_type), address, kind=kind)
    except PfwizardError as exc:
        return f"error: {exc}"
    if found is None:
        return "no match: the list goes on to the next entry"
    return f"{found.action} (key {found.matched_key!r}, line {found.line})"


def validate_table(config_dir: Path, map_type: str, content: str) -> list[str]:
    """Errors in a table as edited, one line each (empty: fine to save)."""
    from pfwizard.tables import validate as table_validate
    from pfwizard.tables.model import Table

    del config_dir  # Postfix checks the table in its own scratch directory
    try:
        table = Table.parse(content, map_type, path="table")
        problems = table_validate.errors(table_validate.validate(table))
    except PfwizardError as exc:
        return [str(exc)]
    return [f"line {p.line}: {p.message}" if p.line else p.message for p in problems]
