"""Lint findings, each proven by asking ``postmap -q`` the finding's own example key.

Seed 000's table is the first case: a Cisco DMARC allowlist whose ``i`` flag makes it
case-sensitive, whose pattern matches attacker domains (no ``$``, no ``@``), and which lets
anyone who forges such a sender skip the checks after it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from pfwizard.findings import Finding, Severity
from pfwizard.tables.lint import TableFinding, lint
from pfwizard.tables.model import Table
from tests.conftest import needs_postfix
from tests.test_seed000_bench import SEED_TABLE


def postmap_q(table: Table, key: str) -> str | None:
    """What real postmap prints for ``key`` (None: not found)."""
    with tempfile.TemporaryDirectory() as d:
        Path(d, "main.cf").write_text("compatibility_level = 3.6\n")
        Path(d, "t").write_bytes(table.to_bytes())
        # Postfix pauses ~2 s on files younger than that ("cool down"): backdate them.
        for name in ("main.cf", "t"):
            os.utime(Path(d, name), (time.time() - 10, time.time() - 10))
        spec = f"{table.type}:{d}/t"
        if table.type == "hash":
            subprocess.run(["postmap", "-c", d, spec], check=True, timeout=30)
        res = subprocess.run(
            ["postmap", "-c", d, "-q", key, spec], capture_output=True, text=True, timeout=30
        )
    return res.stdout.rstrip("\n") if res.returncode == 0 else None


def proven(f: TableFinding, table: Table) -> None:
    assert f.example is not None, f"{f.code} has no proof key"
    assert postmap_q(table, f.example) == f.example_answer, f


def by_code(findings: list[TableFinding]) -> dict[str, TableFinding]:
    return {f.code: f for f in findings}


@needs_postfix
def test_seed000_everything_wrong_with_the_table() -> None:
    table = Table.parse(SEED_TABLE, "regexp", "/etc/postfix/cisco_dmarc_sender_access")
    found = by_code(lint(table, used_as="sender"))
    assert set(found) == {
        "case-sensitive-flag",
        "unanchored-end",
        "matches-local-part",
        "forgeable-allow",
    }
    for f in found.values():
        assert isinstance(f, Finding)
        assert f.parameter == "regexp:/etc/postfix/cisco_dmarc_sender_access"
        assert f.message.startswith("line 2:")
        proven(f, table)

    # The i flag: upper case gets no answer from postmap, exactly the seed's "There is no
    # output."  Only info: smtpd lower-cases the sender first (test_tables_bench proves it).
    case = found["case-sensitive-flag"]
    assert case.severity is Severity.INFO
    assert case.example_answer is None and case.example.isupper()
    assert "case-SENSITIVE" in case.message and "Perl" in case.message
    assert postmap_q(table, case.example.lower()) == "PERMIT"
    assert postmap_q(table, "MAILER-DAEMON@esa.HC3512-62.iphmx.com") is None

    # An attacker's own domain gets PERMIT: danger, because it is an allowlist.
    end = found["unanchored-end"]
    assert end.severity is Severity.DANGER and end.example_answer == "PERMIT"
    assert end.example.endswith(".attacker.example")
    local = found["matches-local-part"]
    assert local.severity is Severity.DANGER and local.example.endswith("@attacker.example")
    assert "'$'" in end.message and "'@'" in local.message

    forge = found["forgeable-allow"]
    assert forge.severity is Severity.CAUTION and forge.example_answer == "PERMIT"
    assert "MAIL FROM" in forge.message


@needs_postfix
def test_capitals_in_a_case_sensitive_pattern_never_match_mail() -> None:
    table = Table.parse(
        "/^MAILER-DAEMON@esa[0-9]*\\.iphmx\\.com$/i PERMIT\n", "regexp", "/etc/postfix/x"
    )
    f = by_code(lint(table))["case-sensitive-never-matches"]
    assert f.example == "mailer-daemon@esa.iphmx.com" and f.example_answer is None
    proven(f, table)
    assert postmap_q(table, "MAILER-DAEMON@esa.iphmx.com") == "PERMIT"


@needs_postfix
def test_a_fixed_pattern_has_no_findings() -> None:
    table = Table.parse("/@(.*\\.)?iphmx\\.com$/ PERMIT\n", "regexp", "/etc/postfix/x")
    assert [f.code for f in lint(table)] == []
    assert postmap_q(table, "MAILER-DAEMON@esa.HC3512-62.iphmx.com") == "PERMIT"
    assert postmap_q(table, "esa.iphmx.com@attacker.example") is None
    assert postmap_q(table, "x@esa.iphmx.com.attacker.example") is None


@needs_postfix
def test_unescaped_dot_and_shadowed_and_numeric() -> None:
    table = Table.parse(
        "/@example.com$/ REJECT\n"  # '.' matches any character
        "/spam/ REJECT spam\n"
        "/spammer/ OK\n"  # never reached for what it names: line 2 first
        "/@bad\\.test$/ 550\n"  # a bare number is OK in access(5)
        "/@bad\\.test$/ REJECT\n",  # same pattern again
        "regexp",
        "/etc/postfix/x",
    )
    found = lint(table)
    codes = {(f.code, f.line) for f in found}
    assert ("unescaped-dot", 1) in codes
    assert ("shadowed", 3) in codes and ("shadowed", 5) in codes
    assert ("numeric-permits", 4) in codes
    for f in found:
        proven(f, table)
    dot = next(f for f in found if f.code == "unescaped-dot")
    assert dot.example == "postmaster@example-com" and dot.example_answer == "REJECT"
    num = next(f for f in found if f.code == "numeric-permits")
    assert num.severity is Severity.DANGER and num.example_answer == "550"


@needs_postfix
def test_perl_habits_in_regexp_flags_and_escapes() -> None:
    table = Table.parse(
        "/^user\\d@example\\.com$/ REJECT\n/^a+b$/x REJECT basic\n", "regexp", "/etc/postfix/x"
    )
    found = by_code(lint(table))
    assert {"perl-escape", "basic-regexp-flag"} <= set(found)
    # \d matches neither a digit nor d; with x, + is an ordinary character.
    assert found["perl-escape"].example == "user0@example.com"
    proven(found["perl-escape"], table)
    assert postmap_q(table, "userd@example.com") is None
    assert postmap_q(table, "a+b") == "REJECT basic"
    assert postmap_q(table, "aab") is None


@needs_postfix
def test_shadowed_in_hash_and_cidr() -> None:
    h = Table.parse("Friend@Example.com OK\nfriend@example.com REJECT\n", "hash", "/etc/postfix/h")
    f = by_code(lint(h))["shadowed"]
    assert f.line == 2 and f.example_answer == "OK"
    proven(f, h)
    c = Table.parse("10.0.0.0/8 REJECT\n10.1.0.0/16 OK\n", "cidr", "/etc/postfix/c")
    f = by_code(lint(c))["shadowed"]
    assert f.line == 2 and f.example == "10.1.0.0" and f.example_answer == "REJECT"
    proven(f, c)


@needs_postfix
def test_a_wildcard_glued_to_the_domain_lets_someone_elses_domain_in() -> None:
    """/@(.*)example\\.com$/ OK also answers attackerexample.com: DANGER, proven by postmap;
    with '\\.' before the domain it is fine."""
    table = Table.parse("/@(.*)example\\.com$/ OK\n/example\\.net$/ PERMIT\n", "pcre", "/t")
    found = [f for f in lint(table, used_as="sender") if f.code == "glued-domain"]
    assert [(f.line, f.severity, f.example) for f in found] == [
        (1, Severity.DANGER, "postmaster@attackerexample.com"),
        (2, Severity.DANGER, "postmaster@attackerexample.net"),
    ]
    for f in found:
        proven(f, table)
    safe = Table.parse("/@(.*\\.)?example\\.com$/ OK\n/\\.iphmx\\.com$/ PERMIT\n", "pcre", "/t")
    assert [f for f in lint(safe, used_as="sender") if f.severity is Severity.DANGER] == []


@needs_postfix
def test_a_wildcard_inside_the_domain_and_after_it() -> None:
    """/@example.*\\.com$/ OK lets the sender pick the domain (example.attacker.com);
    /@example\\.com.*$/ OK is as open as no '$'; /@mail.example\\.com$/ OK lets
    mail-example.com in. Each a DANGER on a permit line, proven by postmap; spelt out, none."""
    table = Table.parse(
        "/@example.*\\.com$/ OK\n/@example\\.org.*$/ OK\n"
        "/@mail.example\\.net$/ PERMIT\n/@ex(.*)\\.com$/ REJECT\n",
        "regexp",
        "/t",
    )
    found = {(f.line, f.code): f for f in lint(table) if f.severity is not Severity.INFO}
    assert set(found) == {
        (1, "wildcard-in-domain"),
        (2, "unanchored-end"),
        (3, "unescaped-dot"),
        (4, "wildcard-in-domain"),
    }
    assert found[(1, "wildcard-in-domain")].example == "postmaster@example.attacker.com"
    assert found[(2, "unanchored-end")].example == "postmaster@example.org.attacker.example"
    assert found[(3, "unescaped-dot")].example == "postmaster@mail-example.net"
    assert [found[k].severity for k in sorted(found)] == [Severity.DANGER] * 3 + [
        Severity.CAUTION
    ]  # line 4 refuses: a wider refusal is no hole
    for f in found.values():
        proven(f, table)
    safe = Table.parse(
        "/@(.*\\.)?example\\.com$/ OK\n/@mail\\..*\\.example\\.org$/ OK\n"
        "/^user@esa.*\\.iphmx\\.com$/ OK\n",
        "regexp",
        "/t",
    )
    assert [f.code for f in lint(safe) if f.severity is not Severity.INFO] == []


@needs_postfix
def test_any_user_name_written_as_a_negated_class_is_no_hiding_place() -> None:
    """``[^@]+`` is how admins write "any user name": the example maker used to give up on a
    negated class, so the missing ``$`` after the domain went unremarked."""
    for kind in ("regexp", "pcre"):
        table = Table.parse(
            b"/^[^@]+@esa[0-9]+\\.[a-z0-9-]+\\.iphmx\\.com/ PERMIT\n", kind, "/etc/postfix/x"
        )
        end = by_code(lint(table, used_as="sender"))["unanchored-end"]
        assert end.severity is Severity.DANGER and end.example_answer == "PERMIT"
        assert end.example.endswith(".iphmx.com.attacker.example")
        proven(end, table)
    # Members Python would read otherwise (POSIX classes) give no example, never a wrong one.
    table = Table.parse(b"/^[^[:space:]]+@x\\.example$/ PERMIT\n", "regexp", "/etc/postfix/x")
    assert "unanchored-end" not in by_code(lint(table, used_as="sender"))
