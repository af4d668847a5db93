"""The bench as the box of a generated week of mail (tests/impact_weeklog.py): its mailboxes,
aliases and MiaB v75's chains, the correspondents' domains resolving in the stub DNS. Shared by
the impact preview's bench tests (import the fixtures into the test module)."""

from __future__ import annotations

import pytest

from pfwizard.impact.envelope import Envelope
from tests.impact_weeklog import Week, write_week

DOMAIN = "example.com"
SEED000_TABLE = "/esa[0-9]*\\.?[acehimnops0-9]*[-]?[0-9]*\\.?[acps23]*\\.iphmx\\.com/i PERMIT"


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Week:
    return write_week(tmp_path_factory.mktemp("week") / "mail.log", domain=DOMAIN)


def envelopes_of(week: Week) -> list[Envelope]:
    """The week's envelopes; the generator keys them lower-cased, so the sender's own
    spelling comes back from the logged reply where there is one (MAILER-DAEMON@...)."""
    out = []
    for (ip, name, helo, sender, rcpt), e in week.envelopes.items():
        logged = e.reply.partition("<")[2].partition(">")[0]
        if logged.lower() == sender:
            sender = logged
        out.append(
            Envelope(ip, name, helo, sender, rcpt, e.verdict, e.reply, e.authenticated, e.count)
        )
    return out


@pytest.fixture
def box(bench, week, stub_dns):
    """The bench as this week's MiaB box: its mailboxes, aliases and v75 chains; the
    correspondents' domains resolve (the ESA hosts' domains do not)."""
    etc = bench.config_dir
    (etc / "week_mailboxes").write_text("".join(f"{m} ok\n" for m in week.mailboxes))
    (etc / "week_aliases").write_text("".join(f"{a} {t}\n" for a, t in week.aliases.items()))
    added = [d for d in week.resolvable_domains if d not in stub_dns.zone.a]
    for d in added:
        stub_dns.zone.a[d] = "127.0.0.1"
        stub_dns.zone.mx[d] = d
    bench.configure_miab(
        "main.cf.v75-fresh",
        {
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_maps": f"texthash:{etc}/week_mailboxes",
            "virtual_alias_maps": f"texthash:{etc}/week_aliases",
        },
    )
    yield bench
    for d in added:
        stub_dns.zone.a.pop(d, None)
        stub_dns.zone.mx.pop(d, None)


ESA_PROFILE = f"""\
version: 1
chains:
  smtpd_sender_restrictions:
    operations:
      - insert: check_sender_access regexp:{{cfg}}/pfwizard/cisco_dmarc_sender_access
        before: reject_unknown_sender_domain
tables:
  {{cfg}}/pfwizard/cisco_dmarc_sender_access:
    type: regexp
    content: |
      # Cisco Secure Email Threat Defense (DMARC domains)
      {SEED000_TABLE}
"""
