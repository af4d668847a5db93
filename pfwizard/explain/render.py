"""Explanations as plain text for a terminal or a log (no colour needed to read them)."""

from __future__ import annotations

import textwrap

from pfwizard.explain.causes import RECIPE_TITLES
from pfwizard.explain.explainer import Explanation
from pfwizard.explain.scan import Group, Report

WIDTH = 92


def _para(label: str, text: str, indent: int = 2) -> list[str]:
    pad = " " * indent
    head = f"{pad}{label:<14}"
    return textwrap.wrap(text, WIDTH, initial_indent=head, subsequent_indent=" " * len(head)) or [
        head
    ]


def _where(exp: Explanation) -> str:
    p = exp.placement
    if p is not None:
        spelled = f": {p.item.render()}" if p.item.arg else ""
        return f"{p.parameter} / {p.item.name}  (item {p.position}{spelled})"
    return exp.where


def explanation_lines(exp: Explanation, indent: int = 2) -> list[str]:
    out: list[str] = []
    out += _para("Refused by:", _where(exp), indent)
    if exp.table:
        out += _para("Table:", exp.table, indent)
    out += _para("Why:", exp.words, indent)
    out += _para("Smallest fix:", exp.fix, indent)
    if exp.recipe:
        title = RECIPE_TITLES.get(exp.recipe, exp.recipe)
        out += _para("Recipe:", f"{exp.recipe}: {title} (offered in `sudo pfwizard`)", indent)
    for note in exp.notes:
        out += _para("Note:", note, indent)
    return out


def render_one(exp: Explanation) -> str:
    line = exp.line
    who = f"{line.stage} from {line.client_name}[{line.client_ip}]"
    head = [f"{line.kind} at {who}: {line.reply}"]
    if line.sender or line.recipient:
        head.append(f"  from=<{line.sender}> to=<{line.recipient}> helo=<{line.helo}>")
    return "\n".join([*head, *explanation_lines(exp)]) + "\n"


def _samples(group: Group) -> str:
    cid = group.explanation.cause.id
    counter = (
        group.clients
        if cid.startswith(("rbl", "unknown-client", "postscreen"))
        else group.recipients
        if cid in ("unlisted-recipient", "relay-denied", "over-quota")
        else group.senders
    )
    parts = [f"{v} ({n})" for v, n in counter.top(3)]
    more = len(counter.counts) - 3 + counter.others
    if more > 0:
        parts.append(f"{more} more")
    return ", ".join(parts)


def render_report(report: Report, source: str) -> str:
    if not report.lines:
        return f"No rejects in {source}.\n"
    n = len(report.groups)
    out = [f"{report.lines} rejects in {source}, {n} cause{'s' if n != 1 else ''}:", ""]
    for g in report.groups:
        exp = g.explanation
        out.append(f"{g.count:>7}  {exp.where}   {exp.line.reply}")
        out.append(f"         first {g.first}, last {g.last}; e.g. {_samples(g)}")
        out += explanation_lines(exp, indent=9)
        out.append("")
    if report.unexplained:
        out.append(
            f"{report.unexplained} rejects could not be tied to this box's "
            f"restriction lists (see the notes above)."
        )
    return "\n".join(out) + "\n"
