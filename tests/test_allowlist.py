"""The learned allowlist: seed 000's iphmx.com senders, look-alikes, and postmap's verdict."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pfwizard.allowlist import check, negatives_for, propose, propose_pattern
from tests.conftest import needs_postfix

SEED = [
    "MAILER-DAEMON@esa4.commscope.iphmx.com",
    "MAILER-DAEMON@esa2.hc681-85.ap.iphmx.com",
    "MAILER-DAEMON@esa.hc3512-62.iphmx.com",
    "MAILER-DAEMON@esa.hc681-85.ap.iphmx.com",
]
SEED_PATTERN = r"esa[0-9]*\.?[acehimnops0-9]*[-]?[0-9]*\.?[acps23]*\.iphmx\.com"


def test_pattern_is_anchored_and_keeps_what_all_senders_share():
    pattern = propose_pattern(SEED)
    assert pattern == r"^MAILER-DAEMON@esa[0-9]*\.([a-z0-9-]+\.){1,2}iphmx\.com$"


def test_unrelated_domains_are_refused_not_widened():
    with pytest.raises(ValueError, match="no common domain"):
        propose_pattern(["a@one.example", "b@two.test"])


@needs_postfix
def test_seed000_proposal_checked_by_postmap():
    prop = propose(SEED)
    assert prop.postmap_checked and not prop.errors
    assert prop.matched == SEED and not prop.missed
    assert not prop.false_hits, prop.report()
    assert prop.ok
    assert "iphmx.com.evil.example" in " ".join(c.sender for c in prop.checks if not c.wanted)
    # No /i flag: Postfix's regexp tables already ignore case, and the flag would turn that
    # off (the seed's table missed "esa.HC3512-62"); the proposal matches both spellings.
    assert prop.line.endswith("$/ PERMIT")
    upper = check(prop.pattern, ["MAILER-DAEMON@esa.HC3512-62.iphmx.com"])
    assert upper.matched == ["MAILER-DAEMON@esa.HC3512-62.iphmx.com"]


@needs_postfix
def test_seed_hand_written_pattern_lets_a_lookalike_through():
    prop = check(
        SEED_PATTERN,
        ["MAILER-DAEMON@esa.hc3512-62.iphmx.com"],
        ["MAILER-DAEMON@esa4.commscope.iphmx.com.evil.example"],
    )
    # The seed's unanchored pattern lets a look-alike through: the report says so.
    assert prop.false_hits == ["MAILER-DAEMON@esa4.commscope.iphmx.com.evil.example"]
    assert "WRONGLY matched" in prop.report()


@needs_postfix
def test_broken_pattern_is_reported_with_postfix_words():
    prop = check("^esa[0-9", ["MAILER-DAEMON@esa4.commscope.iphmx.com"])
    assert prop.errors and not prop.ok
    assert prop.missed == ["MAILER-DAEMON@esa4.commscope.iphmx.com"]


labels = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True)


@given(st.lists(st.tuples(st.integers(0, 99), labels), min_size=1, max_size=8))
@settings(max_examples=50, deadline=None)
def test_proposal_covers_every_sender_and_no_lookalike(hosts):
    senders = [f"bounce@esa{n}.{lab}.reports.example" for n, lab in hosts]
    pattern = propose_pattern(senders)
    prop = check(pattern, senders, negatives_for(senders))
    assert not prop.missed and not prop.false_hits, (pattern, prop.report())


@needs_postfix
def test_explain_log_proposes_the_allowlist(tmp_path, capsys):
    from pfwizard.cli import main
    from tests.bench.miab import fixture_path

    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "main.cf").write_bytes(fixture_path("main.cf.v75-fresh").read_bytes())
    log = tmp_path / "mail.log"
    log.write_text(
        "".join(
            f"Nov 22 03:54:0{i} box postfix/smtpd[1]: NOQUEUE: reject: RCPT from x[192.0.2.1]: "
            f"450 4.1.8 <{s}>: Sender address rejected: Domain not found; from=<{s}> "
            f"to=<dmarc@box.example.com> proto=ESMTP helo=<x>\n"
            for i, s in enumerate(SEED)
        )
    )
    assert (
        main(["--config-dir", str(conf), "explain", "--log", str(log), "--propose-allowlist"]) == 0
    )
    out = capsys.readouterr().out
    assert r"/^MAILER-DAEMON@esa[0-9]*\.([a-z0-9-]+\.){1,2}iphmx\.com$/ PERMIT" in out
    assert "matches 4 of 4 observed senders" in out


def _lint_troubles(table_text: str) -> list[str]:
    """What the table check (check, the gate, the table editor) would hold against it."""
    from pfwizard.analysis.tablelint import table_findings
    from pfwizard.findings import Severity

    return [
        f"{f.code}: {f.message}"
        for f in table_findings("regexp", "allow", table_text, "sender")
        if f.severity is Severity.DANGER or f.code == "case-sensitive-never-matches"
    ]


def test_the_seed_proposal_passes_the_table_check_and_the_seed_line_does_not():
    assert _lint_troubles(propose_pattern(SEED).join("//") + " PERMIT\n") == []
    troubles = _lint_troubles(f"/{SEED_PATTERN}/i PERMIT\n")
    assert any(t.startswith("unanchored-end") for t in troubles), troubles


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["bounce", "MAILER-DAEMON", "dmarc.reports"]),
            st.integers(0, 99),
            labels,
        ),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=25, deadline=None)
def test_every_proposal_passes_the_table_check(senders):
    addresses = [f"{local}@esa{n}.{lab}.reports.example" for local, n, lab in senders]
    text = f"/{propose_pattern(addresses)}/ PERMIT\n"
    assert _lint_troubles(text) == [], text
