"""access(5) actions: what the value of a table entry makes smtpd do.

Mirrors smtpd_check.c's check_table_result() (Postfix 3.6/3.7): the first word picks the action,
case-insensitively; anything that is not an action is a list of restriction names evaluated
in place, and an unknown name there makes smtpd answer ``451 4.3.5 Server configuration error``
to everyone who reaches that entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from pfwizard import catalogue


class Effect(Enum):
    PERMIT = "permit"  # OK, RELAY, all-numeric, permit
    REJECT = "reject"  # REJECT, 5NN text, 4NN text (temporary)
    DEFER = "defer"  # DEFER, DEFER_IF_PERMIT, DEFER_IF_REJECT
    DUNNO = "dunno"  # DUNNO, WARN, INFO, and actions that only note something
    SIDE = "side"  # HOLD, DISCARD, FILTER, PREPEND, REDIRECT, BCC: do something, then go on
    RESTRICTIONS = "restrictions"  # a restriction list evaluated in place


@dataclass(frozen=True)
class Action:
    word: str
    """The first word, upper-cased (``REJECT``, ``450``, ``PERMIT_MYNETWORKS``)."""
    text: str
    """What follows the first word."""
    effect: Effect
    error: str | None = None
    """Why Postfix will not do what this value says (None: fine)."""


def known_restriction(name: str) -> bool:
    """Whether smtpd knows the restriction ``name`` (case-insensitive): the catalogue says."""
    return catalogue.lookup(name) is not None


_CODE = re.compile(r"[45][0-9][0-9]\Z")
_HEADER = re.compile(r"[\x21-\x39\x3b-\x7e]+:")


def split_restrictions(value: str) -> list[str]:
    """Words of a restriction list in a table value: commas and/or whitespace separate."""
    return [w for w in re.split(r"[\s,]+", value) if w]


def classify(value: str, restriction_classes: frozenset[str] = frozenset()) -> Action:
    """What smtpd does with the access table value ``value``."""
    parts = value.split(None, 1)
    if not parts:
        return Action(
            "",
            "",
            Effect.PERMIT,
            "empty value: Postfix treats a match as an error (451 4.3.5 to the client)",
        )
    word = parts[0]
    text = parts[1].strip() if len(parts) > 1 else ""
    up = word.upper()
    simple = {
        "DUNNO": Effect.DUNNO,
        "WARN": Effect.DUNNO,
        "INFO": Effect.DUNNO,
        "REJECT": Effect.REJECT,
        "DEFER": Effect.DEFER,
        "DEFER_IF_PERMIT": Effect.DEFER,
        "DEFER_IF_REJECT": Effect.DEFER,
        "HOLD": Effect.SIDE,
        "DISCARD": Effect.SIDE,
        "OK": Effect.PERMIT,
        "RELAY": Effect.PERMIT,
    }
    if up in simple:
        return Action(up, text, simple[up])
    if up == "FILTER":
        err = None if ":" in text else "FILTER needs transport:destination (Postfix ignores it)"
        return Action(up, text, Effect.SIDE, err)
    if up in ("REDIRECT", "BCC"):
        err = None if "@" in text else f"{up} needs a user@domain address (Postfix ignores it)"
        return Action(up, text, Effect.SIDE, err)
    if up == "PREPEND":
        err = None if _HEADER.match(text) else "PREPEND needs 'Header-Name: value'"
        return Action(up, text, Effect.SIDE, err)
    if value.strip().isdigit():
        return Action(up, text, Effect.PERMIT)  # all-numeric: OK (pop-before-smtp style)
    if _CODE.match(word) and text:
        return Action(up, text, Effect.REJECT if word[0] == "5" else Effect.DEFER)
    if ":" in value:
        return Action(
            up,
            text,
            Effect.RESTRICTIONS,
            "a lookup table inside an access table value: smtpd answers "
            "451 4.3.5 (use a restriction class)",
        )
    return _restrictions(up, text, value, restriction_classes)


def _restrictions(up: str, text: str, value: str, classes: frozenset[str]) -> Action:
    words = split_restrictions(value)
    i = 0
    lowered = {c.lower() for c in classes}
    while i < len(words):
        name = words[i]
        if name.lower() in lowered:
            i += 1
            continue
        if not known_restriction(name):
            why = (
                f"unknown action or restriction name {name!r}: smtpd answers "
                "451 4.3.5 Server configuration error to everyone this entry matches"
            )
            if re.fullmatch(r"[0-9]{3}", name):
                why = f"{name} needs a text after it (e.g. '{name} 4.7.1 Go away')"
            return Action(up, text, Effect.RESTRICTIONS, why)
        i += 1 + catalogue.argument_count(name)
    first = words[0].lower() if words else ""
    effect = Effect.RESTRICTIONS
    if len(words) == 1 and first == "permit":
        effect = Effect.PERMIT
    elif len(words) == 1 and first == "reject":
        effect = Effect.REJECT
    return Action(up, text, effect)
