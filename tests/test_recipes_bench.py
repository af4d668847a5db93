"""Recipes 1 and 2 end to end on the bench's real Postfix: propose, apply through
pfwizard.engine, and check the SMTP verdicts before and after against what the seeds say."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from pfwizard.allowlist import propose
from pfwizard.engine import Engine
from pfwizard.maincf import MainCf
from pfwizard.recipes import (
    allowlist_unresolved_senders,
    box_domains,
    reject_own_domain_senders,
)
from tests.bench.smtp import INSIDE, OUTSIDE
from tests.conftest import needs_bench
from tests.test_explain_bench import configure_v75, settle

CISCO = "MAILER-DAEMON@esa4.commscope.iphmx.com"
SEED_SENDERS = [
    CISCO,
    "MAILER-DAEMON@esa2.hc681-85.ap.iphmx.com",
    "MAILER-DAEMON@esa.hc3512-62.iphmx.com",
]
DBL_LISTED = "MAILER-DAEMON@esa9.listed.iphmx.com"  # on the stub DBL (tests/bench/dns.py)


def apply(bench, proposal) -> None:
    state = Path(tempfile.mkdtemp(prefix="pfwizard-state-", dir="/tmp"))
    engine = Engine(bench.config_dir, state, restart=bench.restart)
    plan = engine.plan(proposal.changeset())
    result = engine.apply(plan)
    assert result.ok, (result.error, result.postfix_output, result.steps)
    bench.instance.cool_down(*[Path(t.path) for t in proposal.tables])
    settle(bench)


def rcpt(bench, sender, source=OUTSIDE):
    return bench.dialogue(
        mail_from=sender,
        rcpt_to="dmarc@box.example.com",
        source=source,
        helo="esa4.commscope.iphmx.com",
    ).rcpt


@needs_bench
@pytest.mark.parametrize("placement", ["before-unknown", "after-rhsbl"])
def test_recipe1_seed000_allowlist(bench, placement):
    configure_v75(bench)
    assert rcpt(bench, CISCO).code == 450
    learned = propose(SEED_SENDERS)
    assert learned.ok
    cf = MainCf.read(bench.instance.main_cf)
    prop = allowlist_unresolved_senders(cf, bench.config_dir, learned.table_text(), placement)
    assert {p.key for p in prop.placements} == {"before-unknown", "after-rhsbl"}
    assert "DBL" in prop.chosen.risk
    apply(bench, prop)

    after = rcpt(bench, CISCO)
    assert str(after).startswith("250 2.1.5"), after
    # An unrelated unresolvable sender is still refused: the allowlist is narrow.
    assert rcpt(bench, "bounce@nowhere.invalid-example").code == 450
    # A look-alike is refused too.
    assert rcpt(bench, "MAILER-DAEMON@esa4.commscope.iphmx.com.evil.example").code == 450
    # The DBL: the first placement lets a listed matching domain through; the second doesn't.
    listed = rcpt(bench, DBL_LISTED)
    if placement == "before-unknown":
        assert listed.code == 250, listed
    else:
        assert listed.code == 554 and "dbl.spamhaus.org" in str(listed), listed


@needs_bench
def test_recipe2_seed001_outsider_rejected_inside_passes(bench):
    configure_v75(bench)
    me = "mick@box.example.com"
    before = bench.dialogue(mail_from=me, rcpt_to=me, source=OUTSIDE).rcpt
    assert before.code == 250  # seed 001's hole: an outsider may send as you, to you
    cf = MainCf.read(bench.instance.main_cf)
    domains = box_domains(bench.config_dir)
    assert domains == ["box.example.com"]
    prop = reject_own_domain_senders(cf, bench.config_dir, domains)
    assert prop.placement == "recipient"
    chain = prop.params["smtpd_recipient_restrictions"] or ""
    assert chain.startswith("permit_sasl_authenticated,permit_mynetworks,check_sender_access")
    assert "smtpd_sender_restrictions" not in prop.params
    apply(bench, prop)

    outsider = bench.dialogue(mail_from=me, rcpt_to=me, source=OUTSIDE).rcpt
    assert outsider.code == 554 and "Not authorised" in str(outsider), outsider
    inside = bench.dialogue(mail_from=me, rcpt_to=me, source=INSIDE).rcpt
    assert inside.code == 250, inside
    stranger = bench.dialogue(mail_from="a@example.org", rcpt_to=me, source=OUTSIDE).rcpt
    assert stranger.code == 250


@needs_bench
def test_recipe2_sender_placement_keeps_login_mismatch_first(bench):
    configure_v75(bench)
    cf = MainCf.read(bench.instance.main_cf)
    prop = reject_own_domain_senders(cf, bench.config_dir, ["box.example.com"], "sender")
    chain = prop.params["smtpd_sender_restrictions"] or ""
    names = [w for w in chain.replace(",", " ").split() if w.startswith(("reject", "permit"))]
    assert names.index("reject_authenticated_sender_login_mismatch") < names.index(
        "permit_sasl_authenticated"
    )
    apply(bench, prop)
    me = "mick@box.example.com"
    assert bench.dialogue(mail_from=me, rcpt_to=me, source=OUTSIDE).rcpt.code == 554
    assert bench.dialogue(mail_from=me, rcpt_to=me, source=INSIDE).rcpt.code == 250


class FakeDovecotAuth:
    """Just enough of Dovecot's auth protocol for smtpd (smtpd_sasl_type = dovecot):
    PLAIN with one password for every user, on loopback TCP (smtpd_sasl_path = inet:...)."""

    def __init__(self, password: str = "secret") -> None:
        import socketserver
        import threading

        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(
                    b"VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nSPID\t1\nCUID\t1\n"
                    b"COOKIE\t" + b"0" * 32 + b"\nDONE\n"
                )
                for raw in self.rfile:
                    parts = raw.decode().rstrip("\n").split("\t")
                    if parts[0] != "AUTH":
                        continue
                    rid = parts[1]
                    resp = next((p[5:] for p in parts if p.startswith("resp=")), None)
                    if resp is None:
                        self.wfile.write(f"CONT\t{rid}\t\n".encode())
                        continue
                    outer.answer(self.wfile, rid, resp)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.password = password
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, wfile, rid: str, resp: str) -> None:
        import base64

        _, user, password = base64.b64decode(resp).decode().split("\0")
        verdict = "OK" if password == self.password else "FAIL"
        wfile.write(f"{verdict}\t{rid}\tuser={user}\n".encode())
        wfile.flush()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@needs_bench
def test_recipe2_authenticated_session_still_passes(bench):
    """Seed 001: the same address over an authenticated session still passes."""
    import smtplib

    auth = FakeDovecotAuth()
    try:
        sasl = {
            "smtpd_sasl_auth_enable": "yes",
            "smtpd_sasl_type": "dovecot",
            "smtpd_sasl_path": f"inet:127.0.0.1:{auth.port}",
        }
        configure_v75(bench, extra=sasl)
        cf = MainCf.read(bench.instance.main_cf)
        apply(bench, reject_own_domain_senders(cf, bench.config_dir, ["box.example.com"]))
        me = "mick@box.example.com"
        assert bench.dialogue(mail_from=me, rcpt_to=me, source=OUTSIDE).rcpt.code == 554
        conn = smtplib.SMTP(timeout=15, source_address=(OUTSIDE, 0))
        try:
            conn.connect("127.0.0.1", bench.port)
            conn.ehlo("laptop.example.org")
            conn.login(me, "secret")
            assert conn.mail(me)[0] == 250
            code, msg = conn.rcpt("friend@example.org")  # relayed: logged in
            assert code == 250, msg
            code, msg = conn.rcpt(me)
            assert code == 250, msg
            conn.rset()
            # The placement left MiaB's login-mismatch check in force for logged-in users.
            conn.mail("admin@box.example.com")
            code, msg = conn.rcpt(me)
            assert code == 553 and b"not owned by user" in msg, msg
            conn.rset()
        finally:
            conn.close()
    finally:
        auth.stop()


@needs_bench
def test_recipe5_forged_from_refused_after_data(bench):
    from pfwizard.recipes import forged_local_senders

    configure_v75(bench)
    cf = MainCf.read(bench.instance.main_cf)
    prop = forged_local_senders(
        cf, bench.config_dir, ["admin@box.example.com", "mick@box.example.com"]
    )
    apply(bench, prop)
    body = "From: {}\nTo: admin@box.example.com\nSubject: test\n\nhello\n"
    forged = bench.dialogue(
        mail_from="a@example.org", source=INSIDE, data=body.format("nobody@box.example.com")
    )
    end = forged.for_command("<end of data>")[0]
    assert end.code == 550 and "forged local sender" in str(end), forged.replies
    real = bench.dialogue(
        mail_from="a@example.org", source=INSIDE, data=body.format('"Mick" <mick@box.example.com>')
    )
    assert real.for_command("<end of data>")[0].code == 250, real.replies


@needs_bench
def test_recipe3_reply_filter_stops_false_listing_and_helo_checks_bite(bench):
    """MiaB before v68 had zen.spamhaus.org without a filter: the 'query refused' answer
    127.255.255.254 (stub client 127.0.0.67) counted as listed. Recipe 3 filters it."""
    from pfwizard.recipes import helo_dnsbl
    from tests.bench.smtp import LISTED_REFUSED_CODE, LISTED_SBL

    configure_v75(bench, fixture="main.cf.v66-fresh")
    refused = bench.dialogue(mail_from="a@example.org", source=LISTED_REFUSED_CODE).rcpt
    assert refused.code == 554 and "zen.spamhaus.org" in str(refused)
    assert bench.dialogue(mail_from="a@example.org", helo="PC01").rcpt.code == 250

    cf = MainCf.read(bench.instance.main_cf)
    apply(bench, helo_dnsbl(cf))
    assert bench.dialogue(mail_from="a@example.org", source=LISTED_REFUSED_CODE).rcpt.code == 250
    assert bench.dialogue(mail_from="a@example.org", source=LISTED_SBL).rcpt.code == 554
    helo = bench.dialogue(mail_from="a@example.org", helo="PC01").rcpt
    assert helo.code == 504 and "need fully-qualified hostname" in str(helo)
    assert bench.dialogue(mail_from="a@example.org", helo="PC01", source=INSIDE).rcpt.code == 250


@needs_bench
def test_recipe5_table_from_the_box_mailboxes_answers_sample_headers(bench):
    """Seed 004, without typing the users: the bench's virtual_mailbox_maps (texthash) gives
    the addresses; the generated pcre table is tried with ``postmap -q - pcre:FILE`` the way
    the seed tries its captured headers, then on the live cleanup."""
    from pfwizard.recipes import box_mailboxes, forged_local_senders, try_headers

    configure_v75(bench)
    found = box_mailboxes(bench.config_dir)
    assert found == ["admin@box.example.com", "dmarc@box.example.com", "mick@box.example.com"]
    cf = MainCf.read(bench.instance.main_cf)
    prop = forged_local_senders(cf, bench.config_dir)
    apply(bench, prop)
    table = Path(prop.tables[0].path)
    verdicts = try_headers(
        table.read_text(),
        [
            "From: nobody@box.example.com",
            'From: "Webmaster" <webmaster@box.example.com>',
            "From: mick@box.example.com",
            'From: "Dmarc" <dmarc+reports@box.example.com>',
            "From: admin@box.example.com.evil.example",
            "From: someone@example.org",
        ],
    )
    assert verdicts == {
        "From: nobody@box.example.com": "REJECT forged local sender",
        'From: "Webmaster" <webmaster@box.example.com>': "REJECT forged local sender",
    }
    body = "From: {}\nTo: admin@box.example.com\nSubject: test\n\nhello\n"
    forged = bench.dialogue(
        mail_from="a@example.org", source=INSIDE, data=body.format("webmaster@box.example.com")
    )
    assert forged.for_command("<end of data>")[0].code == 550, forged.replies
    real = bench.dialogue(
        mail_from="a@example.org", source=INSIDE, data=body.format("dmarc@box.example.com")
    )
    assert real.for_command("<end of data>")[0].code == 250, real.replies
