"""The relay judgement in process: what each table type answers, and how tables, mynetworks,
relay_domains, restriction classes and master.cf services decide whether an outside client can
relay.  The real smtpd agrees on generated configurations (test_relay_differential_bench.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pfwizard.analyser import analyse_params
from pfwizard.analysis import tablefiles
from pfwizard.analysis.mastercf import services
from pfwizard.analysis.params import Params
from pfwizard.analysis.relay import RelayJudge
from pfwizard.findings import Severity

GUARDED = "permit_mynetworks, reject_unauth_destination"


def _relay(tmp: Path | None, **params: str) -> list:
    base = {
        "compatibility_level": "3.6",
        "mynetworks": "127.0.0.0/8",
        "smtpd_relay_restrictions": GUARDED,
        "smtpd_recipient_restrictions": "",
    }
    base.update(params)
    return [f for f in analyse_params(base, tmp) if f.code in ("open-relay", "relay-undecided")]


def _open(tmp: Path | None, **params: str) -> str:
    found = _relay(tmp, **params)
    assert [f.code for f in found] == ["open-relay"], found
    assert found[0].severity is Severity.DANGER and not found[0].acceptable
    return " ".join(found[0].message.split())


def _built(path: Path, *suffixes: str, age: float = 0) -> None:
    """A source and its postmap-built files (contents do not matter to the reader)."""
    for sfx in suffixes:
        Path(str(path) + sfx).write_bytes(b"built")
    if age:
        past = time.time() - age
        os.utime(path, (past, past))


# ---- table readers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "suffixes"),
    [
        ("hash", (".db",)),
        ("btree", (".db",)),
        ("lmdb", (".lmdb",)),
        ("cdb", (".cdb",)),
        ("dbm", (".dir", ".pag")),
        ("sdbm", (".dir", ".pag")),
    ],
)
def test_indexed_tables_are_read_from_their_source_while_it_is_built(tmp_path, kind, suffixes):
    src = tmp_path / "access"
    src.write_text("# comment\nexample.com OK\n\nother.example   REJECT go\n   away\n")
    ref = f"{kind}:{src}"
    assert tablefiles.entries(ref, tmp_path) == []  # not built: smtpd answers 451
    _built(src, *suffixes, age=5)
    found = tablefiles.entries(ref, tmp_path)
    assert [(e.key, e.value) for e in found] == [
        ("example.com", "OK"),
        ("other.example", "REJECT go away"),
    ]
    assert found[0].where == f"line 2 of {src}"
    # edited after postmap: smtpd still reads the old built file, so pfwizard cannot tell
    past = time.time() - 60
    for sfx in suffixes:
        os.utime(Path(str(src) + sfx), (past, past))
    assert tablefiles.entries(ref, tmp_path) is None
    # a built file without its source: unknown contents
    src.unlink()
    assert tablefiles.entries(ref, tmp_path) is None


def test_flat_tables(tmp_path):
    (tmp_path / "c").write_text("0.0.0.0/0 OK\nif 10.0.0.0/8\n10.1.0.0/16 REJECT\nendif\n")
    (tmp_path / "r").write_text(
        "/^(.*)@x\\.example$/ $1\n!/a\\/b/i DUNNO\nif /y/\n"
        "/z/ permit_auth_destination\nendif\n#/q/ OK\n"
    )
    (tmp_path / "t").write_text("example.com OK\n")
    c = tablefiles.entries(f"cidr:{tmp_path}/c", tmp_path)
    assert [(e.key, e.value) for e in c] == [("0.0.0.0/0", "OK"), ("10.1.0.0/16", "REJECT")]
    for kind in ("regexp", "pcre"):
        r = tablefiles.entries(f"{kind}:{tmp_path}/r", tmp_path)
        assert [(e.pattern, e.value) for e in r] == [
            (("^(.*)@x\\.example$", ""), "$1"),
            (("a\\/b", "i"), "DUNNO"),
            (("z", ""), "permit_auth_destination"),
        ]
        assert r[0].substituted and not r[1].substituted
    t = tablefiles.entries(f"texthash:{tmp_path}/t", tmp_path)
    assert [(e.key, e.value) for e in t] == [("example.com", "OK")]
    assert tablefiles.entries(f"cidr:{tmp_path}/missing", tmp_path) == []  # 451, no permit
    assert tablefiles.entries(f"cidr:{tmp_path}/c", None) is None  # no disk given


def test_tables_without_files():
    assert [(e.key, e.value) for e in tablefiles.entries("static:OK", None)] == [("*", "OK")]
    assert tablefiles.entries("static:{ REJECT go away }", None)[0].value == "REJECT go away"
    inline = tablefiles.entries("inline:{ a=OK, { b = REJECT no way }, c=permit }", None)
    assert [(e.key, e.value) for e in inline] == [
        ("a", "OK"),
        ("b", "REJECT no way"),
        ("c", "permit"),
    ]
    union = tablefiles.entries("unionmap:{ static:DUNNO, inline:{x=OK} }", None)
    assert [e.value for e in union] == ["DUNNO", "OK"]
    pipe = tablefiles.entries("pipemap:{ inline:{a=b}, inline:{b=OK} }", None)
    assert [e.value for e in pipe] == ["OK"]  # what the last table answers
    assert [e.value for e in tablefiles.entries("proxy:static:OK", None)] == ["OK"]
    assert tablefiles.entries("fail:x", None) == []
    for ref in (
        "sqlite:/etc/postfix/x.cf",
        "mysql:/etc/postfix/m.cf",
        "ldap:/x",
        "tcp:127.0.0.1:1",
        "socketmap:inet:127.0.0.1:1:x",
        "unionmap:{ static:OK, pgsql:/x }",
    ):
        assert tablefiles.entries(ref, None) is None, ref


# ---- what a table answer does ------------------------------------------------------------


@pytest.mark.parametrize(
    "action",
    [
        "OK",
        "ok whatever",
        "RELAY",
        "permit",
        "PERMIT",
        "12345",
        "permit_auth_destination",
        "relaycls",
    ],
)
def test_table_answers_that_let_an_outsider_relay(action):
    msg = _open(
        None,
        smtpd_relay_restrictions="check_sender_access "
        f"inline:{{ {{ x.example = {action} }} }}, reject_unauth_destination",
        relay_domains="static:ALL" if action == "permit_auth_destination" else "",
        smtpd_restriction_classes="relaycls",
        relaycls="permit",
    )
    assert "check_sender_access inline:" in msg and "x.example" in msg


@pytest.mark.parametrize(
    "action",
    [
        "DUNNO",
        "REJECT",
        "554 5.7.1 no",
        "DEFER_IF_PERMIT",
        "permit_mynetworks",
        "permit_sasl_authenticated",
        "permit_auth_destination",
        "hash:/etc/postfix/x",
        "DISCARD",
        "HOLD",
        "WARN x",
        "relaycls",
    ],
)
def test_table_answers_that_do_not(action):
    assert not _relay(
        None,
        smtpd_relay_restrictions="check_client_access "
        f"inline:{{ {{ 192.0.2.1 = {action} }} }}, reject_unauth_destination",
        smtpd_restriction_classes="relaycls",
        relaycls="permit_mynetworks, reject_unauth_destination",
    )


def test_dns_based_table_checks_never_permit():
    # smtpd turns their OK into 451 4.3.5 ("not allowed for security reasons")
    for check in (
        "check_client_mx_access",
        "check_sender_ns_access",
        "check_helo_a_access",
        "check_reverse_client_hostname_access",
    ):
        assert not _relay(
            None, smtpd_relay_restrictions=f"{check} static:OK, reject_unauth_destination"
        )


def test_forged_lookups_and_certificates():
    assert _open(None, smtpd_relay_restrictions="check_helo_access static:OK, " + GUARDED)
    # a listed certificate fingerprint is the admin's choice; a pattern matches any cert
    assert not _relay(
        None, smtpd_relay_restrictions="check_ccert_access inline:{ AA:BB=OK }, " + GUARDED
    )
    assert _open(None, smtpd_relay_restrictions="check_ccert_access static:OK, " + GUARDED)
    assert not _relay(None, smtpd_relay_restrictions="check_sasl_access static:OK, " + GUARDED)


def test_regexp_result_taken_from_the_client(tmp_path):
    (tmp_path / "r").write_text("/^(.*)@relay\\.example$/ $1\n")
    msg = _open(
        tmp_path, smtpd_relay_restrictions=f"check_sender_access regexp:{tmp_path}/r, " + GUARDED
    )
    assert "takes its answer from what the client sends" in msg


def test_static_refusal_is_a_guard():
    rcpt = "check_helo_access static:OK, reject_unauth_destination"  # open for outsiders
    assert not _relay(
        None,
        smtpd_relay_restrictions="check_client_access static:REJECT, permit",
        smtpd_recipient_restrictions=rcpt,
    )
    assert _open(
        None,
        smtpd_relay_restrictions="warn_if_reject, check_client_access static:REJECT, permit",
        smtpd_recipient_restrictions=rcpt,
    )


# ---- mynetworks, relay_domains, permit_mx_backup -----------------------------------------


def test_mynetworks_inline_file_and_tables(tmp_path):
    relay = "permit_mynetworks, reject_unauth_destination"
    assert not _relay(
        tmp_path, mynetworks="127.0.0.0/8 [::1]/128 192.168.0.0/16", smtpd_relay_restrictions=relay
    )
    (tmp_path / "nets").write_text("127.0.0.0/8\n0.0.0.0/0\n")
    msg = _open(tmp_path, mynetworks=f"{tmp_path}/nets", smtpd_relay_restrictions=relay)
    assert "0.0.0.0/0" in msg and "nets" in msg
    (tmp_path / "t").write_text("10.0.0.0/8 ok\n::/0 ok\n")
    assert "::/0" in _open(
        tmp_path, mynetworks=f"cidr:{tmp_path}/t", smtpd_relay_restrictions=relay
    )
    (tmp_path / "p").write_text("/^203\\./ ok\n")
    assert "pcre" in _open(
        tmp_path, mynetworks=f"pcre:{tmp_path}/p", smtpd_relay_restrictions=relay
    )
    assert _open(None, mynetworks="static:yes", smtpd_relay_restrictions=relay)
    assert "under .com" in _open(None, mynetworks="127.0.0.0/8 com", smtpd_relay_restrictions=relay)
    undecided = _relay(
        None, mynetworks="mysql:/etc/postfix/nets.cf", smtpd_relay_restrictions=relay
    )
    assert [f.code for f in undecided] == ["relay-undecided"]
    assert undecided[0].severity is Severity.CAUTION
    assert "mysql:/etc/postfix/nets.cf in mynetworks" in undecided[0].message


def test_relay_domains_that_match_every_domain(tmp_path):
    guard = "reject_unauth_destination"
    for value in ("static:ALL", "example", ".com"):
        assert "refuses no domain" in _open(
            tmp_path, relay_domains=value, smtpd_relay_restrictions=guard
        ), value
    (tmp_path / "rd").write_text("/\\.example$/ x\n")
    assert _open(tmp_path, relay_domains=f"regexp:{tmp_path}/rd", smtpd_relay_restrictions=guard)
    (tmp_path / "rd").write_text("/^relay\\.example$/ x\n")
    assert not _relay(
        tmp_path, relay_domains=f"regexp:{tmp_path}/rd", smtpd_relay_restrictions=guard
    )
    assert not _relay(
        tmp_path, relay_domains="relay.example, localhost", smtpd_relay_restrictions=guard
    )
    assert _open(
        tmp_path,
        relay_domains="static:ALL",
        smtpd_relay_restrictions="permit_auth_destination, reject",
    )
    # compatibility_level < 2: relay_domains defaults to $mydestination (not every domain)
    assert not _relay(None, compatibility_level="0", smtpd_relay_restrictions=guard)


def test_permit_mx_backup_needs_its_networks():
    relay = "permit_mx_backup, reject_unauth_destination"
    assert "MX records" in _open(None, smtpd_relay_restrictions=relay)
    assert not _relay(
        None, smtpd_relay_restrictions=relay, permit_mx_backup_networks="192.0.2.0/24"
    )


def test_undecided_items_are_named_not_guessed():
    policy = "check_policy_service inet:127.0.0.1:10023"
    found = _relay(None, smtpd_relay_restrictions=f"{policy}, reject_unauth_destination")
    assert [f.code for f in found] == ["relay-undecided"]
    assert policy in found[0].message and "cannot tell" in found[0].message
    # the other list refuses relaying anyway: nothing to say
    assert not _relay(
        None,
        smtpd_relay_restrictions=f"{policy}, reject_unauth_destination",
        smtpd_recipient_restrictions="reject_unauth_destination",
    )
    found = _relay(
        None,
        smtpd_relay_restrictions="check_client_access "
        "sqlite:/etc/postfix/c.cf, reject_unauth_destination",
    )
    assert "sqlite:/etc/postfix/c.cf" in found[0].message


def test_restriction_classes_and_nesting():
    assert "inside outsiders" in _open(
        None,
        smtpd_restriction_classes="outsiders",
        outsiders="permit",
        smtpd_relay_restrictions="outsiders, reject_unauth_destination",
    )
    # a class named as a table answer, itself with a table
    msg = _open(
        None,
        smtpd_restriction_classes="allow",
        allow="check_helo_access static:OK",
        smtpd_relay_restrictions="check_sender_access inline:{ a.example=allow }, "
        "reject_unauth_destination",
    )
    assert "runs 'allow'" in msg and "check_helo_access static:OK" in msg


def test_the_list_order_smtpd_uses():
    # mail is relayed only if neither list rejects: one guarded list is enough
    assert not _relay(
        None,
        smtpd_relay_restrictions="permit",
        smtpd_recipient_restrictions="reject_unauth_destination",
    )
    assert not _relay(
        None,
        smtpd_relay_restrictions="reject_unauth_destination",
        smtpd_recipient_restrictions="permit",
    )
    # Postfix's default relay list (compatibility_level >= 1) guards
    params = {"compatibility_level": "3.6", "smtpd_recipient_restrictions": "permit"}
    assert not [f for f in analyse_params(params) if f.code == "open-relay"]
    # explicitly empty is not the default
    assert _open(
        None,
        smtpd_relay_restrictions="",
        smtpd_recipient_restrictions="permit, reject_unauth_destination",
    )


# ---- master.cf services ------------------------------------------------------------------


MASTER = """\
smtp      inet  n       -       y       -       -       smtpd
submission inet n       -       y       -       -       smtpd
  -o smtpd_sasl_auth_enable=yes
  -o { smtpd_relay_restrictions = permit_sasl_authenticated, check_client_access static:OK, reject }
  -o smtpd_recipient_restrictions=
pickup    unix  n       -       y       60      1       pickup
"""


def test_service_overrides_are_judged_including_braced_options():
    main = {"compatibility_level": "3.6", "smtpd_relay_restrictions": GUARDED}
    found = [f for f in analyse_params(main, None, MASTER) if f.code == "open-relay"]
    assert len(found) == 1
    msg = " ".join(found[0].message.split())
    assert "the 'submission' service (master.cf line 2)" in msg
    assert "check_client_access static:OK" in msg
    assert found[0].entry is None  # the entry is in master.cf, not in main.cf's list


def test_a_service_cannot_narrow_relay_domains():
    # trivial-rewrite, not smtpd, applies relay_domains: main.cf's value counts
    params = Params(
        {
            "compatibility_level": "3.6",
            "relay_domains": "relay.example",
            "smtpd_relay_restrictions": "reject_unauth_destination",
        }
    )
    main = Params({"relay_domains": "static:ALL"})
    assert RelayJudge(params, None, main).judge().open
    assert not RelayJudge(params, None).judge().open


def test_services_parser_is_the_one_master_cf_model():
    svc = {s.name: s for s in services(MASTER)}
    assert svc["submission"].overrides["smtpd_relay_restrictions"] == (
        "permit_sasl_authenticated, check_client_access static:OK, reject"
    )
    assert svc["submission"].overrides["smtpd_recipient_restrictions"] == ""
    assert svc["submission"].line == 2 and svc["submission"].authenticates
    assert svc["pickup"].command == "pickup"


def test_unreadable_master_cf_is_said_not_ignored():
    found = analyse_params(
        {"compatibility_level": "3.6"}, None, "smtp inet n - y - - smtpd -o { x = y\n"
    )
    assert [f.code for f in found if f.code == "unreadable-master-cf"]


def test_client_tables_listing_hosts_are_the_admins_trust(tmp_path):
    # listed addresses and networks are trusted like mynetworks...
    (tmp_path / "c").write_text("192.0.2.9 OK\n10.0.0.0/8 OK\nmail.partner.example OK\n")
    assert not _relay(
        tmp_path,
        smtpd_relay_restrictions=f"check_client_access "
        f"cidr:{tmp_path}/c, reject_unauth_destination",
    )
    assert not _relay(
        None,
        smtpd_relay_restrictions="check_client_access "
        "inline:{ 192.0.2.9=OK, 203.0.113=OK }, reject_unauth_destination",
    )
    # ...but a wide network, a bare top-level label or an any-address pattern is anyone
    for table in (
        "cidr:{tmp}/w",
        "inline:{{ 198=OK }}",
        "inline:{{ com=OK }}",
        "pcre:{tmp}/p",
        "static:OK",
    ):
        (tmp_path / "w").write_text("0.0.0.0/1 OK\n")
        (tmp_path / "p").write_text("/\\./ OK\n")
        ref = table.format(tmp=tmp_path)
        assert _open(
            tmp_path,
            smtpd_relay_restrictions=f"check_client_access {ref}, reject_unauth_destination",
        ), ref
    # sender, HELO and recipient are the client's to choose: any line counts
    assert _open(
        None,
        smtpd_relay_restrictions="check_sender_access "
        "inline:{ partner.example=OK }, reject_unauth_destination",
    )


def test_mynetworks_style_class_is_undecided():
    found = _relay(
        None,
        mynetworks_style="class",
        mynetworks="",
        smtpd_relay_restrictions="permit_mynetworks, reject_unauth_destination",
    )
    assert not found  # mynetworks is set (to nothing): the style does not apply
    params = {
        "compatibility_level": "3.6",
        "mynetworks_style": "class",
        "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
    }
    found = [f for f in analyse_params(params) if f.code == "relay-undecided"]
    assert len(found) == 1 and "mynetworks_style = class" in found[0].message


def test_tables_naming_classes_naming_tables_end(tmp_path):
    # each level doubles the paths; judged once per result, and a loop ends like smtpd's
    params = {
        "smtpd_restriction_classes": "a b",
        "a": "check_sender_access inline:{ x=b, y=b, z=a }",
        "b": "check_helo_access inline:{ x=a, y=a, z=b }",
        "smtpd_relay_restrictions": "a, reject_unauth_destination",
    }
    started = time.monotonic()
    assert not _relay(None, **params)
    assert time.monotonic() - started < 2


def test_a_table_too_big_or_not_a_file_is_undecided(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    relay = f"check_sender_access regexp:{tmp_path}/fifo, reject_unauth_destination"
    assert [f.code for f in _relay(tmp_path, smtpd_relay_restrictions=relay)] == ["relay-undecided"]
    assert [
        f.code
        for f in _relay(tmp_path, mynetworks=f"{tmp_path}/fifo", smtpd_relay_restrictions=GUARDED)
    ] == ["relay-undecided"]
