"""The validated model of customizations.yaml as plain JSON data, and back: what
``pfwizard.memo`` keeps so that ``status`` need not load the YAML library.

Every field is written, those left out of comparisons included (line numbers, reasons,
decisions): the model read back is the one the file gives, field for field, so that every
message quoting a line reads the same.  Anything this module did not write reads as None
(the caller then reads the file).
"""

from __future__ import annotations

from typing import Any

from pfwizard.chain import Chain, Item
from pfwizard.intent.model import (
    SCHEMA_VERSION,
    ChainIntent,
    Customisations,
    Operation,
    OpKind,
    ParameterIntent,
    TableIntent,
)

FORMAT = 1


class _NotOurs(Exception):
    """Data this module did not write."""


def _item_out(item: Item | None) -> list[str | None] | None:
    return None if item is None else [item.name, item.arg]


def _item_in(data: Any) -> Item | None:
    if data is None:
        return None
    if (
        isinstance(data, list)
        and len(data) == 2
        and isinstance(data[0], str)
        and (data[1] is None or isinstance(data[1], str))
    ):
        return Item(data[0], data[1])
    raise _NotOurs


def _chain_out(chain: Chain | None) -> str | None:
    """A chain as the text it was read from: a model read from a file holds only chains
    parsed from text, unedited (anything else is not kept)."""
    if chain is None:
        return None
    text = chain.render()
    if Chain.parse(text) != chain:
        raise _NotOurs
    return text


def _chain_in(data: Any) -> Chain | None:
    if data is None:
        return None
    return Chain.parse(_text(data))


def _text(data: Any) -> str:
    if not isinstance(data, str):
        raise _NotOurs
    return data


def _opt_text(data: Any) -> str | None:
    return None if data is None else _text(data)


def _int(data: Any) -> int | None:
    if data is None:
        return None
    if not isinstance(data, int) or isinstance(data, bool):
        raise _NotOurs
    return data


def _flag(data: Any) -> bool:
    if not isinstance(data, bool):
        raise _NotOurs
    return data


def _op_out(op: Operation) -> dict[str, Any]:
    return {
        "kind": op.kind.value,
        "item": _item_out(op.item),
        "before": _item_out(op.before),
        "after": _item_out(op.after),
        "at": op.at,
        "to": _item_out(op.to),
        "why": op.why,
        "line": op.line,
        "keep": _item_out(op.keep),
        "also_remove": _item_out(op.also_remove),
        "kept_miab": op.kept_miab,
    }


def _op_in(data: Any) -> Operation:
    if not isinstance(data, dict):
        raise _NotOurs
    item = _item_in(data.get("item"))
    if item is None:
        raise _NotOurs
    return Operation(
        OpKind(_text(data.get("kind"))),
        item,
        _item_in(data.get("before")),
        _item_in(data.get("after")),
        _opt_text(data.get("at")),
        _item_in(data.get("to")),
        _opt_text(data.get("why")),
        _int(data.get("line")),
        _item_in(data.get("keep")),
        _item_in(data.get("also_remove")),
        kept_miab=_flag(data.get("kept_miab")),
    )


def _chain_intent_out(ci: ChainIntent) -> dict[str, Any]:
    return {
        "form": "chain",
        "parameter": ci.parameter,
        "base": _chain_out(ci.base),
        "operations": [_op_out(op) for op in ci.operations],
        "line": ci.line,
        "has_base": ci.has_base,
        "kept_miab": ci.kept_miab,
    }


def _parameter_out(pi: ParameterIntent) -> dict[str, Any]:
    return {
        "form": "value",
        "name": pi.name,
        "value": pi.value,
        "base": pi.base,
        "has_base": pi.has_base,
        "why": pi.why,
        "line": pi.line,
        "keep": pi.keep,
        "has_keep": pi.has_keep,
        "kept_miab": pi.kept_miab,
    }


def _intent_out(intent: ChainIntent | ParameterIntent) -> dict[str, Any]:
    if isinstance(intent, ChainIntent):
        return _chain_intent_out(intent)
    return _parameter_out(intent)


def _intent_in(data: Any) -> ChainIntent | ParameterIntent:
    if not isinstance(data, dict):
        raise _NotOurs
    if data.get("form") == "chain":
        ops = data.get("operations")
        if not isinstance(ops, list):
            raise _NotOurs
        return ChainIntent(
            _text(data.get("parameter")),
            _chain_in(data.get("base")),
            [_op_in(op) for op in ops],
            _int(data.get("line")),
            _flag(data.get("has_base")),
            _flag(data.get("kept_miab")),
        )
    if data.get("form") == "value":
        return ParameterIntent(
            _text(data.get("name")),
            _opt_text(data.get("value")),
            _opt_text(data.get("base")),
            _flag(data.get("has_base")),
            _opt_text(data.get("why")),
            _int(data.get("line")),
            _opt_text(data.get("keep")),
            _flag(data.get("has_keep")),
            _flag(data.get("kept_miab")),
        )
    raise _NotOurs


def _table_out(ti: TableIntent) -> dict[str, Any]:
    return {
        "path": ti.path,
        "map_type": ti.map_type,
        "content": ti.content,
        "why": ti.why,
        "line": ti.line,
    }


def _table_in(data: Any) -> TableIntent:
    if not isinstance(data, dict):
        raise _NotOurs
    return TableIntent(
        _text(data.get("path")),
        _text(data.get("map_type")),
        _text(data.get("content")),
        _opt_text(data.get("why")),
        _int(data.get("line")),
    )


def _section_in(data: Any, read: Any) -> dict[str, Any]:
    if not isinstance(data, list):
        raise _NotOurs
    out: dict[str, Any] = {}
    for pair in data:
        if not (isinstance(pair, list) and len(pair) == 2):
            raise _NotOurs
        out[_text(pair[0])] = read(pair[1])
    return out


def model_to_plain(model: Customisations) -> dict[str, Any] | None:
    """The model as JSON data (None: one that cannot be kept, e.g. an edited chain)."""
    try:
        return {
            "format": FORMAT,
            "version": model.version,
            "miab_release": model.miab_release,
            # Lists of pairs: the order of each section is the file's, and stays.
            "chains": [[k, _chain_intent_out(v)] for k, v in model.chains.items()],
            "parameters": [[k, _parameter_out(v)] for k, v in model.parameters.items()],
            "tables": [[k, _table_out(v)] for k, v in model.tables.items()],
            "services": [[k, _intent_out(v)] for k, v in model.services.items()],
        }
    except _NotOurs:
        return None


def model_from_plain(data: Any) -> Customisations | None:
    """The model ``model_to_plain`` wrote (None: anything else)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return None
    try:
        if data.get("version") != SCHEMA_VERSION:
            return None
        chains = _section_in(data.get("chains"), _intent_in)
        parameters = _section_in(data.get("parameters"), _intent_in)
        if not all(isinstance(v, ChainIntent) for v in chains.values()) or not all(
            isinstance(v, ParameterIntent) for v in parameters.values()
        ):
            return None
        return Customisations(
            version=SCHEMA_VERSION,
            miab_release=_opt_text(data.get("miab_release")),
            chains=chains,
            parameters=parameters,
            tables=_section_in(data.get("tables"), _table_in),
            services=_section_in(data.get("services"), _intent_in),
        )
    except (_NotOurs, ValueError):
        return None
