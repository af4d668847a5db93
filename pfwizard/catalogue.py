"""The smtpd restriction catalogue (foundation stub: argument counts only).

The full catalogue (lists, effects, DNS dependence, versions, risk text) replaces this module;
``argument_count`` keeps its signature because the chain parser depends on it.
"""

from __future__ import annotations

# Restrictions that consume the next word of the list as their argument.
_TAKES_ONE = frozenset(
    {
        "check_ccert_access",
        "check_client_access",
        "check_client_a_access",
        "check_client_mx_access",
        "check_client_ns_access",
        "check_reverse_client_hostname_access",
        "check_reverse_client_hostname_a_access",
        "check_reverse_client_hostname_mx_access",
        "check_reverse_client_hostname_ns_access",
        "check_helo_access",
        "check_helo_a_access",
        "check_helo_mx_access",
        "check_helo_ns_access",
        "check_sender_access",
        "check_sender_a_access",
        "check_sender_mx_access",
        "check_sender_ns_access",
        "check_recipient_access",
        "check_recipient_a_access",
        "check_recipient_mx_access",
        "check_recipient_ns_access",
        "check_sasl_access",
        "check_etrn_access",
        "check_policy_service",
        "reject_rbl_client",
        "reject_rhsbl_client",
        "reject_rhsbl_reverse_client",
        "reject_rhsbl_helo",
        "reject_rhsbl_sender",
        "reject_rhsbl_recipient",
        "permit_dnswl_client",
        "permit_rhswl_client",
    }
)


def argument_count(name: str) -> int:
    """How many following words the restriction ``name`` consumes (0 or 1)."""
    return 1 if name.lower() in _TAKES_ONE else 0
