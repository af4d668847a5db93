"""customizations.yaml as a YAML document: read and validate it, edit it in place keeping
the admin's comments and order, write it back.  The only module that loads the YAML library
(ruamel.yaml, round-trip mode), and only when a document is read or written: ``status``, which
finds the validated model kept in the state directory (``pfwizard.memo``), never loads it.

The file itself (reading it safely, noticing an edit made meanwhile, writing it atomically)
and the model live in ``pfwizard.intent.store``.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString

from pfwizard import inputs
from pfwizard.chain import Chain, Item
from pfwizard.errors import ValueRefused
from pfwizard.intent.model import (
    SCHEMA_VERSION,
    ChainIntent,
    Customisations,
    Operation,
    OpKind,
    ParameterIntent,
    TableIntent,
    is_chain_parameter,
    is_list_option,
    takes_tables,
)
from pfwizard.intent.store import FILENAME, HEADER, KEEP_MIAB, IntentError, ListEditRefused
from pfwizard.maincf import check_parameter_name
from pfwizard.mastercf import split_key

_TOP_KEYS = {"version", "miab_release", "chains", "parameters", "tables", "services"}
_OP_KEYS = {
    "insert",
    "remove",
    "move",
    "change",
    "before",
    "after",
    "at",
    "to",
    "why",
    "keep",
    "also_remove",
    "decided",
}


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.indent(mapping=2, sequence=4, offset=2)
    y.width = 4096  # a long chain stays on one line
    y.preserve_quotes = True
    return y


def _line_of(node: Any, key: Any = None) -> int | None:
    """1-based line of ``node`` (or of ``key`` inside it) in the YAML text."""
    try:
        if key is not None:
            if isinstance(node, CommentedMap):
                return int(node.lc.key(key)[0]) + 1
            if isinstance(node, CommentedSeq):
                return int(node.lc.item(key)[0]) + 1
        return int(node.lc.line) + 1
    except (AttributeError, KeyError, IndexError, TypeError):
        return None


class _Parser:
    def __init__(self, path: str) -> None:
        self.path = path

    def fail(self, line: int | None, msg: str) -> IntentError:
        return IntentError(self.path, line, msg)

    def mapping(self, node: Any, what: str, line: int | None) -> CommentedMap:
        if node is None:
            return CommentedMap()
        if not isinstance(node, CommentedMap):
            raise self.fail(line, f"{what} must be a mapping (name: value lines)")
        return node

    def text(self, node: Any, key: str, what: str, *, optional: bool = False) -> str | None:
        value = node.get(key)
        if value is None:
            if optional:
                return None
            raise self.fail(_line_of(node), f"{what}: '{key}' is missing")
        if isinstance(value, bool):
            return "yes" if value else "no"  # Postfix booleans; `value: true` means yes
        if not isinstance(value, (str, int, float)):
            raise self.fail(_line_of(node, key), f"{what}: '{key}' must be text")
        return str(value)

    def item(self, text: str, line: int | None, what: str) -> Item:
        try:
            return Item.parse(text)
        except ValueRefused as exc:
            raise self.fail(line, f"{what}: {exc}") from exc

    def chain(self, text: str | None, line: int | None, what: str) -> Chain | None:
        if text is None:
            return None
        if any(c in text for c in "\r\n\x00"):
            raise self.fail(line, f"{what}: a restriction list is one line of text")
        return Chain.parse(text)

    def parse(self, doc: Any) -> Customisations:
        if doc is None:
            return Customisations()
        top = self.mapping(doc, "the file", 1)
        for key in top:
            if key not in _TOP_KEYS:
                raise self.fail(
                    _line_of(top, key),
                    f"unknown key '{key}' (expected one of {', '.join(sorted(_TOP_KEYS))})",
                )
        version = top.get("version")
        if version is None:
            raise self.fail(1, f"'version: {SCHEMA_VERSION}' is missing")
        if version != SCHEMA_VERSION:
            raise self.fail(
                _line_of(top, "version"),
                f"version {version!r} is not supported "
                f"(this pfwizard reads version {SCHEMA_VERSION})",
            )
        cust = Customisations(version=SCHEMA_VERSION)
        cust.miab_release = self.text(top, "miab_release", "miab_release", optional=True)
        chains = self.mapping(top.get("chains"), "chains", _line_of(top, "chains"))
        for name in chains:
            cust.chains[str(name)] = self.chain_intent(chains, name)
        params = self.mapping(top.get("parameters"), "parameters", _line_of(top, "parameters"))
        for name in params:
            cust.parameters[str(name)] = self.parameter(params, name)
        tables = self.mapping(top.get("tables"), "tables", _line_of(top, "tables"))
        for name in tables:
            cust.tables[str(name)] = self.table(tables, name)
        services = self.mapping(top.get("services"), "services", _line_of(top, "services"))
        for name in services:
            cust.services[str(name)] = self.service(services, name)
        for name, ci in cust.chains.items():
            pi = cust.parameters.get(name)
            if pi is not None:
                # Two records of one parameter: which one restore puts back is a guess.
                raise self.fail(
                    pi.line,
                    f"{name} is recorded twice: under chains: (line "
                    f"{ci.line}) and under parameters: (line {pi.line}); keep the "
                    "one you mean and delete the other",
                )
        return cust

    def _name(self, parent: CommentedMap, name: Any, *, master: bool = False) -> str:
        """A main.cf parameter name, or (``master``) a master.cf ``service/type/option``."""
        try:
            if master:
                split_key(str(name))
                return str(name)
            return check_parameter_name(str(name))
        except ValueRefused as exc:
            raise self.fail(_line_of(parent, name), str(exc)) from exc

    def service(self, parent: CommentedMap, name: Any) -> ChainIntent | ParameterIntent:
        """A master.cf option: ``operations`` (a list option) or ``value`` (a whole value)."""
        node = parent[name]
        if isinstance(node, CommentedMap) and ("operations" in node) == ("value" in node):
            raise self.fail(
                _line_of(parent, name),
                f"{name}: give 'operations' (a list such "
                f"as header_checks) or 'value' (any other option), one of them",
            )
        if isinstance(node, CommentedMap) and "operations" in node:
            return self.chain_intent(parent, name, master=True)
        return self.parameter(parent, name, master=True)

    def chain_intent(self, parent: CommentedMap, name: Any, *, master: bool = False) -> ChainIntent:
        pname = self._name(parent, name, master=master)
        line = _line_of(parent, name)
        if not (is_list_option(pname) if master else is_chain_parameter(pname)):
            what = (
                "a restriction, milter or lookup-table list option"
                if master
                else "a restriction or milter list"
            )
            raise ListEditRefused(
                self.path,
                line,
                f"{pname} is not {what}: list operations "
                "on it are refused (Postfix would stop on a restriction "
                "word there); give its whole value under "
                f"{'services' if master else 'parameters'}: instead",
            )
        node = self.mapping(parent[name], pname, line)
        keys = ("base", "operations", "decided") if master else ("base", "operations")
        for key in node:
            if key not in keys:
                raise self.fail(
                    _line_of(node, key),
                    f"{pname}: unknown key '{key}' (expected {', '.join(keys)})",
                )
        base = self.chain(
            self.text(node, "base", pname, optional=True), _line_of(node, "base"), f"{pname} base"
        )
        has_base = "base" in node
        ops_node = node.get("operations") or CommentedSeq()
        if not isinstance(ops_node, CommentedSeq):
            raise self.fail(
                _line_of(node, "operations"),
                f"{pname}: operations must be a list (lines starting with '-')",
            )
        ops = [self.operation(pname, ops_node, i) for i in range(len(ops_node))]
        if takes_tables(pname.rsplit("/", 1)[-1]):
            for i, op in enumerate(ops):
                for it in (op.item, op.to):
                    if (
                        it is not None
                        and op.kind in (OpKind.INSERT, OpKind.CHANGE)
                        and ":" not in it.render()
                    ):
                        raise ListEditRefused(
                            self.path,
                            op.line or _line_of(ops_node, i),
                            f"{pname} takes lookup tables (type:table), not {it.render()!r}",
                        )
        return ChainIntent(
            pname, base, ops, line, has_base, kept_miab=self.gone_decided(node, pname)
        )

    def gone_decided(self, node: CommentedMap, pname: str) -> bool:
        """``decided: keep-miab`` on a ``services:`` entry: the service (or MiaB's option)
        is gone, and master.cf stays as MiaB ships it until it is back."""
        decided = self.text(node, "decided", pname, optional=True)
        if decided is not None and decided != KEEP_MIAB:
            raise self.fail(
                _line_of(node, "decided"),
                f"{pname}: 'decided' can only be "
                f"{KEEP_MIAB} (master.cf stays as MiaB ships it while the service "
                "or its option is gone)",
            )
        return decided is not None

    def operation(self, pname: str, seq: CommentedSeq, i: int) -> Operation:
        line = _line_of(seq, i)
        node = seq[i]
        what = f"{pname} operation {i + 1}"
        if not isinstance(node, CommentedMap):
            raise self.fail(line, f"{what}: expected 'insert:', 'remove:', 'move:' or 'change:'")
        for key in node:
            if key not in _OP_KEYS:
                raise self.fail(_line_of(node, key), f"{what}: unknown key '{key}'")
        kinds = [k for k in OpKind if k.value in node]
        if len(kinds) != 1:
            raise self.fail(line, f"{what}: needs exactly one of insert, remove, move, change")
        kind = kinds[0]
        item = self.item(self.text(node, kind.value, what) or "", _line_of(node, kind.value), what)

        def anchor(key: str) -> Item | None:
            text = self.text(node, key, what, optional=True)
            return None if text is None else self.item(text, _line_of(node, key), what)

        before, after, to = anchor("before"), anchor("after"), anchor("to")
        keep, also_remove = anchor("keep"), anchor("also_remove")
        for key, decided in (("keep", keep), ("also_remove", also_remove)):
            if decided is None:
                continue
            if kind not in ((OpKind.REMOVE, OpKind.CHANGE) if key == "keep" else (OpKind.REMOVE,)):
                raise self.fail(
                    _line_of(node, key),
                    f"{what}: '{key}' belongs to "
                    f"{'remove or change' if key == 'keep' else 'remove'}",
                )
            if decided.name != item.name:
                raise self.fail(
                    _line_of(node, key),
                    f"{what}: '{key}' names MiaB's new form of {item.name}, not {decided.name}",
                )
        if keep is not None and also_remove is not None:
            raise self.fail(line, f"{what}: give 'keep' or 'also_remove', not both")
        kept_miab = self.text(node, "decided", what, optional=True)
        if kept_miab is not None:
            if kept_miab != KEEP_MIAB:
                raise self.fail(
                    _line_of(node, "decided"),
                    f"{what}: 'decided' can only be "
                    f"{KEEP_MIAB} (MiaB's list stays while this cannot be placed)",
                )
            if kind is OpKind.REMOVE:
                raise self.fail(
                    _line_of(node, "decided"),
                    f"{what}: 'decided' belongs to "
                    f"insert, move or change (a remove takes keep or also_remove)",
                )
            if keep is not None or also_remove is not None:
                raise self.fail(line, f"{what}: give 'decided' or 'keep', not both")
        at = self.text(node, "at", what, optional=True)
        why = self.text(node, "why", what, optional=True)
        if before is not None and after is not None:
            raise self.fail(line, f"{what}: give 'before' or 'after', not both")
        if at is not None and at not in ("start", "end"):
            raise self.fail(_line_of(node, "at"), f"{what}: 'at' must be start or end")
        if kind is OpKind.CHANGE:
            if to is None:
                raise self.fail(line, f"{what}: change needs 'to: NEW FORM'")
            if to.name != item.name:
                raise self.fail(
                    _line_of(node, "to"),
                    f"{what}: change keeps the restriction "
                    f"({item.name}); to replace it, remove one and insert the other",
                )
            if before or after or at:
                raise self.fail(line, f"{what}: change takes no position")
        elif to is not None:
            raise self.fail(_line_of(node, "to"), f"{what}: 'to' belongs to change")
        if kind is OpKind.MOVE and before is None and after is None:
            raise self.fail(line, f"{what}: move needs 'before: ITEM' or 'after: ITEM'")
        if kind is OpKind.REMOVE and (before or after or at):
            raise self.fail(line, f"{what}: remove takes no position")
        if at is not None and (before or after or kind is not OpKind.INSERT):
            raise self.fail(line, f"{what}: 'at' is only for an insert without an anchor")
        return Operation(
            kind,
            item,
            before,
            after,
            at,
            to,
            why,
            line,
            keep,
            also_remove,
            kept_miab=kept_miab is not None,
        )

    def parameter(
        self, parent: CommentedMap, name: Any, *, master: bool = False
    ) -> ParameterIntent:
        pname = self._name(parent, name, master=master)
        line = _line_of(parent, name)
        node = self.mapping(parent[name], pname, line)
        keys = ("value", "base", "why", "keep") + (("decided",) if master else ())
        for key in node:
            if key not in keys:
                raise self.fail(
                    _line_of(node, key),
                    f"{pname}: unknown key '{key}' (expected {', '.join(keys)})",
                )
        if "value" not in node:
            raise self.fail(line, f"{pname}: 'value' is missing (null removes the parameter)")
        value = self.text(node, "value", pname, optional=True)
        base = self.text(node, "base", pname, optional=True)
        keep = self.text(node, "keep", pname, optional=True)
        for text, key in ((value, "value"), (base, "base"), (keep, "keep")):
            if text is not None and any(c in text for c in "\r\n\x00"):
                raise self.fail(_line_of(node, key), f"{pname}: {key} must be one line")
        why = self.text(node, "why", pname, optional=True)
        return ParameterIntent(
            pname,
            value,
            base,
            "base" in node,
            why,
            line,
            keep,
            "keep" in node,
            self.gone_decided(node, pname),
        )

    def table(self, parent: CommentedMap, name: Any) -> TableIntent:
        path = str(name)
        line = _line_of(parent, name)
        if not path.startswith("/"):
            raise self.fail(line, f"table {path!r}: give the absolute path")
        problem = inputs.path_problem(path)
        if problem is not None:
            raise self.fail(line, f"table {path[:80]!r}: {problem}")
        node = self.mapping(parent[name], path, line)
        for key in node:
            if key not in ("type", "content", "why"):
                raise self.fail(
                    _line_of(node, key),
                    f"table {path}: unknown key '{key}' (expected type, content, why)",
                )
        map_type = self.text(node, "type", f"table {path}") or ""
        content = self.text(node, "content", f"table {path}", optional=True) or ""
        why = self.text(node, "why", f"table {path}", optional=True)
        if content and not content.endswith("\n"):
            content += "\n"
        return TableIntent(path, map_type, content, why, line)


def _one_line(problem: object) -> str:
    """The YAML reader's message without its 'in "<unicode string>"' pointer lines."""
    lines = [ln.strip() for ln in str(problem).splitlines()]
    return " ".join(ln for ln in lines if ln and not ln.startswith('in "<'))


def _twice(text: str, path: str, exc: DuplicateKeyError) -> IntentError:
    """A key given twice in one mapping (a parameter recorded twice): both lines named."""
    second = exc.problem_mark
    if second is None:
        return IntentError(path, None, f"not valid YAML: {_one_line(exc.problem or exc)}")
    lines = text.splitlines()
    here = lines[second.line][second.column :] if second.line < len(lines) else ""
    key = here.split(":", 1)[0].strip()
    start = exc.context_mark.line if exc.context_mark is not None else 0
    first = next(
        (
            n
            for n in range(start, second.line)
            if lines[n][: second.column].strip() == ""
            and lines[n][second.column :].split(":", 1)[0].strip() == key
        ),
        None,
    )
    where = f"lines {first + 1} and {second.line + 1}" if first is not None else "twice"
    return IntentError(
        path,
        second.line + 1,
        f"{key} is given twice ({where}); keep the one you mean and delete the other",
    )


def parse_text(text: str, path: str = FILENAME) -> tuple[Any, Customisations]:
    """(round-trip document, validated model); IntentError names the line of any problem."""
    if len(text) > inputs.MAX_YAML_BYTES:
        raise IntentError(
            path,
            None,
            f"longer than {inputs.MAX_YAML_BYTES // inputs.MIB} MiB "
            f"(see Limits in pfwizard's README)",
        )
    # The YAML reader is slow (~0.15 ms a line) and recursive: bound its work first.
    shape = inputs.yaml_shape_problem(text)
    if shape is not None:
        raise IntentError(path, shape[0], shape[1])
    try:
        doc = _yaml().load(text)
    except DuplicateKeyError as exc:
        raise _twice(text, path, exc) from exc
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise IntentError(path, line, f"not valid YAML: {_one_line(exc.problem or exc)}") from exc
    except YAMLError as exc:
        raise IntentError(path, None, f"not valid YAML: {_one_line(exc)}") from exc
    except ValueError as exc:  # a number of more than 4,300 digits
        raise IntentError(path, None, f"not valid YAML: {_one_line(exc).split(';')[0]}") from exc
    except RecursionError as exc:  # the line scan above should have refused it already
        raise IntentError(
            path, None, f"nested more than {inputs.MAX_YAML_DEPTH} levels deep"
        ) from exc
    model = _Parser(path).parse(doc)
    ops = sum(len(c.operations) for c in model.chains.values()) + sum(
        len(s.operations) for s in model.services.values() if isinstance(s, ChainIntent)
    )
    if ops > inputs.MAX_OPERATIONS:
        raise IntentError(
            path,
            None,
            f"{ops} operations: more than {inputs.MAX_OPERATIONS} "
            f"(see Limits in pfwizard's README)",
        )
    return doc, model


def _op_node(op: Operation, old: CommentedMap | None) -> CommentedMap:
    node = old if old is not None else CommentedMap()
    fields: dict[str, str | None] = {
        op.kind.value: op.item.render(),
        "before": op.before.render() if op.before else None,
        "after": op.after.render() if op.after else None,
        "at": op.at,
        "to": op.to.render() if op.to else None,
        "keep": op.keep.render() if op.keep else None,
        "also_remove": op.also_remove.render() if op.also_remove else None,
        "decided": KEEP_MIAB if op.kept_miab else None,
        "why": op.why,
    }
    for key in [k for k in node if fields.get(k) is None]:
        del node[key]
    for key, value in fields.items():
        if value is not None and node.get(key) != value:
            node[key] = value
    return node


def _set_decided(node: CommentedMap, kept_miab: bool, before: str | None = None) -> None:
    """``decided: keep-miab`` on a ``services:`` entry (placed ahead of ``before``, so it
    reads next to the base rather than after a long list of operations), or none."""
    if not kept_miab:
        if "decided" in node:
            del node["decided"]
    elif node.get("decided") != KEEP_MIAB:
        keys = list(node)
        at = keys.index(before) if before in keys else len(keys)
        node.insert(at, "decided", KEEP_MIAB)


def _quoted(value: str | None) -> str | None:
    """Parameter values quoted, so `yes` stays text for every YAML reader (YAML 1.1: a bool)."""
    return None if value is None else DoubleQuotedScalarString(value)


def new_document() -> CommentedMap:
    """An empty customizations.yaml: its version and the header that says what it is."""
    doc = CommentedMap()
    ensure_header(doc)
    return doc


def ensure_header(doc: CommentedMap) -> None:
    if "version" not in doc:
        doc.insert(0, "version", SCHEMA_VERSION)
        doc.yaml_set_start_comment(HEADER)


def as_document(read: Any) -> CommentedMap:
    """A document read from a file (None: an empty file) ready to be edited."""
    doc = read if isinstance(read, CommentedMap) else CommentedMap()
    ensure_header(doc)
    return doc


def _section(doc: CommentedMap, key: str) -> CommentedMap:
    node = doc.get(key)
    if not isinstance(node, CommentedMap):
        node = CommentedMap()
        doc[key] = node
    return node


def set_release(doc: CommentedMap, release: str) -> None:
    if doc.get("miab_release") != release:
        if "miab_release" in doc:
            doc["miab_release"] = release
        else:
            doc.insert(1, "miab_release", release)


def _node(doc: CommentedMap, section: str, key: str, other: tuple[str, ...]) -> CommentedMap:
    """The entry ``key`` of ``section`` (created if needed), without the keys ``other``
    (a services entry turning from a whole value into operations, or back)."""
    parent = _section(doc, section)
    node = parent.get(key)
    if not isinstance(node, CommentedMap):
        node = CommentedMap()
        parent[key] = node
    for k in other:
        if k in node:
            del node[k]
    return node


def set_chain(doc: CommentedMap, section: str, ci: ChainIntent, old_list: list[Operation]) -> None:
    """Write ``ci`` into its entry; ``old_list``: the operations the entry held, each reusing
    its node (and so the comments next to it) when it is still there."""
    node = _node(doc, section, ci.parameter, ("value", "why"))
    base = ci.base.render() if ci.base is not None else None
    if not ci.has_base:
        if "base" in node:
            del node["base"]
    elif node.get("base") != base or "base" not in node:
        node["base"] = base
    old_ops = node.get("operations")
    old_nodes = list(old_ops) if isinstance(old_ops, CommentedSeq) else []
    pool = list(zip(old_list, old_nodes, strict=False))
    new_nodes: list[CommentedMap] = []
    for op in ci.operations:
        match = next((n for o, n in pool if o == op), None)
        if match is not None:
            pool = [(o, n) for o, n in pool if n is not match]
        new_nodes.append(_op_node(op, match))
    if isinstance(old_ops, CommentedSeq):
        while len(old_ops):
            old_ops.pop()
        old_ops.extend(new_nodes)
    else:
        node["operations"] = CommentedSeq(new_nodes)
    _set_decided(node, ci.kept_miab, before="operations")


def set_parameter(doc: CommentedMap, section: str, pi: ParameterIntent) -> None:
    node = _node(doc, section, pi.name, ("operations",))
    wanted: dict[str, str | None] = {"value": _quoted(pi.value)}
    if pi.has_base:
        wanted["base"] = _quoted(pi.base)
    if pi.why is not None:
        wanted["why"] = pi.why
    if pi.has_keep:
        wanted["keep"] = _quoted(pi.keep)
    elif "keep" in node:
        del node["keep"]  # set anew: the decision was about the value before
    for key, value in wanted.items():
        if key not in node or node.get(key) != value:
            node[key] = value
    _set_decided(node, pi.kept_miab)


def set_table(doc: CommentedMap, ti: TableIntent) -> None:
    section = _section(doc, "tables")
    node = section.get(ti.path)
    if not isinstance(node, CommentedMap):
        node = CommentedMap()
        section[ti.path] = node
    if node.get("type") != ti.map_type:
        node["type"] = ti.map_type
    if str(node.get("content", "")) != ti.content:
        node["content"] = LiteralScalarString(ti.content)
    if ti.why is not None and node.get("why") != ti.why:
        node["why"] = ti.why


def remove(doc: CommentedMap, section: str, key: str) -> None:
    node = doc.get(section)
    if isinstance(node, CommentedMap) and key in node:
        del node[key]
        if not node:
            del doc[section]  # no `parameters: {}` left behind


def dumps(doc: CommentedMap) -> str:
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    return buf.getvalue()
