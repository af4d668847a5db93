"""Tables round-trip byte for byte and parse into the lines Postfix sees."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pfwizard.tables.model import Kind, Table, parse_spec
from tests.test_seed000_bench import SEED_TABLE


@given(
    st.lists(
        st.sampled_from(
            [
                "# comment\n",
                "\n",
                "   \n",
                "a@b.c OK\n",
                "  continued\n",
                "\t# indented comment\n",
                "/x/ REJECT\n",
                "if /a/\n",
                "endif\n",
                "key value\r\n",
                "caf\udce9 OK\n",
                "no-newline",
                "x  \t REJECT   spaces  \n",
            ]
        ),
        max_size=12,
    ),
    st.sampled_from(["hash", "regexp", "pcre", "cidr", "texthash"]),
)
@settings(max_examples=200)
def test_round_trip_is_byte_exact(parts: list[str], kind: str) -> None:
    text = "".join(parts)
    data = text.encode("utf-8", errors="surrogateescape")
    table = Table.parse(data, kind, "/etc/postfix/t")
    assert table.to_bytes() == data
    assert table.copy().to_bytes() == data


def test_logical_lines_like_postfix() -> None:
    text = (
        "# head\n"
        "a@b.c   REJECT go\n"
        "# a comment between a line and its continuation\n"
        "    away\n"
        "\n"
        "  \n"
        "x@y OK\n"
    )
    t = Table.parse(text, "hash", "access")
    kinds = [(ln.kind, ln.lineno) for ln in t.lines]
    assert kinds == [
        (Kind.COMMENT, 1),
        (Kind.ENTRY, 2),
        (Kind.BLANK, 5),
        (Kind.BLANK, 6),
        (Kind.ENTRY, 7),
    ]
    first = t.entries[0]
    assert (first.key, first.action) == ("a@b.c", "REJECT go    away")
    assert first.raw.count("\n") == 3  # the comment and the continuation belong to it
    assert t.render() == text


def test_orphan_indented_first_line_is_skipped() -> None:
    t = Table.parse("  a@b OK\nc@d OK\n", "hash", "access")
    assert t.lines[0].kind is Kind.ORPHAN and t.lines[0].skipped
    assert t.entries[0].key == "c@d"


def test_seed000_table_parses() -> None:
    t = Table.parse(SEED_TABLE, "regexp", "/etc/postfix/cisco_dmarc_sender_access")
    (entry,) = t.entries
    assert entry.pattern is not None
    assert entry.pattern.flags == "i" and entry.action == "PERMIT" and entry.lineno == 2
    assert entry.pattern.body.endswith("\\.iphmx\\.com")


def test_regexp_structure() -> None:
    t = Table.parse(
        "if !/^owner-/\n/^(.*)-outgoing@(.*)$/ 550 Use ${1}@${2} instead\n"
        "endif\nendif\n/a/!/b/ OK\n",
        "regexp",
        "r",
    )
    assert [ln.kind for ln in t.lines] == [Kind.IF, Kind.ENTRY, Kind.ENDIF, Kind.ENDIF, Kind.ENTRY]
    assert t.lines[0].pattern is not None and t.lines[0].pattern.negated
    assert t.lines[3].skipped  # ENDIF without IF
    assert t.lines[4].second is not None and t.lines[4].second.negated


def test_parse_spec() -> None:
    assert parse_spec("regexp:/etc/postfix/x") == ("regexp", "/etc/postfix/x")
    assert parse_spec("/etc/postfix/access") == ("hash", "/etc/postfix/access")
