"""Reading back hand-made values a MiaB setup run commented out (restore --adopt)."""

from __future__ import annotations

import pytest

from pfwizard.chain import Item
from pfwizard.intent import OpKind
from pfwizard.intent.adopt import find_adoptions
from pfwizard.maincf import MainCf
from tests.miab_setup import FIXTURES


@pytest.mark.parametrize(
    "name",
    [
        "main.cf.v75-fresh",
        "main.cf.v60-upgraded-to-v75",
        "main.cf.customized-before-v75-setup",
        "main.cf.v66-fresh",
    ],
)
def test_miab_own_trail_of_old_values_is_not_mistaken_for_the_admin(name):
    assert find_adoptions(MainCf.read(FIXTURES / name)) == []


def test_glued_and_commented_values_are_read_back_against_the_closest_miab_chain():
    found = {
        a.intent.parameter: a
        for a in find_adoptions(MainCf.read(FIXTURES / "main.cf.customized-after-v75-setup"))
    }
    (op,) = found["smtpd_sender_restrictions"].intent.operations
    assert (op.kind, op.item, op.before) == (
        OpKind.INSERT,
        Item("permit_sasl_authenticated"),
        Item("reject_non_fqdn_sender"),
    )
    assert found["smtpd_sender_restrictions"].line == 82
    (op,) = found["smtpd_recipient_restrictions"].intent.operations
    assert op.item == Item("reject_rbl_client", "bl.spamcop.net")
    assert "zen.spamhaus.org=127.0.0.[2..11]" in str(
        found["smtpd_recipient_restrictions"].intent.base
    )


def test_chains_already_recorded_are_left_alone():
    cf = MainCf.read(FIXTURES / "main.cf.customized-after-v75-setup")
    found = find_adoptions(cf, {"smtpd_sender_restrictions"})
    assert [a.intent.parameter for a in found] == ["smtpd_recipient_restrictions"]


def test_an_old_miab_value_pfwizard_does_not_know_is_still_miab_s_trail():
    # MiaB before v0.11 (2015) had no reject_authenticated_sender_login_mismatch.
    cf = MainCf.parse(
        "smtpd_sender_restrictions=reject_non_fqdn_sender,reject_unknown_sender_domain,"
        "reject_authenticated_sender_login_mismatch,reject_rhsbl_sender dbl.spamhaus.org\n"
        "#smtpd_sender_restrictions=reject_non_fqdn_sender,reject_unknown_sender_domain,"
        "reject_rhsbl_sender dbl.spamhaus.org\n"
    )
    assert find_adoptions(cf) == []
