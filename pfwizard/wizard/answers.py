"""The answers file: what to do on each screen, decided beforehand (subiquity's autoinstall).

A mapping from step id to one ``Answer``: edits on the session (``ops``, the mini-language
below), the screen's own inputs (``fields``: a recipe and its inputs, a restore policy, a
journal entry, the probe's addresses) and the action to take (``next``, ``skip``, ``apply``,
``use``... or ``stay`` to leave the screen showing).  Tests drive every screen with it
(``PfwizardApp(answers=...)``); ``load_answers`` reads one from a JSON file.

The ops::

    {"insert": "check_sender_access regexp:/x", "param": P, "before": NAME}
        (or "after": NAME, "index": N; none of them: at the end)
    {"remove": NAME, "param": P}
    {"move": NAME, "param": P, "by": -1}
    {"set": P, "value": V}                     (V null: remove the parameter)
    {"table": PATH, "content": TEXT, "type": "regexp"}
    {"accept": CODE}                           (accept a danger finding by its code)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pfwizard.chain import Item
from pfwizard.errors import ConfigError, ValueRefused

if TYPE_CHECKING:
    from pfwizard.session import Session

KNOWN_KEYS = frozenset({"ops", "action"})


@dataclass(frozen=True)
class Answer:
    """What the answers file says for one screen."""

    action: str = "next"
    """The screen's action to run once the ops and fields are in (``stay``: none)."""
    ops: tuple[Mapping[str, Any], ...] = ()
    """Edits on the session, in order (the mini-language in this module's docstring)."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    """The screen's own inputs: ``recipe``, ``inputs``, ``placement`` (recipes),
    ``policy`` (restore), ``entry`` (rollback), ``sender``, ``recipients`` (probe)."""

    @classmethod
    def of(cls, entry: Mapping[str, Any] | Answer) -> Answer:
        if isinstance(entry, Answer):
            return entry
        if not isinstance(entry, Mapping):
            raise ValueRefused(f"an answer is a mapping (ops, action...), not {entry!r}")
        ops = entry.get("ops", [])
        if not isinstance(ops, list) or not all(isinstance(op, Mapping) for op in ops):
            raise ValueRefused("an answer's ops are a list of operations")
        fields = {k: v for k, v in entry.items() if k not in KNOWN_KEYS}
        return cls(str(entry.get("action", "next")), tuple(ops), fields)


def parse_answers(data: Mapping[str, Any]) -> dict[str, Answer]:
    """Step id -> Answer (the UI checks the step ids against its flow)."""
    if not isinstance(data, Mapping):
        raise ValueRefused("an answers file is a mapping from screen to answer")
    return {str(k): Answer.of(v) for k, v in data.items()}


def load_answers(path: str | Path) -> dict[str, Answer]:
    """Read an answers file (JSON); ConfigError naming the file when it cannot be read."""
    import json

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), None, f"cannot read the answers file: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(str(path), exc.lineno, f"not JSON: {exc.msg}") from exc
    try:
        return parse_answers(data)
    except ValueRefused as exc:
        raise ConfigError(str(path), None, str(exc)) from exc


def apply_op(session: Session, op: Mapping[str, Any]) -> None:
    """One operation of an answer on the session (each one undoable, recorded as intent)."""
    param = str(op.get("param", ""))
    if "insert" in op:
        item = Item.parse(str(op["insert"]))
        chain = session.chain(param)
        if "before" in op:
            index = chain.index_of(str(op["before"]))
        elif "after" in op:
            index = chain.index_of(str(op["after"])) + 1
        else:
            index = int(op.get("index", len(chain)))
        session.insert(param, index, item)
    elif "remove" in op:
        session.remove(param, session.chain(param).index_of(str(op["remove"])))
    elif "move" in op:
        session.move(param, session.chain(param).index_of(str(op["move"])), int(op.get("by", 0)))
    elif "set" in op:
        value = op.get("value")
        session.set_value(str(op["set"]), None if value is None else str(value))
    elif "table" in op:
        session.set_table(str(op["table"]), str(op.get("content", "")), str(op.get("type", "hash")))
    elif "accept" in op:
        for f in session.findings():
            if f.code == op["accept"]:
                session.accept(f)
    else:
        raise ValueRefused(f"unknown answer operation: {dict(op)!r}")
