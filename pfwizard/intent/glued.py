"""Glued continuation lines: what MiaB's one-line-at-a-time edit leaves behind.

MiaB comments out only the first line of a multi-line value; its continuation lines stay and
Postfix appends them to MiaB's new value. The value MiaB *meant* is the definition without
those lines; the lines themselves are the admin's old value, which pfwizard keeps as intent.
Setting the parameter again (``MainCf.set``) drops every continuation line of the definition,
glued ones included: that is the repair.
"""

from __future__ import annotations

from pfwizard.maincf import GluedContinuation, MainCf

_WS = " \t\n\v\f\r"


def glued_by_parameter(cf: MainCf) -> dict[str, list[GluedContinuation]]:
    out: dict[str, list[GluedContinuation]] = {}
    for g in cf.glued_continuations():
        out.setdefault(g.parameter, []).append(g)
    return out


def value_without_glue(cf: MainCf, name: str) -> str | None:
    """The effective value of ``name`` minus any glued continuation lines (MiaB's value)."""
    d = cf.last_definition(name)
    if d is None:
        return None
    glued = {
        ln - 1
        for g in cf.glued_continuations()
        if g.definition_line == d.lineno
        for ln in g.glued_lines
    }
    lines = cf.lines
    parts = [lines[d.index].text] + [lines[k].text for k in d.continuation if k not in glued]
    logical = "".join(parts)
    return logical[logical.find("=") + 1 :].strip(_WS)


def repaired_bytes(cf: MainCf, values: dict[str, str] | None = None) -> bytes:
    """main.cf with every glued parameter set to ``values[name]`` (default: its value without
    the glued lines): the orphan continuation lines are gone, everything else is unchanged."""
    fixed = cf.copy()
    for name in glued_by_parameter(cf):
        value = (values or {}).get(name)
        fixed.set(name, value if value is not None else value_without_glue(cf, name) or "")
    return fixed.to_bytes()
