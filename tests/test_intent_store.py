"""customizations.yaml: schema, clear errors naming the line, comments and order kept."""

from __future__ import annotations

import pytest

from pfwizard.chain import Chain, Item
from pfwizard.intent import (
    IntentError,
    IntentFile,
    OpKind,
    parse_text,
    record_chain,
    record_parameter,
)

GOOD = """\
# my notes about this box
version: 1
chains:
  smtpd_sender_restrictions:
    base: reject_non_fqdn_sender,reject_unknown_sender_domain
    operations:
      # Cisco reporters
      - insert: check_sender_access regexp:/etc/postfix/pfwizard/allow
        before: reject_unknown_sender_domain
        why: seed 000   # the forum thread
parameters:
  smtpd_helo_required:
    value: yes
"""


def test_parses_the_documented_schema():
    _, model = parse_text(GOOD)
    ci = model.chains["smtpd_sender_restrictions"]
    assert ci.base is not None and ci.base.names() == [
        "reject_non_fqdn_sender",
        "reject_unknown_sender_domain",
    ]
    (op,) = ci.operations
    assert op.kind is OpKind.INSERT
    assert op.item == Item("check_sender_access", "regexp:/etc/postfix/pfwizard/allow")
    assert op.before == Item("reject_unknown_sender_domain")
    assert op.why == "seed 000" and op.line == 8
    assert model.parameters["smtpd_helo_required"].value == "yes"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("chains: {}\n", 1, "version"),
        ("version: 2\n", 1, "not supported"),
        ("version: 1\nchainz: {}\n", 2, "unknown key 'chainz'"),
        (
            "version: 1\nchains:\n  smtpd_sender_restrictions:\n    operations:\n"
            "      - insert: permit\n        before: a\n        after: b\n",
            5,
            "not both",
        ),
        (
            "version: 1\nchains:\n  smtpd_sender_restrictions:\n    operations:\n"
            "      - frobnicate: permit\n",
            5,
            "unknown key 'frobnicate'",
        ),
        (
            "version: 1\nchains:\n  smtpd_sender_restrictions:\n    operations:\n"
            "      - move: permit\n",
            5,
            "move needs",
        ),
        (
            "version: 1\nchains:\n  smtpd_client_restrictions:\n    operations:\n"
            "      - insert: check_sender_access\n",
            5,
            "takes 1 argument",
        ),
        (
            "version: 1\nchains:\n  x:\n    operations:\n      - insert: check_sender_access\n",
            3,
            "x is not a restriction or milter list",
        ),
        ("version: 1\nparameters:\n  smtpd_helo_required:\n    why: x\n", 3, "'value' is missing"),
        ("version: 1\ntables:\n  pfwizard/t:\n    type: hash\n", 3, "absolute path"),
        ("version: 1\nchains: [\n", 3, "not valid YAML"),
    ],
)
def test_invalid_file_names_the_line(tmp_path, text, line, words):
    path = tmp_path / "customizations.yaml"
    path.write_text(text)
    with pytest.raises(IntentError) as err:
        IntentFile.load(path)
    assert err.value.line == line, str(err.value)
    assert words in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_is_no_customisation(tmp_path):
    assert IntentFile.load(tmp_path / "none.yaml").model.is_empty()


def test_comments_and_order_survive_pfwizard_updates(tmp_path):
    path = tmp_path / "customizations.yaml"
    path.write_text(GOOD)
    store = IntentFile.load(path)
    base = Chain.parse("reject_non_fqdn_sender,reject_unknown_sender_domain")
    before = base.copy()
    before.insert_before(
        "reject_unknown_sender_domain",
        Item("check_sender_access", "regexp:/etc/postfix/pfwizard/allow"),
    )
    after = before.copy()
    after.items.append(Item("reject_rhsbl_sender", "dbl.spamhaus.org"))
    record_chain(store, "smtpd_sender_restrictions", before, after, why="blocklist")
    record_parameter(store, "smtpd_helo_restrictions", None, "reject_invalid_helo_hostname")
    store.save()
    text = path.read_text()
    for comment in ("# my notes about this box", "# Cisco reporters", "# the forum thread"):
        assert comment in text
    assert text.index("chains:") < text.index("parameters:")
    again = IntentFile.load(path).model
    ops = again.chains["smtpd_sender_restrictions"].operations
    assert [o.why for o in ops] == ["seed 000", "blocklist"]
    assert again.parameters["smtpd_helo_restrictions"].value == "reject_invalid_helo_hostname"
    assert (path.stat().st_mode & 0o777) == 0o600


def test_undoing_a_change_removes_its_record(tmp_path):
    store = IntentFile.load(tmp_path / "c.yaml")
    base = Chain.parse("a,b")
    changed = Chain.parse("a,permit_mynetworks,b")
    record_chain(store, "smtpd_client_restrictions", base, changed)
    assert "smtpd_client_restrictions" in store.model.chains
    record_chain(store, "smtpd_client_restrictions", changed, base)
    assert "smtpd_client_restrictions" not in store.model.chains
    assert "smtpd_client_restrictions" not in store.dumps()
