"""Recipe 4 (seed 003) end to end on the bench's real Postfix, with fake milters
(tests/bench/milter.py) standing in for OpenDKIM and OpenDMARC."""

from __future__ import annotations

import pytest

from pfwizard.maincf import MainCf
from pfwizard.recipes import opendmarc, reachable
from tests.bench.milter import REJECT, TEMPFAIL, FakeMilter
from tests.conftest import needs_bench
from tests.test_explain_bench import configure_v75
from tests.test_recipes_bench import apply

ME = "mick@box.example.com"


@pytest.fixture
def milters():
    journal: list[tuple[str, str]] = []
    made: list[FakeMilter] = []

    def make(name: str, at_rcpt: bytes = b"c") -> FakeMilter:
        m = FakeMilter(name, journal, at_rcpt)
        made.append(m)
        return m

    yield make
    for m in made:
        m.stop()


def rcpt_dialogue(bench):
    return bench.dialogue(mail_from="a@example.org", rcpt_to=ME)


def setup_v75_with_dkim(bench, milters, dmarc_at_rcpt: bytes = b"c"):
    """MiaB v75's chains with smtpd_milters = the fake OpenDKIM only, then recipe 4."""
    dkim = milters("opendkim")
    dmarc = milters("opendmarc", dmarc_at_rcpt)
    configure_v75(
        bench, extra={"smtpd_milters": dkim.socket_name, "milter_default_action": "accept"}
    )
    cf = MainCf.read(bench.instance.main_cf)
    return dkim, dmarc, cf


@needs_bench
def test_recipe4_both_milters_consulted_dkim_first(bench, milters):
    dkim, dmarc, cf = setup_v75_with_dkim(bench, milters)
    prop = opendmarc(cf, dmarc.socket_name, "accept", dkim_socket=dkim.socket_name)
    assert prop.params == {"smtpd_milters": f"{dkim.socket_name} {dmarc.socket_name}"}
    assert f"reachable: {dmarc.socket_name}: accepting connections" in prop.notes
    apply(bench, prop)
    del dkim.journal[:]  # forget the settle probes
    d = rcpt_dialogue(bench)
    assert d.rcpt.code == 250, d.replies
    assert "rcpt" in dkim.seen() and "rcpt" in dmarc.seen()
    # smtpd hands each event to the milters in smtpd_milters order: OpenDKIM, then OpenDMARC.
    events = [(who, c) for who, c in dkim.journal if c in ("connect", "helo", "mail", "rcpt")]
    for step in ("connect", "helo", "mail", "rcpt"):
        assert [who for who, c in events if c == step] == ["opendkim", "opendmarc"], events


@needs_bench
@pytest.mark.parametrize(("verdict", "code"), [(TEMPFAIL, 451), (REJECT, 550)])
def test_recipe4_dmarc_milter_really_decides(bench, milters, verdict, code):
    dkim, dmarc, cf = setup_v75_with_dkim(bench, milters, dmarc_at_rcpt=verdict)
    apply(bench, opendmarc(cf, dmarc.socket_name, "accept", dkim_socket=dkim.socket_name))
    d = rcpt_dialogue(bench)
    assert d.rcpt.code == code, d.replies


@needs_bench
@pytest.mark.parametrize(("action", "code"), [("accept", 250), ("tempfail", 451)])
def test_recipe4_default_action_when_dmarc_is_down(bench, milters, action, code):
    dkim, dmarc, cf = setup_v75_with_dkim(bench, milters)
    prop = opendmarc(cf, dmarc.socket_name, action, dkim_socket=dkim.socket_name)
    apply(bench, prop)
    assert rcpt_dialogue(bench).rcpt.code == 250
    dmarc.stop()
    ok, detail = reachable(dmarc.socket_name)
    assert not ok and "cannot connect" in detail
    down = opendmarc(
        MainCf.read(bench.instance.main_cf), dmarc.socket_name, action, dkim_socket=dkim.socket_name
    )
    assert down.params == {}
    assert f"NOT reachable: {dmarc.socket_name}" in " ".join(down.notes)
    d = rcpt_dialogue(bench)
    if action == "accept":
        assert d.rcpt.code == 250, d.replies
    else:
        # What the risk text says: smtpd defers at MAIL FROM (the milter connect failed).
        assert d.mail.code == 451 and "4.7.1" in str(d.mail), d.replies
        assert "451 4.7.1" in prop.chosen.risk
