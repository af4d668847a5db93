"""The one line of words Review shows above the diff, read from the plan's own bytes."""

from __future__ import annotations

from pathlib import Path

from pfwizard.engine.changeset import FilePlan, Plan
from pfwizard.plan_words import count, describe, list_change, list_name

V75_SENDER = (
    "reject_non_fqdn_sender, reject_unknown_sender_domain, "
    "reject_authenticated_sender_login_mismatch, "
    "reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]"
)


def main_cf(before: dict[str, str], after: dict[str, str]) -> FilePlan:
    def text(params: dict[str, str]) -> bytes:
        return "".join(f"{k} = {v}\n" for k, v in params.items()).encode()

    return FilePlan(Path("/etc/postfix/main.cf"), text(before), text(after), "", role="main.cf")


def table(before: bytes | None, after: bytes | None) -> FilePlan:
    return FilePlan(
        Path("/etc/postfix/pfwizard/sender_access"), before, after, "", map_type="regexp"
    )


def test_the_seed_change_in_words():
    plan = Plan(
        Path("/etc/postfix"),
        [
            table(None, b"/^x@example\\.com$/ PERMIT\n"),
            main_cf(
                {"smtpd_sender_restrictions": V75_SENDER},
                {
                    "smtpd_sender_restrictions": V75_SENDER.replace(
                        "reject_non_fqdn_sender, ",
                        "reject_non_fqdn_sender, check_sender_access "
                        "regexp:/etc/postfix/pfwizard/sender_access, ",
                    )
                },
            ),
            FilePlan(
                Path("/var/lib/pfwizard/customizations.yaml"), None, b"x: 1\n", "", role="intent"
            ),
        ],
    )
    assert describe(plan) == "adds one entry to the sender list and creates one table"


def test_removals_moves_argument_changes_and_plain_parameters():
    before = {
        "smtpd_recipient_restrictions": "permit_mynetworks, reject_unauth_destination, "
        "reject_rbl_client zen.spamhaus.org",
        "smtpd_helo_restrictions": "permit_mynetworks, reject_invalid_helo_hostname",
        "milter_protocol": "6",
    }
    after = {
        "smtpd_recipient_restrictions": "permit_mynetworks, reject_rbl_client bl.example.org",
        "smtpd_helo_restrictions": "reject_invalid_helo_hostname, permit_mynetworks",
        "smtpd_helo_required": "yes",
    }
    words = describe(
        Plan(Path("/etc/postfix"), [main_cf(before, after), table(b"a OK\n", b"b OK\n")])
    )
    # Parameters in name order (the same line for the same plan, every time).
    assert words == (
        "removes milter_protocol (Postfix's default applies), "
        "sets smtpd_helo_required = yes, reorders the helo list, "
        "removes one entry from the recipient list, "
        "changes one argument in the recipient list and changes one table"
    )


def test_lists_milters_counts_and_an_empty_plan():
    assert list_name("smtpd_end_of_data_restrictions") == "the end-of-data list"
    assert list_name("smtpd_milters") == "the milter list"
    assert list_name("mynetworks") is None
    assert list_change(
        "smtpd_milters", "inet:127.0.0.1:8891", "inet:127.0.0.1:8891, inet:127.0.0.1:8893"
    ) == ["adds one entry to the milter list"]
    assert count(2, "entry", "entries") == "two entries" and count(12, "table") == "12 tables"
    assert describe(Plan(Path("/etc/postfix"), [])) == ""
    assert (
        describe(Plan(Path("/etc/postfix"), [table(None, None), table(b"x OK\n", None)]))
        == "deletes one table"
    )
