"""Lookups agree with Postfix: our simulator's answer == ``postmap -q`` for the same key.

Differential: hypothesis builds regexp/pcre/cidr/hash tables and keys from small alphabets (so
matches are frequent), then every key is asked of both our simulator and ``postmap -q -``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pfwizard.tables.lookup import (
    Simulator,
    access_lookup,
    postmap_batch,
    postmap_query,
    search_keys,
)
from pfwizard.tables.model import Pattern, Table
from pfwizard.tables.translate import Untranslatable, translate
from tests.conftest import needs_postfix

CONF = Path(tempfile.mkdtemp(prefix="pfwizard-tables-conf-"))
(CONF / "main.cf").write_text("compatibility_level = 3.6\n")

HYP = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def agree(table: Table, keys: list[str]) -> Simulator:
    sim = Simulator(table, CONF)
    theirs = postmap_batch(table, keys, CONF)
    for k in keys:
        ours = sim.query(k)
        assert (ours.value if ours else None) == (theirs[k].value if theirs[k] else None), (
            f"key {k!r}\n--- table ---\n{table.render()}"
        )
    return sim


# ---- pattern pieces ----------------------------------------------------------------------
ALPHA = "abdAB.@-x1D"
lit = st.sampled_from([*"abAB1x", "\\.", "@", "-", "\\-", "\\d", "\\@"])
klass = st.sampled_from(
    [
        "[ab]",
        "[^a]",
        "[A-B]",
        "[a.-]",
        "[[:digit:]]",
        "[]a]",
        "[\\.]",
        "[[:upper:]x]",
        "[^[:alpha:]]",
    ]
)
atom = st.one_of(lit, lit, klass, st.just("."))
quant = st.sampled_from(["", "", "", "*", "+", "?", "{1,2}", "{2}", "{0,1}"])
piece = st.builds(lambda a, q: a + q, atom, quant)
seq = st.lists(piece, min_size=1, max_size=4).map("".join)
group = st.builds(lambda s, q: f"({s}){q}", seq, st.sampled_from(["", "", "?", "*"]))
alt = st.builds(lambda a, b: f"{a}|{b}", seq, seq)
body = st.builds(
    lambda pre, parts, post: pre + "".join(parts) + post,
    st.sampled_from(["", "", "^"]),
    st.lists(st.one_of(seq, seq, group, alt.map(lambda x: f"({x})")), min_size=1, max_size=3),
    st.sampled_from(["", "", "$"]),
)
flags = st.sampled_from(["", "", "i", "m", "ii"])
action = st.sampled_from(["OK", "REJECT", "DUNNO", "550 5.7.1 no", "PERMIT", "REJECT [$1] $$5"])
rule = st.builds(
    lambda neg, b, f, a: f"{'!' if neg else ''}/{b}/{f} {a}",
    st.booleans().map(lambda x: x and False) | st.just(False) | st.just(True),
    body,
    flags,
    action,
)
keys_st = st.lists(st.text(ALPHA, min_size=1, max_size=10), min_size=5, max_size=25, unique=True)


@needs_postfix
@HYP
@given(rules=st.lists(rule, min_size=1, max_size=6), keys=keys_st)
def test_regexp_answers_equal_postmap(rules: list[str], keys: list[str]) -> None:
    table = Table.parse("\n".join(rules) + "\n", "regexp", "/etc/postfix/gen")
    agree(table, keys)


@needs_postfix
@HYP
@given(
    outer=body,
    inner=st.lists(rule, min_size=1, max_size=3),
    after=rule,
    keys=keys_st,
    neg=st.booleans(),
)
def test_regexp_if_blocks_equal_postmap(
    outer: str, inner: list[str], after: str, keys: list[str], neg: bool
) -> None:
    text = f"if {'!' if neg else ''}/{outer}/\n" + "\n".join(inner) + "\nendif\n" + after + "\n"
    agree(Table.parse(text, "regexp", "/etc/postfix/gen"), keys)


@needs_postfix
@HYP
@given(rules=st.lists(rule, min_size=1, max_size=5), keys=keys_st)
def test_pcre_answers_equal_postmap(rules: list[str], keys: list[str]) -> None:
    table = Table.parse("\n".join(rules) + "\n", "pcre", "/etc/postfix/gen")
    agree(table, keys)


@needs_postfix
def test_common_patterns_are_evaluated_without_postmap() -> None:
    """The speed claim needs the usual access-table patterns to be translated."""
    text = (
        "/^postmaster@/ OK\n"
        "/@example\\.com$/ REJECT\n"
        "/[%!@].*[%!@]/ 550 Sender-specified routing rejected\n"
        "if !/^owner-/\n"
        "/^(.*)-outgoing@(.*)$/ 550 Use ${1}@${2} instead\n"
        "endif\n"
        "/^[^@]+@(mail\\.)?spam[0-9]+\\.test$/ DISCARD\n"
        "/esa[0-9]*\\.?[acehimnops0-9]*[-]?[0-9]*\\.?[acps23]*\\.iphmx\\.com/i PERMIT\n"
    )
    table = Table.parse(text, "regexp", "/etc/postfix/x")
    sim = agree(
        table,
        [
            "postmaster@a.b",
            "x@example.com",
            "x@EXAMPLE.COM",
            "a@b@c",
            "list-outgoing@lists.example",
            "owner-list-outgoing@l.example",
            "a@mail.spam12.test",
            "M@esa4.commscope.iphmx.com",
            "M@esa4.COMMSCOPE.iphmx.com",
            "nobody@nowhere.test",
        ],
    )
    assert not sim.uses_postmap, sim.fallback_reason
    assert postmap_query(sim, "list-outgoing@lists.example") == "550 Use list@lists.example instead"


@needs_postfix
def test_untranslatable_patterns_fall_back_to_postmap() -> None:
    text = (
        "/^(a+)\\1$/ REJECT dup\n"  # back-reference
        "/a{,2}x/x OK\n"  # basic syntax
        "/^u\\d$/ D\n"  # glibc: matches nothing
        "/^b/ B\n"
    )
    table = Table.parse(text, "regexp", "/etc/postfix/x")
    sim = agree(table, ["aa", "aaa", "ab", "a{,2}x", "x", "ud", "u1", "bb"])
    assert sim.uses_postmap
    # Only the untranslated lines go to postmap; line numbers stay exact.
    assert sim.query("aa").line == 1 and sim.query("a{,2}x").line == 2
    assert sim.query("bb").line == 4


@needs_postfix
def test_pcre_backtracking_pattern() -> None:
    agree(Table.parse("/(.*)*aa/ OK\n", "pcre", "/etc/postfix/x"), ["AA", "1", "aa", "@"])


def test_translation_refuses_what_it_cannot_be_sure_of() -> None:
    for body, why in [
        ("(a)\\1", "back"),
        ("a**", "stacked"),
        ("[[=a=]]", "equiv"),
        ("a|", "empty"),
        ("a{,x}", "interval"),
    ]:
        with pytest.raises(Untranslatable):
            translate(Pattern(body), "regexp")
        del why
    # glibc ERE, case-insensitive: \d matches nothing, \D matches d or D: left to Postfix.
    with pytest.raises(Untranslatable):
        translate(Pattern("^\\d$"), "regexp")
    assert translate(Pattern("^\\d$"), "pcre").regex.search(b"1")


@needs_postfix
def test_invalid_lines_are_skipped_like_postfix() -> None:
    text = (
        "/a(b/ REJECT broken\n"  # does not compile: Postfix skips it
        "if /x[/\n"  # broken IF: skipped, its ENDIF then closes nothing
        "/b/ REJECT inner\n"
        "endif\n"
        "/a/ OK\n"
        "/c/i 450 text\n"
    )
    table = Table.parse(text, "regexp", "/etc/postfix/x")
    sim = agree(table, ["ab", "a(b", "b", "c", "C", "xb"])
    assert sim.query("b") is not None and sim.query("b").value == "REJECT inner"


@needs_postfix
@HYP
@given(
    entries=st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "a@b.c",
                    "A@B.C",
                    "b.c",
                    ".b.c",
                    "c",
                    "a@",
                    "<>",
                    "x+y@b.c",
                    "x@",
                    "x@b.c",
                    "sub.b.c",
                ]
            ),
            action,
        ),
        min_size=1,
        max_size=8,
    ),
    keys=st.lists(
        st.sampled_from(
            ["a@b.c", "A@b.C", "b.c", "B.C", ".b.c", "c", "a@", "<>", "x+y@b.c", "x@", "zz"]
        ),
        min_size=1,
        max_size=11,
        unique=True,
    ),
    kind=st.sampled_from(["hash", "texthash", "btree"]),
)
def test_indexed_tables_equal_postmap(
    entries: list[tuple[str, str]], keys: list[str], kind: str
) -> None:
    text = "".join(f"{k} {a}\n" for k, a in entries)
    agree(Table.parse(text, kind, "/etc/postfix/gen"), keys)


@needs_postfix
def test_cidr_equals_postmap() -> None:
    text = (
        "# clients\n"
        "192.168.1.1 OK\n"
        "192.168.0.0/16 REJECT\n"
        "1.2.3.4/24 REJECT host bits\n"  # Postfix skips: non-null host bits
        "if 10.0.0.0/8\n"
        "!10.1.0.0/16 DUNNO\n"
        "endif\n"
        "[2001:db8::1] OK\n"
        "2001:db8::/32 REJECT\n"
        "0.0.0.0/0 450 4.7.1 later\n"
    )
    table = Table.parse(text, "cidr", "/etc/postfix/x")
    agree(
        table,
        [
            "192.168.1.1",
            "192.168.2.2",
            "1.2.3.4",
            "10.1.2.3",
            "10.2.2.2",
            "2001:db8::1",
            "2001:db8::2",
            "::1",
            "8.8.8.8",
            "[192.168.1.1]",
            "junk",
        ],
    )


def test_search_keys_follow_access5() -> None:
    assert search_keys("user+ext@sub.example.com", recipient_delimiter="+") == [
        "user+ext@sub.example.com",
        "user@sub.example.com",
        "sub.example.com",
        "example.com",
        "com",
        "user+ext@",
        "user@",
    ]
    assert search_keys("u@sub.example.com", parent_domain_matches_subdomains=False) == [
        "u@sub.example.com",
        "sub.example.com",
        ".example.com",
        ".com",
        "u@",
    ]
    assert search_keys("", "sender") == ["<>"]
    assert search_keys("u@x.example", fixed=False) == ["u@x.example"]
    assert search_keys("Postmaster", myorigin="Box.Example.com") == [
        "postmaster@box.example.com",
        "box.example.com",
        "example.com",
        "com",
        "postmaster@",
    ]
    assert search_keys("MAILER-DAEMON@Esa.X.Test", fixed=False) == ["mailer-daemon@esa.x.test"]
    assert search_keys("john doe@x.example") == [
        '"john doe"@x.example',
        "john doe@x.example",
        "x.example",
        "example",
        '"john doe"@',
        "john doe@",
    ]


def test_access_lookup_on_hash_folds_and_walks_parents() -> None:
    table = Table.parse(
        "Example.COM REJECT\nfriend@example.com OK\npostmaster@ DUNNO\n",
        "hash",
        "/etc/postfix/access",
    )
    sim = Simulator(table, ask_postfix=False)
    r = access_lookup(sim, "Friend@Example.com")
    assert r is not None and (r.action, r.matched_key) == ("OK", "friend@example.com")
    r = access_lookup(sim, "x@mail.example.com")
    assert r is not None and (r.action, r.matched_key, r.line) == ("REJECT", "example.com", 1)
    assert access_lookup(sim, "x@mail.example.com", parent_domain_matches_subdomains=False) is None
    r = access_lookup(sim, "postmaster@other.test")
    assert r is not None and r.matched_key == "postmaster@"
