"""Each finding built from the real MiaB fixtures (and seed 000's allowlist)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pfwizard import catalogue
from pfwizard.analyser import analyse, analyse_params, postfix_refuses_relay
from pfwizard.chain import Chain
from pfwizard.findings import Severity, worst
from pfwizard.maincf import MainCf

FIX = Path(__file__).resolve().parent / "fixtures" / "miab"
MAIN_FIXTURES = sorted(p.name for p in FIX.glob("main.cf.*"))
SEED_TABLE = (
    "# Cisco Secure Email Threat Defense (DMARC domains)\n"
    "/^MAILER-DAEMON@esa[0-9]*\\.([a-z0-9-]+\\.){1,2}iphmx\\.com$/ PERMIT\n"
)


def params_of(name: str) -> dict[str, str]:
    return MainCf.read(FIX / name).parameters()


def codes(findings, severity: Severity | None = None) -> set[str]:
    return {f.code for f in findings if severity is None or f.severity is severity}


def by_code(findings, code: str):
    return [f for f in findings if f.code == code]


@pytest.mark.parametrize("name", MAIN_FIXTURES)
def test_every_fixture_chain_round_trips(name):
    cf = MainCf.read(FIX / name)
    lists = set(catalogue.LIST_PARAMS.values())
    seen = 0
    for d in cf.definitions():
        if d.name in lists:
            assert Chain.parse(d.value).render() == d.value
            seen += 1
    assert seen >= 2


@pytest.mark.parametrize("name", MAIN_FIXTURES)
def test_miab_as_shipped_is_safe(name):
    findings = analyse(MainCf.read(FIX / name), FIX, (FIX / "master.cf.v75").read_text())
    assert worst(findings) is not Severity.DANGER
    assert not postfix_refuses_relay(params_of(name))
    assert "open-relay" not in codes(findings)
    assert "unknown-restriction" not in codes(findings)


def test_v75_fresh_findings():
    f = analyse(MainCf.read(FIX / "main.cf.v75-fresh"), FIX, (FIX / "master.cf.v75").read_text())
    assert worst(f) is Severity.INFO
    miab = by_code(f, "miab-hits-authenticated")
    assert len(miab) == 1 and miab[0].parameter == "smtpd_sender_restrictions"
    assert "submission" in miab[0].message
    dns = {x.entry for x in by_code(f, "dns-dependent")}
    assert "reject_unknown_sender_domain" in dns
    assert "reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]" in dns
    # MiaB v68's reply filters are in place
    assert "rbl-no-reply-filter" not in codes(f)


def test_miab_addition_to_sender_list_hits_logged_in_users():
    params = params_of("main.cf.v75-fresh")
    chain = Chain.parse(params["smtpd_sender_restrictions"])
    chain.items.insert(1, Chain.parse("reject_unknown_helo_hostname").items[0])
    params["smtpd_sender_restrictions"] = chain.render()
    f = by_code(
        analyse_params(params, None, (FIX / "master.cf.v75").read_text()), "miab-hits-authenticated"
    )
    assert len(f) == 1 and f[0].severity is Severity.CAUTION
    assert "reject_unknown_helo_hostname" in f[0].message
    # a submission service that overrides the list exempts logged-in users
    master = (
        (FIX / "master.cf.v75")
        .read_text()
        .replace(
            "-o smtpd_sasl_auth_enable=yes",
            "-o smtpd_sasl_auth_enable=yes -o smtpd_sender_restrictions=permit_sasl_authenticated",
        )
    )
    assert not by_code(analyse_params(params, None, master), "miab-hits-authenticated")
    # not a MiaB: nothing to say
    del params["smtpd_banner"], params["virtual_mailbox_maps"], params["smtpd_sender_login_maps"]
    assert not by_code(analyse_params(params), "miab-hits-authenticated")


def test_customized_after_v75_glued_lines():
    cf = MainCf.read(FIX / "main.cf.customized-after-v75-setup")
    f = analyse(cf, FIX, (FIX / "master.cf.customized-after-v75-setup").read_text())
    glued = by_code(f, "glued-lines")
    assert len(glued) == 1 and glued[0].severity is Severity.CAUTION
    assert glued[0].parameter == "smtpd_sender_restrictions"
    assert "permit_sasl_authenticated" in glued[0].message
    dup = {x.entry for x in by_code(f, "duplicate-entry")}
    assert "reject_unknown_sender_domain" in dup
    # the glued permit_sasl_authenticated comes after MiaB's checks: users are still hit
    assert by_code(f, "miab-hits-authenticated")
    # the admin's old v60 chain, commented out, had no reply filter: say so when it is live
    old = "reject_rbl_client zen.spamhaus.org"
    params = cf.parameters()
    params["smtpd_recipient_restrictions"] = params["smtpd_recipient_restrictions"].replace(
        "zen.spamhaus.org=127.0.0.[2..11]", "zen.spamhaus.org"
    )
    nf = by_code(analyse_params(params), "rbl-no-reply-filter")
    assert len(nf) == 1 and nf[0].entry == old and nf[0].severity is Severity.CAUTION
    assert "127.255.255.254" in nf[0].message


def _seed_params(tmp_path: Path, before_rhsbl: bool) -> dict[str, str]:
    table = tmp_path / "cisco_dmarc_sender_access"
    table.write_text(SEED_TABLE)
    params = params_of("main.cf.v75-fresh")
    entry = f"check_sender_access regexp:{table}"
    if before_rhsbl:  # the forum answer: before reject_unknown_sender_domain
        chain = [
            "reject_non_fqdn_sender",
            entry,
            "reject_unknown_sender_domain",
            "reject_authenticated_sender_login_mismatch",
            "reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]",
        ]
    else:  # the admin's reordering: the DBL check first
        chain = [
            "reject_non_fqdn_sender",
            "reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]",
            entry,
            "reject_authenticated_sender_login_mismatch",
            "reject_unknown_sender_domain",
        ]
    params["smtpd_sender_restrictions"] = ",\n    ".join(chain)
    return params


def test_seed000_allowlist_before_dbl_is_an_order_bypass(tmp_path):
    f = by_code(analyse_params(_seed_params(tmp_path, True), tmp_path), "order-bypass")
    assert len(f) == 1
    assert f[0].severity is Severity.CAUTION and f[0].index == 1
    assert f[0].entry.startswith("check_sender_access regexp:")
    assert "reject_rhsbl_sender" in f[0].message and "reject_unknown_sender_domain" in f[0].message


def test_seed000_allowlist_after_dbl_is_not(tmp_path):
    f = by_code(analyse_params(_seed_params(tmp_path, False), tmp_path), "order-bypass")
    assert all(x.severity is Severity.INFO for x in f)
    assert all("reject_rhsbl_sender" not in x.message for x in f)


def test_table_that_never_permits_bypasses_nothing(tmp_path):
    params = _seed_params(tmp_path, True)
    (tmp_path / "cisco_dmarc_sender_access").write_text("/spam\\.example$/ REJECT\n")
    assert not by_code(analyse_params(params, tmp_path), "order-bypass")


def test_dead_entries_after_unconditional_verdict():
    params = {
        "compatibility_level": "3.6",
        "smtpd_helo_restrictions": "permit_mynetworks, reject, reject_invalid_helo_hostname",
    }
    f = by_code(analyse_params(params), "dead-entry")
    assert len(f) == 1 and f[0].index == 2 and f[0].severity is Severity.CAUTION
    params["smtpd_helo_restrictions"] = "warn_if_reject reject, reject_invalid_helo_hostname"
    assert not by_code(analyse_params(params), "dead-entry")


def test_wrong_list():
    params = {
        "compatibility_level": "3.6",
        "smtpd_sender_restrictions": "reject_unauth_pipelining",
        "smtpd_data_restrictions": "reject_unlisted_recipient, check_etrn_access hash:/x",
    }
    f = analyse_params(params)
    wrong = {(x.parameter, x.entry, x.severity) for x in by_code(f, "wrong-list")}
    assert ("smtpd_sender_restrictions", "reject_unauth_pipelining", Severity.CAUTION) in wrong
    assert ("smtpd_data_restrictions", "reject_unlisted_recipient", Severity.INFO) in wrong
    assert ("smtpd_data_restrictions", "check_etrn_access hash:/x", Severity.CAUTION) in wrong
    params = {
        "compatibility_level": "3.6",
        "smtpd_delay_reject": "no",
        "smtpd_client_restrictions": "reject_unknown_sender_domain",
    }
    f = by_code(analyse_params(params), "wrong-list")
    assert len(f) == 1 and "smtpd_delay_reject = no" in f[0].message


def test_unknown_names_and_bad_arguments():
    params = {
        "compatibility_level": "3.6",
        "smtpd_sender_restrictions": "reject_non_fqdn_sender # keep this, "
        "check_sender_access, sleep soon",
        "smtpd_data_restrictions": "hash:/etc/postfix/x",
    }
    f = analyse_params(params)
    unknown = {x.entry for x in by_code(f, "unknown-restriction")}
    assert {"#", "keep", "this", "hash:/etc/postfix/x"} <= unknown
    assert any("comment" in x.message for x in by_code(f, "unknown-restriction"))
    bad = {x.entry for x in by_code(f, "bad-argument")}
    assert {
        "check_sender_access sleep",
    } <= bad or "check_sender_access sleep" in bad
    assert all(not x.acceptable for x in by_code(f, "unknown-restriction"))


def test_missing_and_stale_tables(tmp_path):
    src = tmp_path / "access"
    src.write_text("example.com OK\n")
    db = tmp_path / "access.db"
    params = {
        "compatibility_level": "3.6",
        "smtpd_client_restrictions": f"check_client_access hash:{src}, "
        f"check_client_access texthash:{tmp_path}/nothere",
    }
    f = analyse_params(params, tmp_path)
    missing = by_code(f, "missing-table")
    assert len(missing) == 2 and all(x.severity is Severity.DANGER for x in missing)
    assert any("postmap" in x.message for x in missing)
    db.write_bytes(b"")
    now = time.time()
    os.utime(db, (now - 100, now - 100))
    os.utime(src, (now - 10, now - 10))
    stale = by_code(analyse_params(params, tmp_path), "stale-db")
    assert len(stale) == 1 and stale[0].index == 0
    os.utime(db, (now, now))
    assert not by_code(analyse_params(params, tmp_path), "stale-db")
    # no config dir: the disk is not looked at (the wizard recomputing on every key press)
    assert not by_code(analyse_params(params), "missing-table")


def test_table_paths_follow_config_dir(tmp_path):
    (tmp_path / "allow").write_text("example.com OK\n")
    params = {
        "compatibility_level": "3.6",
        "smtpd_sender_restrictions": "check_sender_access texthash:/etc/postfix/allow",
    }
    assert not by_code(analyse_params(params, tmp_path), "missing-table")


def test_open_relay_rules():
    base = {"compatibility_level": "3.6"}
    dies = dict(
        base,
        smtpd_relay_restrictions="permit_mynetworks",
        smtpd_recipient_restrictions="permit_sasl_authenticated, reject_rbl_client x",
    )
    assert postfix_refuses_relay(dies)
    f = by_code(analyse_params(dies), "open-relay")
    assert len(f) == 1 and f[0].severity is Severity.DANGER and not f[0].acceptable
    assert "no greeting" in f[0].message
    # smtpd starts (the guard is there) but an outsider-triggerable permit comes first
    dnswl = dict(
        base,
        smtpd_relay_restrictions="permit_dnswl_client list.dnswl.org, reject_unauth_destination",
    )
    assert not postfix_refuses_relay(dnswl)
    f = by_code(analyse_params(dnswl), "open-relay")
    assert len(f) == 1 and f[0].entry == "permit_dnswl_client list.dnswl.org"
    # the recipient list guards it: no open relay
    dnswl["smtpd_recipient_restrictions"] = "permit_mynetworks, reject_unauth_destination"
    assert not by_code(analyse_params(dnswl), "open-relay")
    # compatibility_level < 1: smtpd_relay_restrictions defaults to empty
    assert postfix_refuses_relay({"smtpd_recipient_restrictions": "permit_mynetworks"})
    assert not postfix_refuses_relay({"compatibility_level": "2"})
    # a wide mynetworks makes permit_mynetworks an outsider's permit
    wide = dict(
        base,
        mynetworks="0.0.0.0/0",
        smtpd_relay_restrictions="permit_mynetworks, reject_unauth_destination",
    )
    assert by_code(analyse_params(wide), "open-relay")
    assert by_code(analyse_params(wide), "wide-mynetworks")[0].severity is Severity.DANGER


def test_classes_and_parameter_references():
    params = {
        "compatibility_level": "3.6",
        "smtpd_restriction_classes": "allowlist, missing",
        "allowlist": "check_sender_access hash:/etc/postfix/allow",
        "relay_tail": "reject_unauth_destination",
        "smtpd_relay_restrictions": "permit_mynetworks, $relay_tail",
        "smtpd_sender_restrictions": "allowlist, reject_rhsbl_sender dbl.spamhaus.org=1",
        "smtpd_recipient_restrictions": "${extra_checks}",
    }
    assert not postfix_refuses_relay(params)
    f = analyse_params(params)
    assert "open-relay" not in codes(f)
    undefined = by_code(f, "undefined-class")
    assert len(undefined) == 1 and "missing" in undefined[0].message
    bypass = by_code(f, "order-bypass")
    assert (
        len(bypass) == 1
        and bypass[0].entry == "allowlist"
        and "inside allowlist" in (bypass[0].message)
    )
    assert any("$extra_checks" in x.message for x in by_code(f, "undefined-parameter"))
    # the guard inside a class counts, as it does for smtpd
    cls = {
        "compatibility_level": "3.6",
        "smtpd_restriction_classes": "guard",
        "guard": "reject_unauth_destination",
        "smtpd_relay_restrictions": "guard",
    }
    assert not postfix_refuses_relay(cls)
    cls["smtpd_relay_restrictions"] = "GUARD"  # class names are case-sensitive in smtpd
    assert postfix_refuses_relay(cls)


def test_parameter_risks_reported():
    params = params_of("main.cf.v75-fresh")
    params["milter_default_action"] = "tempfail"
    f = by_code(analyse_params(params), "parameter-risk")
    assert any(x.parameter == "milter_default_action" and x.severity is Severity.CAUTION for x in f)
    params["mynetworks"] += " 192.168.1.0/24"
    w = by_code(analyse_params(params), "wide-mynetworks")
    assert len(w) == 1 and "NAT" in w[0].message


def test_removed_restriction():
    params = {"compatibility_level": "3.6", "smtpd_helo_restrictions": "permit_naked_ip_address"}
    f = by_code(analyse_params(params), "removed-restriction")
    assert len(f) == 1 and "3.9" in f[0].message


def test_findings_are_sorted_worst_first():
    params = {
        "compatibility_level": "3.6",
        "smtpd_sender_restrictions": "reject_unknown_sender_domain, reject_unknown_sender_domian",
    }
    f = analyse_params(params)
    ranks = [x.severity.rank for x in f]
    assert ranks == sorted(ranks, reverse=True)
