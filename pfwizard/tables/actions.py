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


# Restriction names smtpd 3.7 accepts (smtpd_check.c generic_checks).  The catalogue module
# will own this list; until it offers ``lookup`` we keep our own copy (see known_restriction).
_LOCAL_RESTRICTIONS = frozenset({
    "check_address_map", "check_ccert_access", "check_client_access", "check_client_a_access",
    "check_client_mx_access", "check_client_ns_access", "check_etrn_access",
    "check_helo_access", "check_helo_a_access", "check_helo_mx_access", "check_helo_ns_access",
    "check_policy_service", "check_recipient_maps", "check_recipient_access",
    "check_recipient_a_access", "check_recipient_mx_access", "check_recipient_ns_access",
    "check_relay_domains", "check_reverse_client_hostname_access",
    "check_reverse_client_hostname_a_access", "check_reverse_client_hostname_mx_access",
    "check_reverse_client_hostname_ns_access", "check_sasl_access", "check_sender_access",
    "check_sender_a_access", "check_sender_mx_access", "check_sender_ns_access", "defer",
    "defer_if_permit", "defer_if_reject", "defer_unauth_destination", "permit",
    "permit_auth_destination", "permit_dnswl_client", "permit_inet_interfaces",
    "permit_mx_backup", "permit_mynetworks", "permit_naked_ip_address", "permit_rhswl_client",
    "permit_sasl_authenticated", "permit_tls_all_clientcerts", "permit_tls_clientcerts",
    "reject", "reject_authenticated_sender_login_mismatch", "reject_invalid_helo_hostname",
    "reject_invalid_hostname", "reject_known_sender_login_mismatch", "reject_maps_rbl",
    "reject_multi_recipient_bounce", "reject_non_fqdn_helo_hostname",
    "reject_non_fqdn_hostname", "reject_non_fqdn_recipient", "reject_non_fqdn_sender",
    "reject_plaintext_session", "reject_rbl", "reject_rbl_client", "reject_rhsbl_client",
    "reject_rhsbl_helo", "reject_rhsbl_recipient", "reject_rhsbl_reverse_client",
    "reject_rhsbl_sender", "reject_sender_login_mismatch", "reject_unauth_destination",
    "reject_unauth_pipelining", "reject_unauthenticated_sender_login_mismatch",
    "reject_unknown_address", "reject_unknown_client", "reject_unknown_client_hostname",
    "reject_unknown_helo_hostname", "reject_unknown_hostname",
    "reject_unknown_recipient_domain", "reject_unknown_reverse_client_hostname",
    "reject_unknown_sender_domain", "reject_unlisted_recipient", "reject_unlisted_sender",
    "reject_unverified_recipient", "reject_unverified_sender", "sleep", "warn_if_reject",
})
_LOCAL_TAKES_ONE = frozenset({"sleep"})


def known_restriction(name: str) -> bool:
    """Whether smtpd knows the restriction ``name`` (case-insensitive)."""
    # TODO(catalogue): when pfwizard.catalogue.lookup lands, it is the single source.
    lookup = getattr(catalogue, "lookup", None)
    if lookup is not None:
        try:
            if lookup(name) is not None:
                return True
        except (KeyError, ValueError):
            pass
    return name.lower() in _LOCAL_RESTRICTIONS


def _argument_count(name: str) -> int:
    return max(catalogue.argument_count(name), 1 if name.lower() in _LOCAL_TAKES_ONE else 0)


_CODE = re.compile(r"[45][0-9][0-9]\Z")
_HEADER = re.compile(r"[\x21-\x39\x3b-\x7e]+:")


def split_restrictions(value: str) -> list[str]:
    """Words of a restriction list in a table value: commas and/or whitespace separate."""
    return [w for w in re.split(r"[\s,]+", value) if w]


def classify(value: str, restriction_classes: frozenset[str] = frozenset()) -> Action:
    """What smtpd does with the access table value ``value``."""
    parts = value.split(None, 1)
    if not parts:
        return Action("", "", Effect.PERMIT,
                      "empty value: Postfix treats a match as an error (451 4.3.5 to the client)")
    word = parts[0]
    text = parts[1].strip() if len(parts) > 1 else ""
    up = word.upper()
    simple = {"DUNNO": Effect.DUNNO, "WARN": Effect.DUNNO, "INFO": Effect.DUNNO,
              "REJECT": Effect.REJECT, "DEFER": Effect.DEFER, "DEFER_IF_PERMIT": Effect.DEFER,
              "DEFER_IF_REJECT": Effect.DEFER, "HOLD": Effect.SIDE, "DISCARD": Effect.SIDE,
              "OK": Effect.PERMIT, "RELAY": Effect.PERMIT}
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
        return Action(up, text, Effect.RESTRICTIONS,
                      "a lookup table inside an access table value: smtpd answers "
                      "451 4.3.5 (use a restriction class)")
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
            why = (f"unknown action or restriction name {name!r}: smtpd answers "
                   "451 4.3.5 Server configuration error to everyone this entry matches")
            if re.fullmatch(r"[0-9]{3}", name):
                why = f"{name} needs a text after it (e.g. '{name} 4.7.1 Go away')"
            return Action(up, text, Effect.RESTRICTIONS, why)
        i += 1 + _argument_count(name)
    first = words[0].lower() if words else ""
    effect = Effect.RESTRICTIONS
    if len(words) == 1 and first == "permit":
        effect = Effect.PERMIT
    elif len(words) == 1 and first == "reject":
        effect = Effect.REJECT
    return Action(up, text, effect)
