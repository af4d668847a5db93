"""The real-Postfix bench itself: start-up, stub DNS, blocklists, inside/outside clients, log.

Every later test trusts these answers, so they are pinned here against a real smtpd.
"""

from __future__ import annotations

import time

from tests.bench.dns import StubDNS
from tests.bench.instance import PostfixInstance
from tests.bench.postconf import fold
from tests.bench.smtp import INSIDE, LISTED_SBL, OUTSIDE, dialogue
from tests.conftest import needs_bench

pytestmark = needs_bench

RESOLVING_SENDER = "someone@example.com"
NXDOMAIN_SENDER = "someone@no-such-domain.example"


@needs_bench
def test_instance_starts_quickly_and_greets_outside_clients(stub_dns: StubDNS) -> None:
    started = time.monotonic()
    inst = PostfixInstance(dns_ip=stub_dns.ip)
    try:
        inst.start()
        took = time.monotonic() - started
        # ~20-50 ms here (master in the foreground, queue dirs made by the bench itself);
        # the bound is loose so a busy CI machine does not fail it.
        assert took < 1.0, f"bench start-up took {took:.2f} s"
        mark = inst.log_mark()
        d = dialogue(inst.port, source=OUTSIDE, mail_from=RESOLVING_SENDER)
        assert d.banner.code == 220
        assert str(d.banner).startswith("220 box.example.com ESMTP")
        assert d.rcpt.code == 250
        deadline = time.monotonic() + 5
        while f"connect from unknown[{OUTSIDE}]" not in inst.log_text()[mark:]:
            assert time.monotonic() < deadline, inst.log_text()[mark:]
            time.sleep(0.01)
        restarted = time.monotonic()
        inst.restart()
        assert time.monotonic() - restarted < 1.0
        assert dialogue(inst.port).banner.code == 220
    finally:
        inst.stop()


def test_unknown_sender_domain_is_450_and_a_resolving_one_passes(bench) -> None:
    bench.configure({"smtpd_sender_restrictions": "reject_unknown_sender_domain"})
    nx = bench.dialogue(mail_from=NXDOMAIN_SENDER)
    assert nx.rcpt.code == 450, nx.replies
    assert str(nx.rcpt).startswith(
        f"450 4.1.8 <{NXDOMAIN_SENDER}>: Sender address rejected: Domain not found"
    )
    ok = bench.dialogue(mail_from=RESOLVING_SENDER)
    assert ok.rcpt.code == 250, ok.replies
    assert "no-such-domain.example/MX" in bench.dns.queries or any(
        q.startswith("no-such-domain.example/") for q in bench.dns.queries
    )


def test_nxdomain_is_a_real_nxdomain_not_a_timeout(bench) -> None:
    # unknown_address_reject_code only applies to a definite "does not exist"; a temporary
    # DNS failure stays 450.  So 550 here proves the stub answers NXDOMAIN.
    bench.configure(
        {
            "smtpd_sender_restrictions": "reject_unknown_sender_domain",
            "unknown_address_reject_code": "550",
        }
    )
    started = time.monotonic()
    assert bench.dialogue(mail_from=NXDOMAIN_SENDER).rcpt.code == 550
    assert time.monotonic() - started < 1.0  # no resolver timeout involved
    assert bench.dialogue(mail_from="someone@x.servfail.test").rcpt.code == 450


def test_zen_listed_client_gets_554_and_an_unlisted_one_passes(bench) -> None:
    bench.configure({"smtpd_recipient_restrictions": "reject_rbl_client zen.spamhaus.org"})
    mark = bench.instance.log_mark()
    listed = bench.dialogue(source=LISTED_SBL, mail_from=RESOLVING_SENDER)
    assert listed.rcpt.code == 554, listed.replies
    assert str(listed.rcpt).startswith(
        f"554 5.7.1 Service unavailable; Client host [{LISTED_SBL}] blocked using zen.spamhaus.org"
    )
    clean = bench.dialogue(source=OUTSIDE, mail_from=RESOLVING_SENDER)
    assert clean.rcpt.code == 250, clean.replies

    lines = bench.instance.wait_noqueue(mark)
    assert len(lines) == 1, lines
    assert f"NOQUEUE: reject: RCPT from unknown[{LISTED_SBL}]: 554 5.7.1" in lines[0]
    assert "blocked using zen.spamhaus.org" in lines[0]
    assert f"from=<{RESOLVING_SENDER}> to=<admin@box.example.com>" in lines[0]


def test_dbl_listed_sender_domain_is_rejected(bench) -> None:
    bench.configure({"smtpd_sender_restrictions": "reject_rhsbl_sender dbl.spamhaus.org"})
    listed = bench.dialogue(mail_from="someone@spammer.example")
    assert listed.rcpt.code == 554, listed.replies
    assert "blocked using dbl.spamhaus.org" in str(listed.rcpt)
    assert bench.dialogue(mail_from=RESOLVING_SENDER).rcpt.code == 250


def test_inside_client_passes_with_permit_mynetworks(bench) -> None:
    bench.configure(
        {"smtpd_sender_restrictions": "permit_mynetworks, reject_unknown_sender_domain"}
    )
    inside = bench.dialogue(source=INSIDE, mail_from=NXDOMAIN_SENDER)
    assert inside.rcpt.code == 250, inside.replies
    outside = bench.dialogue(source=OUTSIDE, mail_from=NXDOMAIN_SENDER)
    assert outside.rcpt.code == 450, outside.replies


def test_postconf_folds_whitespace_but_postfix_keeps_it(bench) -> None:
    """Why the differential tests compare through fold(): postconf's output is folded."""
    banner = "$myhostname  ESMTP\t\tbench   test"
    bench.configure({"smtpd_banner": banner})
    assert bench.instance.postconf("-h", "smtpd_banner") == "$myhostname ESMTP bench test\n"
    got = str(bench.dialogue(mail_from=None).banner)
    assert got == "220 box.example.com  ESMTP\t\tbench   test"
    assert fold(got) == "220 box.example.com ESMTP bench test"
