"""The catalogue as data: complete against Postfix's own list of names, every entry says where
it works and what can go wrong, and the issue's examples are said in words."""

from __future__ import annotations

import pytest

from pfwizard import catalogue
from pfwizard.catalogue import (
    ACCESS_ACTIONS,
    LIST_PARAMS,
    LISTS,
    ArgKind,
    Effect,
    Restriction,
    Risk,
    access_action,
    action_permits,
    argument_count,
    for_list,
    lookup,
    parameter_risk,
)
from pfwizard.findings import Severity

# Every name generic_checks() in smtpd_check.c (Postfix 3.6.0 .. 3.12 snapshot, identical)
# compares against, plus the built-in class reject_sender_login_mismatch.
POSTFIX_NAMES = """
check_ccert_access check_client_access check_client_a_access check_client_mx_access
check_client_ns_access check_etrn_access check_helo_access check_helo_a_access
check_helo_mx_access check_helo_ns_access check_policy_service check_recipient_maps
check_recipient_access check_recipient_a_access check_recipient_mx_access
check_recipient_ns_access check_relay_domains check_reverse_client_hostname_access
check_reverse_client_hostname_a_access check_reverse_client_hostname_mx_access
check_reverse_client_hostname_ns_access check_sasl_access check_sender_access
check_sender_a_access check_sender_mx_access check_sender_ns_access defer defer_if_permit
defer_if_reject defer_unauth_destination permit permit_auth_destination permit_dnswl_client
permit_inet_interfaces permit_mx_backup permit_mynetworks permit_naked_ip_address
permit_rhswl_client permit_sasl_authenticated permit_tls_all_clientcerts permit_tls_clientcerts
reject reject_authenticated_sender_login_mismatch reject_invalid_helo_hostname
reject_invalid_hostname reject_known_sender_login_mismatch reject_maps_rbl
reject_multi_recipient_bounce reject_non_fqdn_helo_hostname reject_non_fqdn_hostname
reject_non_fqdn_recipient reject_non_fqdn_sender reject_plaintext_session reject_rbl
reject_rbl_client reject_rhsbl_client reject_rhsbl_helo reject_rhsbl_recipient
reject_rhsbl_reverse_client reject_rhsbl_sender reject_unauth_destination
reject_unauth_pipelining reject_unauthenticated_sender_login_mismatch reject_unknown_address
reject_unknown_client reject_unknown_client_hostname reject_unknown_helo_hostname
reject_unknown_hostname reject_unknown_recipient_domain reject_unknown_reverse_client_hostname
reject_unknown_sender_domain reject_unlisted_recipient reject_unlisted_sender
reject_unverified_recipient reject_unverified_sender sleep warn_if_reject
reject_sender_login_mismatch
""".split()  # noqa: SIM905 (reads like the Postfix source)


def test_lists_and_parameters():
    assert LISTS == ["client", "helo", "sender", "relay", "recipient", "data", "end_of_data"]
    assert list(LIST_PARAMS) == LISTS
    assert LIST_PARAMS["end_of_data"] == "smtpd_end_of_data_restrictions"
    assert all(v == f"smtpd_{k}_restrictions" for k, v in LIST_PARAMS.items())


def test_catalogue_is_exactly_what_smtpd_knows():
    assert set(catalogue.RESTRICTIONS) == set(POSTFIX_NAMES)
    # documented but never implemented: smtpd answers 451 4.3.5
    assert lookup("reject_unknown_forward_client_hostname") is None


@pytest.mark.parametrize("r", list(catalogue.RESTRICTIONS.values()), ids=lambda r: r.name)
def test_every_entry_is_complete(r: Restriction):
    assert r.name == r.name.lower()
    assert r.lists <= set(LISTS)
    assert r.delayed <= r.lists
    assert isinstance(r.risk, Risk) and isinstance(r.risk.level, Severity)
    assert len(r.risk.text) > 30 and r.risk.text.endswith((".", ")"))
    assert r.summary and r.since[0].isdigit()
    assert isinstance(r.arg_kind, ArgKind) and isinstance(r.effect, Effect)
    if r.alias_of is not None:
        assert lookup(r.alias_of) is not None
    if r.name != "check_etrn_access":
        assert r.lists, "every restriction works in some list"


def test_lookup_is_case_insensitive_like_smtpd():
    assert lookup("REJECT_UNKNOWN_SENDER_DOMAIN") is lookup("reject_unknown_sender_domain")
    assert lookup("Permit_MyNetworks") is not None
    assert lookup("reject_unknown_sender_domian") is None


def test_argument_counts():
    for name in (
        "check_sender_access",
        "reject_rbl_client",
        "check_policy_service",
        "sleep",
        "reject_rbl",
        "permit_dnswl_client",
        "CHECK_SENDER_ACCESS",
    ):
        assert argument_count(name) == 1, name
    for name in ("permit", "reject_unauth_destination", "unknown_thing", "$foo"):
        assert argument_count(name) == 0, name


def test_for_list_placement():
    sender = {r.name for r in for_list("sender")}
    assert "reject_unknown_sender_domain" in sender
    assert "reject_unauth_destination" in sender  # works there with smtpd_delay_reject=yes
    assert "sender" in lookup("reject_unauth_destination").delayed
    data = {r.name for r in for_list("data")}
    assert "reject_unauth_pipelining" in data
    assert "reject_unauth_destination" not in data
    assert "reject_unauth_pipelining" not in {r.name for r in for_list("sender")}
    assert lookup("reject_unknown_helo_hostname").delayed == {"client"}
    assert "smtpd_delay_reject" in lookup("reject_unknown_helo_hostname").condition
    with pytest.raises(KeyError):
        for_list("etrn")


def test_versions():
    assert lookup("check_sender_a_access").since == "3.0"
    assert lookup("defer_unauth_destination").since == "2.10"
    assert lookup("permit_naked_ip_address").removed == "3.9"
    assert lookup("check_relay_domains").removed == "3.9"
    assert lookup("reject_maps_rbl").removed == "3.9"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("reject_unknown_helo_hostname", ["real senders", "DNS"]),
        ("reject_unknown_sender_domain", ["Real senders", "broken DNS", "Cisco"]),
        ("reject_rbl_client", ["reply filter", "every client", "public"]),
        ("check_sender_access", ["OK or PERMIT", "skips every later check"]),
        ("permit_mynetworks", ["NAT", "relay"]),
        ("permit", ["open relay"]),
        ("reject_rhsbl_sender", ["reply filter"]),
    ],
)
def test_issue_examples_are_said(name, words):
    text = lookup(name).risk.text
    for w in words:
        assert w.lower() in text.lower(), (name, w)


def test_parameter_risks():
    r = parameter_risk("milter_default_action", "tempfail")
    assert r is not None and r.level is Severity.CAUTION and "defer" in r.text
    assert parameter_risk("milter_default_action", "reject").level is Severity.DANGER
    assert parameter_risk("mynetworks", "127.0.0.0/8 [::ffff:127.0.0.0]/104 [::1]/128") is None
    nat = parameter_risk("mynetworks", "127.0.0.0/8 192.168.0.0/16")
    assert nat is not None and nat.level is Severity.CAUTION and "NAT" in nat.text
    assert parameter_risk("mynetworks", "0.0.0.0/0").level is Severity.DANGER
    assert parameter_risk("mynetworks", "203.0.0.0/8").level is Severity.DANGER
    assert parameter_risk("mynetworks", "cidr:/etc/postfix/trusted") is None
    assert parameter_risk("smtpd_delay_reject", "no") is not None
    assert parameter_risk("myhostname", "box.example.com") is None


def test_access_actions():
    assert {
        "OK",
        "REJECT",
        "DEFER",
        "DEFER_IF_REJECT",
        "DEFER_IF_PERMIT",
        "DUNNO",
        "HOLD",
        "DISCARD",
        "FILTER",
        "PREPEND",
        "REDIRECT",
        "BCC",
        "WARN",
        "INFO",
    } <= set(ACCESS_ACTIONS)
    assert access_action("reject some text") is ACCESS_ACTIONS["REJECT"]
    assert access_action("450 4.7.1 go away") == "defer"
    assert access_action("554 no") == "reject"
    assert access_action("200") == "ok"
    assert access_action("permit_mynetworks") is lookup("permit_mynetworks")
    assert access_action("FROBNICATE") is None
    assert action_permits("PERMIT") and action_permits("ok") and action_permits("permit")
    assert not action_permits("DUNNO") and not action_permits("REJECT")
    assert not action_permits("DISCARD")
