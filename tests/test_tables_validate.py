"""Validation names the file and line; Postfix itself judges patterns, networks and keys;
bad input is refused and nothing is written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from pfwizard.tables.actions import Effect, classify
from pfwizard.tables.model import Table, TableError
from pfwizard.tables.validate import (
    checked_content,
    errors,
    postfix_warnings,
    validate,
)
from tests.conftest import needs_postfix

PATH = "/etc/postfix/t"


def errs(text: str, kind: str = "regexp") -> list[tuple[int | None, str]]:
    return [(p.line, p.message) for p in errors(validate(Table.parse(text, kind, PATH)))]


def test_actions_follow_access5() -> None:
    for value, effect in [
        ("OK", Effect.PERMIT),
        ("permit", Effect.PERMIT),
        ("Reject go away", Effect.REJECT),
        ("550 5.7.1 no", Effect.REJECT),
        ("450 4.7.1 later", Effect.DEFER),
        ("defer_if_permit", Effect.DEFER),
        ("DUNNO", Effect.DUNNO),
        ("warn hello", Effect.DUNNO),
        ("HOLD", Effect.SIDE),
        ("FILTER smtp:[127.0.0.1]:10025", Effect.SIDE),
        ("PREPEND X-Seen: yes", Effect.SIDE),
        ("123", Effect.PERMIT),
        ("permit_mynetworks, reject", Effect.RESTRICTIONS),
        ("reject_rbl_client zen.spamhaus.org", Effect.RESTRICTIONS),
    ]:
        act = classify(value)
        assert act.error is None and act.effect is effect, value
    for value in [
        "PERMITT",
        "REJECT_ALL",
        "FILTER nowhere",
        "REDIRECT nobody",
        "PREPEND no header",
        "check_client_access hash:/x",
        "",
        "permit # note",
    ]:
        assert classify(value).error, value
    assert classify("myclass", frozenset({"myclass"})).error is None


@needs_postfix
def test_postfix_judges_patterns_and_errors_point_at_the_line() -> None:
    text = (
        "# ok\n/good/ OK\n/a(b/ REJECT\n/[z-a]/ OK\n/x/q OK\n/unterminated OK\n"
        "/y/ PERMITT\n/ok/ REJECT costs $5\n"
    )
    found = errs(text)
    lines = [n for n, _ in found]
    assert lines == [3, 4, 5, 6, 7, 8]
    msgs = dict(found)
    assert "Unmatched ( or \\(" in msgs[3]  # glibc's own words, via postmap
    assert "Invalid range end" in msgs[4]
    assert 'unknown regexp option "q"' in msgs[5]
    assert "no closing regexp delimiter" in msgs[6]
    assert "PERMITT" in msgs[7] and "451 4.3.5" in msgs[7]
    assert "replacement index" in msgs[8]


@needs_postfix
def test_our_predictions_match_postfix_warnings() -> None:
    """Everything the parser predicts, Postfix says too (same line)."""
    text = (
        "/x/q OK\n/unterminated OK\n/ok/ REJECT $foo\nendif\nif /a/\n/b/\n"
        "frobnicate\n!/c/ REJECT $1\n"
    )
    table = Table.parse(text, "regexp", PATH)
    said = postfix_warnings(table)
    for ln in table.lines:
        for msg in ln.problems:
            assert ln.lineno in said, (ln.lineno, msg)
            assert any(msg in m or m in msg or msg.split(":")[0] in m for m in said[ln.lineno]), (
                ln.lineno,
                msg,
                said[ln.lineno],
            )


@needs_postfix
def test_cidr_and_hash_problems_come_from_postfix() -> None:
    found = errs("1.2.3.4/24 REJECT\n10.0.0.0/8 OK\n300.1.1.1 OK\n", "cidr")
    assert [n for n, _ in found] == [1, 3]
    assert "non-null host address bits" in found[0][1]
    found = errs('"john doe@x.test REJECT\nok@x.test OK\nnovalue\n', "hash")
    assert [n for n, _ in found] == [1, 3]
    warn = validate(Table.parse("a@b OK\nA@B REJECT\n", "hash", PATH))
    assert any("duplicate entry" in p.message and p.line == 2 for p in warn)


@needs_postfix
def test_every_bad_line_of_a_big_table_is_said_once() -> None:
    """Postfix's word on each of thousands of bad lines joins ours once per line (looked up
    per line: comparing each with every problem so far took seconds on 10,000 lines)."""
    text = "if /a/\n" * 3000 + "endif\n" * 3000
    problems = validate(Table.parse(text, "texthash", PATH))
    lines = [p.line for p in problems]
    assert set(lines) == set(range(1, 6001))
    for n in (1, 3000, 3001, 6000):
        said = [p.message for p in problems if p.line == n]
        assert len(said) == len(set(said)), said


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("a@b.c OK\nx@y.z FROBNICATE\n", 2, "FROBNICATE"),  # unknown action
        ("/(abc/ OK\n", 1, "Unmatched ("),  # unbalanced pattern
        ("john doe@x.test REJECT\n", 1, "'doe@x.test'"),  # key with spaces
    ],
)
@needs_postfix
def test_bad_input_gives_a_clear_error_and_nothing_is_written(
    text: str, line: int, words: str, tmp_path: Path
) -> None:
    kind = "regexp" if text.startswith("/") else "hash"
    target = tmp_path / "t"
    target.write_text("untouched\n")
    table = Table.parse(text, kind, str(target))
    with pytest.raises(TableError) as exc:
        target.write_bytes(checked_content(table))
    assert exc.value.line == line and words in exc.value.message
    assert str(target) in str(exc.value) and f"line {line}" in str(exc.value)
    assert target.read_text() == "untouched\n"


def test_nul_byte_is_refused() -> None:
    with pytest.raises(TableError) as exc:
        Table.parse(b"a@b OK\nc@d RE\0JECT\n", "hash", PATH)
    assert exc.value.line == 2 and "NUL" in exc.value.message


def test_keys_smtpd_never_looks_up() -> None:
    t = Table.parse(
        "@example.com REJECT\n*.spam.test REJECT\n10.0.0.0/8 REJECT\nexample.org REJECT\n",
        "hash",
        PATH,
    )
    warned = {p.line for p in validate(t, ask_postfix=False) if p.severity == "warning"}
    assert warned == {1, 2, 3}


@needs_postfix
def test_every_indexed_type_postfix_supports_round_trips() -> None:
    from pfwizard import postfix as pf
    from pfwizard.indexfiles import INDEXED_TYPES
    from pfwizard.tables.lookup import Simulator, postmap_batch

    conf = Path(tempfile.mkdtemp())
    (conf / "main.cf").write_text("compatibility_level = 3.6\n")
    os.utime(conf / "main.cf", (0, 0))  # no "cool down" pause
    kinds = sorted(pf.supported_map_types(conf) & set(INDEXED_TYPES))
    assert "hash" in kinds
    text = "# c\nA@B.test OK\nb.test REJECT x\n"
    for kind in kinds:
        t = Table.parse(text, kind, PATH)
        assert t.render() == text and not errors(validate(t, conf))
        keys = ["a@b.test", "B.TEST", "c.test"]
        theirs = postmap_batch(t, keys, conf)
        sim = Simulator(t, conf)
        for k in keys:
            ours = sim.query(k)
            assert (ours.value if ours else None) == (theirs[k].value if theirs[k] else None)
