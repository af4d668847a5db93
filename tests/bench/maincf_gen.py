"""Hypothesis strategies for main.cf files the way admins and MiaB upgrades leave them.

Files are built from physical lines: blank lines (maybe whitespace only), comments (some of
them commented-out definitions, as MiaB leaves behind), definitions with and without spaces
around ``=``, empty values, ``$name`` references, duplicates, continuation lines (also after
comments and blank lines: the MiaB glue case), LF or CRLF endings, maybe no final newline,
UTF-8 and raw Latin-1 bytes.  Only known parameter names are used, so postconf prints them.
"""

from __future__ import annotations

import random

from hypothesis import strategies as st

from tests.bench.postconf import KNOWN_NAMES

# Postfix's whitespace; VT and FF are rare in real files but Postfix treats them as space too.
_WS_RUN = st.sampled_from([" ", "  ", "\t", " \t", "\t\t", "    ", "\x0b", " \x0c "])
# A continuation line starts with space or tab here.  Postfix keeps the CR of a CRLF ending in
# the logical line and pfwizard does not (test_crlf_before_vt_continuation documents it): the
# two only differ when a continuation line *starts* with VT or FF, which no admin writes.
_CONT_WS = st.sampled_from([" ", "  ", "\t", " \t", "\t\t", "    ", " \x0b", "\t\x0c "])
_SEP = st.sampled_from([", ", ",", " ", "\t", ",\t", "  ,  "])
# Word characters: anything printable that is not whitespace; "\udce9" is a raw 0xE9 byte
# (Latin-1 é) that surrogateescape writes back as that byte.  "$" only in well-formed macros:
# postconf stops with a fatal error on "${" without "}".
_WORD_CHARS = [*"abcdefghijklmnopqrstuvwxyz0123456789_.:/-=[]#,!@+*", "é", "\udce9"]
# A fixed vocabulary drawn once: one draw per word instead of one per character makes the
# generated files several times cheaper, and character variety is not what is under test.
_rng = random.Random(2)
_VOCAB = sorted({"".join(_rng.choices(_WORD_CHARS, k=_rng.randint(1, 10))) for _ in range(400)})
_PLAIN_WORD = st.sampled_from(_VOCAB)
_MACRO = st.builds(
    lambda n, form: form.format(n),
    # Names no generated file defines: a self-reference ($myhostname in myhostname) is a fatal
    # "unreasonable macro call nesting" for postconf, a different test.
    st.sampled_from(("mail_name", "mail_owner", "undefined_thing", "config_directory")),
    st.sampled_from(("${}", "${{{}}}", "$({})")),
)
_CHAIN_ITEM = st.sampled_from(
    (
        "permit_mynetworks",
        "reject_unknown_sender_domain",
        "reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]",
        "check_sender_access regexp:/etc/postfix/x",
        "check_policy_service inet:127.0.0.1:10023",
    )
)
_WORD = st.one_of(_PLAIN_WORD, _PLAIN_WORD, _MACRO, _CHAIN_ITEM)


@st.composite
def values(draw: st.DrawFn, min_words: int = 0) -> str:
    words = draw(st.lists(_WORD, min_size=min_words, max_size=4))
    out = ""
    for k, w in enumerate(words):
        out += (draw(_SEP) if k else "") + w
    return out


def _maybe(s: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), s)


NAMES = st.sampled_from(KNOWN_NAMES)
BLANK = st.sampled_from(["", " ", "\t", " \t ", "\x0c"])
COMMENT = st.one_of(
    st.builds(lambda ws, text: f"{ws}#{text}", _maybe(_WS_RUN), values()),
    # A commented-out definition: MiaB's leftovers, the start of every glue.
    st.builds(
        lambda ws, n, sp, v: f"{ws}#{n}{sp}={sp}{v}",
        _maybe(_WS_RUN),
        NAMES,
        _maybe(st.just(" ")),
        values(),
    ),
)
# Between name and "=": space and tab only.  postconf -e/-X do not recognise "name<VT>=" as
# the parameter (Postfix's reader does), so VT/FF there would only test postconf's editor.
_NAME_WS = st.sampled_from([" ", "  ", "\t", " \t"])
START = st.builds(
    lambda n, a, b, v, t: f"{n}{a}={b}{v}{t}",
    NAMES,
    _maybe(_NAME_WS),
    _maybe(_WS_RUN),
    values(),
    _maybe(_WS_RUN),
)
CONTINUATION = st.builds(lambda ws, v: f"{ws}{v}", _CONT_WS, values(min_words=1))
# A first physical line that Postfix rejects: no "=", or a space inside the name.
NO_EQUALS = st.one_of(
    st.builds(lambda n, v: f"{n} {v}", NAMES, values(min_words=1)),
    st.builds(lambda w: w, st.text(st.sampled_from("abcxyz_"), min_size=1, max_size=8)),
    st.builds(lambda n: f"my {n} = 1", NAMES),
)
LINE = st.one_of(BLANK, COMMENT, START, START, CONTINUATION, CONTINUATION)


@st.composite
def line_lists(draw: st.DrawFn) -> list[str]:
    """Physical lines (no terminators) of a valid file: nothing continues before a definition."""
    head = draw(st.lists(st.one_of(BLANK, COMMENT), max_size=2))
    return [*head, draw(START), *draw(st.lists(LINE, max_size=14))]


@st.composite
def join_lines(draw: st.DrawFn, lines: list[str]) -> bytes:
    crlf = draw(st.sampled_from(("lf", "lf", "crlf", "mixed")))
    out: list[str] = []
    for ln in lines:
        eol = {"lf": "\n", "crlf": "\r\n"}.get(crlf) or draw(st.sampled_from(("\n", "\r\n")))
        out.append(ln + eol)
    if out and draw(st.booleans()) and draw(st.booleans()):
        out[-1] = out[-1].rstrip("\r\n") if lines[-1].strip() else out[-1]  # no final newline
    return "".join(out).encode("utf-8", "surrogateescape")


@st.composite
def main_cf_files(draw: st.DrawFn) -> bytes:
    """A main.cf that Postfix accepts."""
    return draw(join_lines(draw(line_lists())))


@st.composite
def rejected_files(draw: st.DrawFn) -> bytes:
    """A main.cf with one definition line replaced by a line Postfix rejects (no '=')."""
    lines = draw(line_lists())
    starts = [
        k for k, ln in enumerate(lines) if ln and not ln[0].isspace() and not ln.startswith("#")
    ]
    k = draw(st.sampled_from(starts))
    lines[k] = draw(NO_EQUALS)
    return draw(join_lines(lines))
