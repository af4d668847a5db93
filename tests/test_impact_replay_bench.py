"""The impact preview on the real-Postfix bench: two staged replay instances, envelopes asked
through XCLIENT, the report compared with the must-show figures."""

from __future__ import annotations

from pfwizard.impact.envelope import Envelope
from pfwizard.impact.preview import preview
from pfwizard.impact.proposal import plan_change
from tests.conftest import needs_bench

BOX = "box.example.com"


def esa(i: int) -> Envelope:
    return Envelope(f"127.1.0.{i % 200 + 1}", f"esa{i % 9}.hc{i}-62.iphmx.com",
                    f"esa{i % 9}.hc{i}-62.iphmx.com", f"MAILER-DAEMON@esa{i % 9}.hc{i}-62.iphmx.com",
                    f"dmarc@{BOX}", "rejected",
                    f"450 4.1.8 <MAILER-DAEMON@esa{i % 9}.hc{i}-62.iphmx.com>: Sender address "
                    "rejected: Domain not found")


def ordinary(i: int) -> Envelope:
    return Envelope(f"127.2.0.{i % 200 + 1}", "mx.example.org", None,
                    f"friend{i}@example.org", f"admin@{BOX}", "accepted")


@needs_bench
def test_smoke(bench, tmp_path):
    bench.configure_miab("main.cf.v75-fresh")
    state = tmp_path / "state"
    state.mkdir()
    profile = tmp_path / "p.yaml"
    profile.write_text(f"""version: 1
chains:
  smtpd_sender_restrictions:
    operations:
      - insert: check_sender_access regexp:{bench.config_dir}/pfwizard/esa
        before: reject_unknown_sender_domain
tables:
  {bench.config_dir}/pfwizard/esa:
    type: regexp
    content: |
      /^mailer-daemon@esa[0-9]*\\..*\\.iphmx\\.com$/ PERMIT
""")
    plan = plan_change(bench.config_dir, state, profile)
    envs = [esa(i) for i in range(20)] + [ordinary(i) for i in range(20)]
    rep = preview("p.yaml", bench.config_dir, plan, envs,
                  resolv_conf=bench.instance.root / "resolv.conf")
    from pfwizard.impact.report import render
    print("\n".join(render(rep)))
    assert rep.newly_accepted_count == 20
