"""access_lookup() agrees with a real smtpd: check_sender_access with our tables on the bench.

Every entry rejects with its own text, so the RCPT reply tells which key smtpd matched (or
``250`` when none did).  Dialogues come from the outside client 127.0.0.3.
"""

from __future__ import annotations

import smtplib
from typing import Any

import pytest

from pfwizard.tables.lookup import Simulator, access_lookup
from pfwizard.tables.model import Table
from tests.bench.smtp import OUTSIDE
from tests.conftest import needs_bench

FIXED = (
    "# one entry per access(5) search step\n"
    "friend@example.test     REJECT L-full\n"
    "example.test            REJECT L-domain\n"
    ".deep.test              REJECT L-dotsub\n"
    "deep.test               REJECT L-deeproot\n"
    "postmaster@             REJECT L-user\n"
    "plus@ext.test           REJECT L-bare\n"
    "plus+tag@               REJECT L-extat\n"
    "<>                      REJECT L-null\n"
    "Caps@Mixed.Test         REJECT L-caps\n"
    '"john doe"@quoted.test  REJECT L-quoted\n'
)
PATTERNS = (
    "/^friend@example\\.test$/ REJECT R-full\n"
    "/@example\\.test$/ REJECT R-domain\n"
    "/^<>$/ REJECT R-null\n"
    '/^"john doe"@/ REJECT R-quoted\n'
    "/^plus\\+tag@/i REJECT R-case-sensitive\n"
    "/^Friend@/i REJECT R-never\n"
    "/^caps@mixed\\.test$/ REJECT R-caps\n"
    "/deep\\.test$/ REJECT R-deep\n"
    "if /^postmaster@/\n"
    "/\\.test$/ REJECT R-postmaster-test\n"
    "endif\n"
)
SENDERS = [
    "friend@example.test",
    "Friend@EXAMPLE.test",
    "other@example.test",
    "x@sub.example.test",
    "x@a.deep.test",
    "x@deep.test",
    "FRIEND@other.test",
    "postmaster@anything.test",
    "POSTMASTER@else.test",
    "plus+tag@ext.test",
    "plus+tag@other.test",
    "Plus+tag@other.test",
    "",
    "caps@mixed.test",
    "CAPS@MIXED.TEST",
    '"john doe"@quoted.test',
    "nobody@nowhere.test",
    "postmaster",
    "plus+other@ext.test",
]


def greet(bench: Any, source: str) -> None:
    """Wait until smtpd greets.  Right after a reload the bench's smtpd sometimes does not
    answer for a long while on this loaded machine; a restart brings it back.  That is the
    bench's weather, not an answer from the restrictions under test."""
    for attempt in range(4):
        try:
            smtplib.SMTP("127.0.0.1", bench.port, timeout=5, source_address=(source, 0)).quit()
            return
        except (OSError, smtplib.SMTPException):
            if attempt == 2:
                bench.restart()
    tail = bench.instance.maillog.read_text().splitlines()[-10:]
    raise AssertionError("smtpd does not greet:\n" + "\n".join(tail))


def verdicts(
    bench: Any, senders: list[str], *, helos: list[str] | None = None, source: str = OUTSIDE
) -> list[tuple[int, str]]:
    """The RCPT reply for each sender (or each HELO name), all in ONE SMTP connection with
    RSET in between: far fewer connections and log lines than one dialogue each, which keeps
    the shared bench's postlogd from falling behind (postfix-facts.md)."""
    out: list[tuple[int, str]] = []
    greet(bench, source)
    with smtplib.SMTP("127.0.0.1", bench.port, timeout=30, source_address=(source, 0)) as smtp:
        for i, sender in enumerate(senders):
            smtp.ehlo(helos[i] if helos else "client.example.com")
            code, _ = smtp.docmd(f"MAIL FROM:<{sender}>")
            assert code == 250, (sender, code, trouble(bench))
            code, text = smtp.docmd("RCPT TO:<admin@box.example.com>")
            out.append((code, text.decode()))
            smtp.rset()
    return out


def trouble(bench: Any) -> list[str]:
    """The instance's last warnings, to say why a dialogue failed."""
    log = bench.instance.maillog.read_text().splitlines()
    return [ln for ln in log if "fatal" in ln or "warning" in ln][-5:]


def internal(sender: str) -> str:
    """smtpd's internal form of a MAIL FROM address: the quotes are gone."""
    if sender.startswith('"'):
        end = sender.index('"', 1)
        return sender[1:end] + sender[end + 1 :]
    return sender


@needs_bench
@pytest.mark.parametrize(
    "kind, parent",
    [
        ("hash", True),
        ("hash", False),
        ("texthash", True),
        ("btree", False),
        ("regexp", True),
        ("pcre", True),
    ],
)
def test_search_order_matches_smtpd(bench, kind: str, parent: bool) -> None:
    path = bench.config_dir / f"sender_access_{kind}"
    text = PATTERNS if kind in ("regexp", "pcre") else FIXED
    path.write_text(text)
    if kind in ("hash", "btree"):
        bench.instance.run("postmap", "-c", str(bench.config_dir), f"{kind}:{path}")
    bench.instance.cool_down(path, path.with_name(path.name + ".db"))
    bench.configure(
        {
            "smtpd_sender_restrictions": f"check_sender_access {kind}:{path}",
            "recipient_delimiter": "+",
            "smtpd_peername_lookup": "no",
            "parent_domain_matches_subdomains": "smtpd_access_maps"
            if parent
            else "debug_peer_list",
        }
    )
    sim = Simulator(Table.read(path, kind), bench.config_dir)
    assert not sim.uses_postmap
    seen = set()
    for sender, (code, text) in zip(SENDERS, verdicts(bench, SENDERS), strict=True):
        ours = access_lookup(
            sim,
            internal(sender),
            parent_domain_matches_subdomains=parent,
            recipient_delimiter="+",
            myorigin="box.example.com",
        )
        if ours is None:
            assert code == 250, (sender, code, text)
        else:
            tag = ours.action.split()[1]
            assert code == 554 and text.endswith(tag), (sender, ours, code, text)
            seen.add(tag)
    # The senders exercise the search steps this table has.
    if kind in ("hash", "texthash", "btree"):
        assert {
            "L-full",
            "L-domain",
            "L-user",
            "L-bare",
            "L-extat",
            "L-null",
            "L-caps",
            "L-quoted",
        } <= seen
        assert ("L-deeproot" if parent else "L-dotsub") in seen
    else:
        assert {
            "R-full",
            "R-domain",
            "R-null",
            "R-quoted",
            "R-case-sensitive",
            "R-caps",
            "R-deep",
            "R-postmaster-test",
        } <= seen
        assert "R-never" not in seen  # capitals in a case-sensitive pattern: never in smtpd


@needs_bench
def test_seed000_table_on_the_bench(bench) -> None:
    """The seed's i flag on the wire: the upper-case variant is not allowed through."""
    from tests.test_seed000_bench import SEED_TABLE

    path = bench.config_dir / "cisco_dmarc_sender_access"
    path.write_text(SEED_TABLE)
    bench.instance.cool_down(path)
    bench.configure({"smtpd_sender_restrictions": f"check_sender_access regexp:{path}, reject"})
    sim = Simulator(Table.read(path, "regexp"), bench.config_dir)
    senders = [
        "MAILER-DAEMON@esa.hc3512-62.iphmx.com",
        "MAILER-DAEMON@esa.HC3512-62.iphmx.com",
        "postmaster@esa.iphmx.com.attacker.example",
        "esa.iphmx.com@attacker.example",
        "someone@example.org",
    ]
    for sender, (code, text) in zip(senders, verdicts(bench, senders), strict=True):
        ours = access_lookup(sim, sender)
        assert (code == 250) == (ours is not None and ours.action == "PERMIT"), (sender, text)


CLIENT_TABLE = "127.0.0.3   REJECT C-full\n127.0.1     REJECT C-net3\n127.1       REJECT C-net2\n"
HELO_FIXED = (
    "example.test       REJECT H-parent\n"
    ".deep.test         REJECT H-dotsub\n"
    "exact.other.test   REJECT H-exact\n"
    "1.2.3.4            REJECT H-numeric\n"
    "2.3.4              REJECT H-never\n"
)
HELO_PATTERNS = "/^host\\./i REJECT H-case-sensitive\n/\\.example\\.test$/ REJECT H-domain\n"
HELOS = [
    "mail.example.test",
    "MAIL.Example.TEST",
    "a.b.deep.test",
    "exact.other.test",
    "x.exact.other.test",
    "1.2.3.4",
    "host.zzz.test",
    "HOST.zzz.test",
    "nothing.test",
]


@needs_bench
@pytest.mark.parametrize(
    "kind, extra",
    [("hash", ""), ("hash", "unknown REJECT C-unknown\n"), ("texthash", ""), ("cidr", "")],
)
def test_client_search_order_matches_smtpd(bench, kind: str, extra: str) -> None:
    path = bench.config_dir / f"client_access_{kind}"
    text = extra + CLIENT_TABLE
    if kind == "cidr":
        text = "127.0.0.3 REJECT C-full\n127.0.1.0/24 REJECT C-net3\n127.1.0.0/16 REJECT C-net2\n"
    path.write_text(text)
    if kind == "hash":
        bench.instance.run("postmap", "-c", str(bench.config_dir), f"{kind}:{path}")
    bench.instance.cool_down(path, path.with_name(path.name + ".db"))
    bench.configure(
        {
            "smtpd_client_restrictions": f"check_client_access {kind}:{path}",
            # No reverse DNS: the client name is "unknown" and no dialogue waits on
            # the stub resolver (the sources 127.0.1.5... have no PTR records).
            "smtpd_peername_lookup": "no",
        }
    )
    sim = Simulator(Table.read(path, kind), bench.config_dir)
    seen = set()
    for source in ["127.0.0.3", "127.0.0.4", "127.0.1.5", "127.1.2.3", "127.2.0.1"]:
        ours = access_lookup(sim, "unknown", "client", client_address=source)
        ((code, text),) = verdicts(bench, ["someone@example.org"], source=source)
        if ours is None:
            assert code == 250, (source, text)
        else:
            tag = ours.action.split()[1]
            assert code == 554 and text.endswith(tag), (source, ours, text)
            seen.add(tag)
    assert seen == ({"C-unknown"} if extra else {"C-full", "C-net3", "C-net2"})


@needs_bench
@pytest.mark.parametrize(
    "kind, parent", [("hash", True), ("hash", False), ("regexp", True), ("pcre", True)]
)
def test_helo_search_order_matches_smtpd(bench, kind: str, parent: bool) -> None:
    path = bench.config_dir / f"helo_access_{kind}"
    path.write_text(HELO_PATTERNS if kind in ("regexp", "pcre") else HELO_FIXED)
    if kind == "hash":
        bench.instance.run("postmap", "-c", str(bench.config_dir), f"{kind}:{path}")
    bench.instance.cool_down(path, path.with_name(path.name + ".db"))
    bench.configure(
        {
            "smtpd_helo_restrictions": f"check_helo_access {kind}:{path}",
            "smtpd_peername_lookup": "no",
            "parent_domain_matches_subdomains": "smtpd_access_maps"
            if parent
            else "debug_peer_list",
        }
    )
    sim = Simulator(Table.read(path, kind), bench.config_dir)
    seen = set()
    answers = verdicts(bench, ["someone@example.org"] * len(HELOS), helos=HELOS)
    for helo, (code, text) in zip(HELOS, answers, strict=True):
        ours = access_lookup(sim, helo, "helo", parent_domain_matches_subdomains=parent)
        if ours is None:
            assert code == 250, (helo, text)
        else:
            tag = ours.action.split()[1]
            assert code == 554 and text.endswith(tag), (helo, ours, text)
            seen.add(tag)
    assert "H-never" not in seen
    if kind == "hash":
        assert {"H-exact", "H-numeric", "H-parent" if parent else "H-dotsub"} <= seen
    else:
        assert {"H-case-sensitive", "H-domain"} <= seen
