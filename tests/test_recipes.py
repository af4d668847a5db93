"""Recipes as proposals (no bench): what each changes on MiaB's real configs, and the risk
text each placement carries. Recipes 1 and 2 run end to end in test_recipes_bench.py."""

from __future__ import annotations

import os
import socket
import time

import pytest

from pfwizard.chain import Chain
from pfwizard.findings import Severity
from pfwizard.maincf import MainCf
from pfwizard.recipes import (
    RecipeRefused,
    allowlist_unresolved_senders,
    box_domains,
    reject_own_domain_senders,
)
from pfwizard.recipes.forged_senders import forged_local_senders, table_lines, try_headers
from pfwizard.recipes.helo_dnsbl import helo_dnsbl
from pfwizard.recipes.opendmarc import opendmarc, reachable
from tests.bench.miab import fixture_path
from tests.conftest import needs_postfix

TABLE = "/^MAILER-DAEMON@esa[0-9]*\\.([a-z0-9-]+\\.){1,2}iphmx\\.com$/ PERMIT\n"


def v(name: str = "main.cf.v75-fresh") -> MainCf:
    return MainCf.read(fixture_path(name))


def names(value: str | None) -> list[str]:
    return Chain.parse(value or "").names()


def test_recipe1_placements_on_miab_v75():
    a = allowlist_unresolved_senders(v(), "/etc/postfix", TABLE, "before-unknown")
    assert names(a.params["smtpd_sender_restrictions"]) == [
        "reject_non_fqdn_sender",
        "check_sender_access",
        "reject_unknown_sender_domain",
        "reject_authenticated_sender_login_mismatch",
        "reject_rhsbl_sender",
    ]
    assert "reject_rhsbl_sender" in a.chosen.risk  # what a matching sender skips, by name
    [t] = a.tables
    assert str(t.path) == "/etc/postfix/pfwizard/unresolved_sender_allowlist"
    assert t.map_type == "regexp" and t.content == TABLE
    b = allowlist_unresolved_senders(v(), "/etc/postfix", TABLE, "after-rhsbl")
    chain = Chain.parse(b.params["smtpd_sender_restrictions"] or "")
    assert chain.names() == [
        "reject_non_fqdn_sender",
        "reject_rhsbl_sender",
        "check_sender_access",
        "reject_unknown_sender_domain",
        "reject_authenticated_sender_login_mismatch",
    ]
    assert chain.items[1].arg == "dbl.spamhaus.org=127.0.1.[2..99]"
    assert b.chosen.severity is Severity.INFO
    assert b.changeset().intent == {
        "recipe": "allowlist-unresolved-senders",
        "placement": "after-rhsbl",
    }


def test_recipe1_refuses_without_the_anchor():
    cf = MainCf.parse("smtpd_sender_restrictions = reject_non_fqdn_sender\n")
    with pytest.raises(RecipeRefused, match="reject_unknown_sender_domain"):
        allowlist_unresolved_senders(cf, "/etc/postfix", TABLE)


def test_recipe2_recipient_placement_on_miab_leaves_sender_list_alone():
    p = reject_own_domain_senders(v(), "/etc/postfix", ["box.example.com", "example.net"])
    assert list(p.params) == ["smtpd_recipient_restrictions"]
    assert names(p.params["smtpd_recipient_restrictions"])[:3] == [
        "permit_sasl_authenticated",
        "permit_mynetworks",
        "check_sender_access",
    ]
    assert p.tables[0].content.splitlines()[0].startswith("box.example.com REJECT ")


def test_recipe2_adds_permits_when_the_recipient_list_lacks_them():
    cf = MainCf.parse("smtpd_recipient_restrictions = reject_unauth_destination\n")
    p = reject_own_domain_senders(cf, "/etc/postfix", ["box.example.com"])
    assert names(p.params["smtpd_recipient_restrictions"]) == [
        "permit_sasl_authenticated",
        "permit_mynetworks",
        "check_sender_access",
        "reject_unauth_destination",
    ]
    assert any("added" in n for n in p.notes)


@needs_postfix
def test_box_domains_through_postfix_lookup(tmp_path):
    domains = tmp_path / "domains"
    domains.write_text("box.example.com OK\nexample.net OK\n# comment\n")
    (tmp_path / "main.cf").write_text(
        f"compatibility_level = 3.6\nvirtual_mailbox_domains = texthash:{domains}, "
        f"literal.example\n"
    )
    assert box_domains(tmp_path) == ["box.example.com", "example.net", "literal.example"]


def test_recipe3_filters_every_blocklist_on_v66():
    p = helo_dnsbl(v("main.cf.v66-fresh"))
    recipient = Chain.parse(p.params["smtpd_recipient_restrictions"] or "")
    assert "reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]" in [i.render() for i in recipient]
    sender = Chain.parse(p.params["smtpd_sender_restrictions"] or "")
    assert "reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]" in [i.render() for i in sender]
    assert p.params["smtpd_helo_required"] == "yes"
    assert names(p.params["smtpd_helo_restrictions"]) == [
        "permit_sasl_authenticated",
        "permit_mynetworks",
        "reject_invalid_helo_hostname",
        "reject_non_fqdn_helo_hostname",
    ]


def test_recipe3_on_v75_keeps_existing_filters_and_adds_no_duplicates():
    p = helo_dnsbl(v(), reject_unknown_helo=True)
    assert "smtpd_recipient_restrictions" not in p.params  # zen already there, filtered
    assert "smtpd_sender_restrictions" not in p.params
    assert "reject_unknown_helo_hostname" in names(p.params["smtpd_helo_restrictions"])
    risk = next(o for o in p.placements if o.key == "reject_unknown_helo_hostname")
    assert risk.severity is Severity.CAUTION


def test_recipe4_orders_dmarc_after_dkim_and_checks_the_socket():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        cf = MainCf.parse(f"smtpd_milters = inet:127.0.0.1:{port} inet:127.0.0.1:8891\n")
        p = opendmarc(cf, socket_name=f"inet:127.0.0.1:{port}", default_action="accept")
    assert p.params["smtpd_milters"] == f"inet:127.0.0.1:8891 inet:127.0.0.1:{port}"
    assert p.params["milter_default_action"] == "accept"  # unset means tempfail
    assert any(n.startswith("reachable: ") for n in p.notes)
    assert {o.key for o in p.placements} == {"accept", "tempfail", "reject", "quarantine"}
    assert next(o for o in p.placements if o.key == "reject").severity is Severity.DANGER


def test_recipe4_on_miab_changes_nothing_but_reports_a_dead_socket(tmp_path):
    p = opendmarc(v(), queue_directory=str(tmp_path))
    assert p.params == {}  # MiaB already runs 8891 then 8893, default action accept
    ok, detail = reachable("unix:opendmarc/opendmarc.sock", str(tmp_path))
    assert not ok and str(tmp_path) in detail


SAMPLES = {
    "From: nobody@box.example.com": "REJECT forged local sender",
    "From: mick@box.example.com": None,
    'From: "Mick" <mick@box.example.com>': None,
    "From: Mick+lists@box.example.com": None,
    'From: "x" <xmick@box.example.com>': "REJECT forged local sender",
    "From: someone@example.org": None,
    "From: nobody@box.example.com.evil.example": None,
    "Subject: nobody@box.example.com": None,
}


@needs_postfix
def test_recipe5_table_tested_with_sample_headers_like_seed004():
    text = "\n".join(table_lines(["admin@box.example.com", "mick@box.example.com"])) + "\n"
    answers = try_headers(text, list(SAMPLES))
    assert {h: answers.get(h) for h in SAMPLES} == SAMPLES


def miab_master(config_dir, fixture: str = "master.cf.v75"):
    (config_dir / "master.cf").write_bytes(fixture_path(fixture).read_bytes())
    return config_dir


def test_recipe5_authclean_adds_the_table_after_miabs_filter(tmp_path):
    etc = miab_master(tmp_path)
    p = forged_local_senders(v(), etc, ["mick@box.example.com"], hook="authclean")
    table = f"pcre:{etc}/pfwizard/forged_local_senders"
    assert p.params["header_checks"] == table
    want = f"pcre:/etc/postfix/outgoing_mail_header_filters,{table}"
    assert p.master_params == {"authclean/unix/header_checks": want}
    cs = p.changeset()
    assert cs.master_params == p.master_params and cs.params == p.params
    text = p.describe()
    assert f"master.cf authclean/unix: -o header_checks={want}" in text
    assert "by hand" not in text
    assert "authclean" in p.placements[0].risk
    assert "pfwizard restore" in p.chosen.risk and "upgrade" in p.chosen.risk
    main_only = forged_local_senders(v(), etc, ["mick@box.example.com"], hook="main-cf")
    assert main_only.master_params == {} and main_only.changeset().master_params == {}


def test_recipe5_authclean_is_not_added_twice(tmp_path):
    etc = miab_master(tmp_path)
    table = f"pcre:{etc}/pfwizard/forged_local_senders"
    master = etc / "master.cf"
    master.write_text(
        master.read_text().replace(
            "outgoing_mail_header_filters\n", f"outgoing_mail_header_filters,{table}\n"
        )
    )
    p = forged_local_senders(v(), etc, ["mick@box.example.com"], hook="authclean")
    assert p.master_params == {}


def test_recipe5_authclean_refused_where_there_is_no_authclean(tmp_path):
    (tmp_path / "master.cf").write_text(
        "smtp      inet  n       -       y       -       -       smtpd\n"
        "cleanup   unix  n       -       y       -       0       cleanup\n"
        "#authclean unix  n       -       -       -       0       cleanup\n"
    )
    with pytest.raises(RecipeRefused, match=r"no authclean cleanup service.*main-cf"):
        forged_local_senders(v(), tmp_path, ["mick@box.example.com"], hook="authclean")
    (tmp_path / "master.cf").unlink()
    with pytest.raises(RecipeRefused, match="no authclean"):
        forged_local_senders(v(), tmp_path, ["mick@box.example.com"], hook="authclean")
    # main-cf needs no master.cf at all.
    assert forged_local_senders(v(), tmp_path, ["mick@box.example.com"]).master_params == {}


# MiaB's lookup queries, as its setup writes /etc/postfix/virtual-*.cf (v66-v75).
MIAB_QUERIES = {
    "virtual-mailbox-domains.cf": "SELECT 1 FROM users WHERE email LIKE '%%@%s' "
    "UNION SELECT 1 FROM aliases WHERE source LIKE '%%@%s' "
    "UNION SELECT 1 FROM auto_aliases WHERE source LIKE '%%@%s'",
    "virtual-mailbox-maps.cf": "SELECT 1 FROM users WHERE email='%s'",
    "virtual-alias-maps.cf": "SELECT destination from (SELECT destination, 0 as priority "
    "FROM aliases WHERE source='%s' AND destination<>'' "
    "UNION SELECT email as destination, 1 as priority "
    "FROM users WHERE email='%s' UNION SELECT destination, 2 as priority FROM "
    "auto_aliases WHERE source='%s' AND destination<>'') ORDER BY priority LIMIT 1;",
}


def miab_db(tmp_path, users: list[str], aliases: list[str], auto_aliases: list[str] = ()):
    """A users.sqlite shaped like MiaB's (users.email, aliases.source, auto_aliases.source)."""
    import sqlite3

    db = tmp_path / "users.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE users (email TEXT, password TEXT)")
        for table in ("aliases", "auto_aliases"):
            con.execute(
                f"CREATE TABLE {table} (source TEXT, destination TEXT, permitted_senders TEXT)"
            )
        con.executemany("INSERT INTO users VALUES (?, 'x')", [(u,) for u in users])
        dest = users[0] if users else "admin@box.example.com"
        con.executemany("INSERT INTO aliases VALUES (?, ?, NULL)", [(a, dest) for a in aliases])
        con.executemany(
            "INSERT INTO auto_aliases VALUES (?, ?, NULL)", [(a, dest) for a in auto_aliases]
        )
    return db


def miab_maps(tmp_path, db) -> None:
    for name, query in MIAB_QUERIES.items():
        (tmp_path / name).write_text(f"dbpath={db}\nquery = {query}\n")


def test_miab_sqlite_candidates_come_from_users_and_aliases(tmp_path):
    from pfwizard.recipes.own_domains import _sqlite_candidates

    db = miab_db(
        tmp_path,
        ["mick@box.example.com", "ann@example.net"],
        ["@alias.example"],
        ["administrator@mail.example.org"],
    )
    miab_maps(tmp_path, db)
    assert _sqlite_candidates(f"sqlite:{tmp_path}/virtual-mailbox-domains.cf") == [
        "alias.example",
        "box.example.com",
        "example.net",
        "mail.example.org",
    ]


def test_the_query_says_which_tables_and_columns_hold_the_keys():
    from pfwizard.recipes.own_domains import query_columns

    assert query_columns("query = " + MIAB_QUERIES["virtual-alias-maps.cf"]) == [
        ("aliases", "source"),
        ("users", "email"),
        ("auto_aliases", "source"),
    ]
    assert query_columns("dbpath=/x\n") == []


def test_recipe4_without_opendkim_goes_last_and_dkim_socket_can_be_named():
    cf = MainCf.parse("smtpd_milters = inet:127.0.0.1:7001 inet:127.0.0.1:7002\n")
    last = opendmarc(cf, "inet:127.0.0.1:7003")
    assert last.params["smtpd_milters"].split() == [
        "inet:127.0.0.1:7001",
        "inet:127.0.0.1:7002",
        "inet:127.0.0.1:7003",
    ]
    assert any("No OpenDKIM" in n for n in last.notes)
    named = opendmarc(cf, "inet:127.0.0.1:7003", dkim_socket="inet:127.0.0.1:7001")
    assert named.params["smtpd_milters"].split() == [
        "inet:127.0.0.1:7001",
        "inet:127.0.0.1:7003",
        "inet:127.0.0.1:7002",
    ]


def backdate(*paths) -> None:
    """Files younger than ~2 s make postconf/postmap pause ("cool down")."""
    old = time.time() - 60
    for p in paths:
        os.utime(p, (old, old))


def test_box_mailboxes_from_miab_sqlite(tmp_path):
    """MiaB: users and aliases straight from the sqlite DB its lookup .cf files name
    (postfix-sqlite need not be installed: the DB is read directly)."""
    from pfwizard.recipes.forged_senders import box_mailboxes

    db = miab_db(
        tmp_path,
        ["admin@box.example.com", "Mick@box.example.com"],
        ["postmaster@box.example.com", "@catchall.example"],
        ["abuse@box.example.com", "administrator@mail.box.example.com"],
    )
    miab_maps(tmp_path, db)
    (tmp_path / "main.cf").write_text(
        "compatibility_level = 3.6\n"
        f"virtual_mailbox_maps=sqlite:{tmp_path}/virtual-mailbox-maps.cf\n"
        f"virtual_alias_maps=sqlite:{tmp_path}/virtual-alias-maps.cf\n"
    )
    backdate(tmp_path / "main.cf")
    found = box_mailboxes(tmp_path)
    # MiaB's automatic aliases (abuse@, administrator@ the hostname) are addresses too; the
    # catch-all names no one.
    assert found == [
        "abuse@box.example.com",
        "admin@box.example.com",
        "administrator@mail.box.example.com",
        "mick@box.example.com",
        "postmaster@box.example.com",
    ]
    p = forged_local_senders(v(), tmp_path)  # no addresses typed: the box's own
    lines = p.tables[0].content.splitlines()[1:]
    assert any("abuse|admin|mick|postmaster" in line for line in lines)
    assert any("administrator" in line and "mail\\.box" in line for line in lines)


@needs_postfix
def test_box_mailboxes_lists_hash_and_texthash_with_postmap_s(tmp_path):
    from pfwizard import postfix
    from pfwizard.recipes.forged_senders import box_mailboxes

    (tmp_path / "mailboxes").write_text("admin@box.example.com OK\n# x\nmick@box.example.com OK\n")
    (tmp_path / "aliases").write_text(
        "abuse@box.example.com admin@box.example.com\n@box.example.net admin@box.example.com\n"
    )
    (tmp_path / "main.cf").write_text(
        f"compatibility_level = 3.6\nvirtual_mailbox_maps = texthash:{tmp_path}/mailboxes\n"
        f"virtual_alias_maps = hash:{tmp_path}/aliases\n"
    )
    backdate(*(tmp_path / f for f in ("mailboxes", "aliases", "main.cf")))
    assert postfix.postmap(tmp_path, f"hash:{tmp_path}/aliases").ok
    backdate(tmp_path / "aliases.db")
    assert box_mailboxes(tmp_path) == [
        "abuse@box.example.com",
        "admin@box.example.com",
        "mick@box.example.com",
    ]


def test_forged_local_senders_refuses_when_the_box_has_no_mailboxes(tmp_path):
    (tmp_path / "main.cf").write_text("compatibility_level = 3.6\n")
    backdate(tmp_path / "main.cf")
    with pytest.raises(RecipeRefused, match="no mailboxes"):
        forged_local_senders(v(), tmp_path)


@needs_postfix
def test_own_domains_include_the_hostname_only_miab_auto_aliases_name(tmp_path):
    """MiaB: the box's hostname has no user, only automatic aliases (administrator@,
    hostmaster@); Postfix receives for it, so outsiders forging it must be refused too."""
    from pfwizard import postfix
    from pfwizard.recipes.own_domains import box_domains

    db = miab_db(
        tmp_path,
        ["mick@example.com"],
        ["@alias.example"],
        ["administrator@box.example.com", "hostmaster@box.example.com", "postmaster@example.com"],
    )
    miab_maps(tmp_path, db)
    (tmp_path / "main.cf").write_text(
        "compatibility_level = 3.6\n"
        f"virtual_mailbox_domains = sqlite:{tmp_path}/virtual-mailbox-domains.cf\n"
    )
    backdate(tmp_path / "main.cf", *tmp_path.glob("*.cf"))
    if "sqlite" not in postfix.supported_map_types(tmp_path):
        pytest.skip("postfix-sqlite is not installed")
    assert box_domains(tmp_path) == ["alias.example", "box.example.com", "example.com"]
    recipe = reject_own_domain_senders(MainCf.read(tmp_path / "main.cf"), tmp_path)
    keys = [
        ln.split()[0]
        for ln in recipe.tables[0].content.splitlines()
        if ln and not ln.startswith("#")
    ]
    assert "box.example.com" in keys


def test_every_recipe_table_passes_the_table_check(tmp_path):
    """What the recipes write is what the gate lets through without a question: no line
    lets in more than it names, none never matches."""
    from pfwizard.analysis.tablelint import table_findings
    from pfwizard.screens.recipes import CISCO_ALLOWLIST

    etc = tmp_path
    (etc / "master.cf").write_text(fixture_path("master.cf.v75").read_text())
    made = [
        allowlist_unresolved_senders(v(), etc, CISCO_ALLOWLIST),
        allowlist_unresolved_senders(v(), etc, TABLE, "after-rhsbl"),
        reject_own_domain_senders(v(), etc, ["box.example.com", "example.net"]),
        forged_local_senders(v(), etc, ["mick@box.example.com", "postmaster@example.net"]),
        helo_dnsbl(v("main.cf.v66-fresh"), reject_unknown_helo=True),
    ]
    tables = [t for p in made for t in p.tables]
    assert len(tables) >= 4
    for t in tables:
        bad = [
            f
            for f in table_findings(t.map_type, str(t.path), t.content, "sender")
            if f.severity is Severity.DANGER or f.code == "case-sensitive-never-matches"
        ]
        assert bad == [], (t.path, t.content)
    assert not any("DANGER" in n for p in made for n in p.notes)


def test_recipe1_says_what_the_table_check_holds_against_a_wide_line():
    seed = "/esa[0-9]*\\.?[acehimnops0-9]*[-]?[0-9]*\\.?[acps23]*\\.iphmx\\.com/i PERMIT\n"
    p = allowlist_unresolved_senders(v(), "/etc/postfix", seed)
    danger = [n for n in p.notes if n.startswith("DANGER unanchored-end")]
    assert danger and "esa.iphmx.com.attacker.example" in danger[0]
