"""Restriction lists parsed the way smtpd splits them, rendered back unchanged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pfwizard import catalogue
from pfwizard.chain import Chain, Item, tokens

NAMES = sorted(catalogue.RESTRICTIONS)
ARGS = (
    "hash:/etc/postfix/x",
    "zen.spamhaus.org=127.0.0.[2..11]",
    "inet:127.0.0.1:10023",
    "{ inet:127.0.0.1:10023, timeout=10s }",
    "inline:{ a=b, c=d }",
    "5",
)


@st.composite
def items(draw):
    name = draw(st.sampled_from(NAMES))
    if catalogue.argument_count(name):
        return Item(name, draw(st.sampled_from(ARGS)))
    return Item(name)


@given(
    st.lists(items(), min_size=1, max_size=8),
    st.lists(st.sampled_from([",", ", ", " ", ",\n    ", "\n\t", " ,  "]), min_size=7, max_size=7),
)
def test_parse_of_any_spelling_gives_the_items_back(chain_items, seps):
    text = chain_items[0].render()
    for sep, item in zip(seps, chain_items[1:], strict=False):
        text += sep + item.render()
    parsed = Chain.parse(text)
    assert parsed.items == chain_items
    assert parsed.render() == text  # unedited: byte for byte
    assert Chain.parse(parsed.copy().render()).items == chain_items


def test_braces_are_one_word_like_smtpd():
    value = (
        "check_policy_service { inet:127.0.0.1:10023, timeout=10s }, "
        "check_sender_access inline:{ a=b, c=d },sleep 3"
    )
    assert tokens(value) == [
        "check_policy_service",
        "{ inet:127.0.0.1:10023, timeout=10s }",
        "check_sender_access",
        "inline:{ a=b, c=d }",
        "sleep",
        "3",
    ]
    c = Chain.parse(value)
    assert [i.name for i in c] == ["check_policy_service", "check_sender_access", "sleep"]
    assert c.items[2].arg == "3"


def test_edited_chain_uses_the_admins_separator():
    c = Chain.parse("a,b,reject_rbl_client zen.spamhaus.org")
    c.insert_before("b", Item("permit_mynetworks"))
    assert c.render() == "a,permit_mynetworks,b,reject_rbl_client zen.spamhaus.org"
    glued = (
        "reject_non_fqdn_sender,reject_unknown_sender_domain    permit_sasl_authenticated,"
        "    reject_non_fqdn_sender"
    )
    assert Chain.parse(glued).render() == glued
