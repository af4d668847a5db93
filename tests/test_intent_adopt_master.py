"""Reading back master.cf options made by hand that a MiaB setup run commented out, and keeping
adopted lines as comments under a note (restore --adopt)."""

from __future__ import annotations

import pytest

from pfwizard.errors import ValueRefused
from pfwizard.intent.adopt import ADOPTED_NOTE, adopted_note, find_adoptions
from pfwizard.intent.adopt_master import find_service_adoptions
from pfwizard.kept_lines import KeptLines, keep_as_comments
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf
from tests.miab_setup import FIXTURES, release_services, run_master_setup

KEY = "submission/inet/smtpd_client_restrictions"
NOTE = adopted_note(FIXTURES / "customizations.yaml")


def adoptions(text, skip=frozenset()):
    return find_service_adoptions(MasterCf.parse(text), skip)


def test_the_admins_submission_option_is_read_back_from_the_commented_entry():
    after = (FIXTURES / "master.cf.customized-after-v75-setup").read_text()
    (a,) = adoptions(after)
    assert (a.key, a.value, a.miab_value, a.line) == (
        KEY,
        "permit_sasl_authenticated,reject",
        None,
        30,
    )
    # The whole commented-out entry (header and its -o lines), not Postfix's own examples
    # that follow it in the stock file.
    assert a.block == tuple(range(24, 31))
    assert a.texts[0].startswith("#submission inet n       -       -")
    assert "commented out on line 30" in a.describe() and "does not set it" in a.describe()


def test_miabs_setup_run_over_the_admins_file_gives_exactly_that_option_back():
    before = (FIXTURES / "master.cf.customized-before-v75-setup").read_text()
    assert adoptions(before) == []
    (a,) = adoptions(run_master_setup(before, release_services()))
    assert (a.key, a.value) == (KEY, "permit_sasl_authenticated,reject")


def test_postfix_s_commented_examples_are_not_the_admins():
    # The stock `#submission ...` / `#  -o ...` examples, before and after a setup run.
    text = (FIXTURES / "master.cf.v75").read_text()
    assert adoptions(text) == []
    assert adoptions(run_master_setup(text, release_services())) == []


def test_an_older_miab_entry_is_miabs_trail_not_the_admins():
    # A release that wrote another value: its commented entry is in MiaB's own layout.
    v75 = (FIXTURES / "master.cf.v75").read_text()
    older = v75.replace(
        "\t  -o smtpd_tls_security_level=encrypt\n", "\t  -o smtpd_tls_security_level=may\n", 1
    )
    assert older != v75
    assert adoptions(run_master_setup(older, release_services())) == []


def test_a_changed_value_is_adopted_with_miabs_value_as_its_base():
    v75 = (FIXTURES / "master.cf.v75").read_text()
    # The admin retyped MiaB's line with another value.
    mine = v75.replace(
        "\t  -o smtpd_tls_security_level=encrypt\n", "  -o smtpd_tls_security_level=may\n", 1
    )
    (a,) = adoptions(run_master_setup(mine, release_services()))
    assert (a.key, a.value, a.miab_value) == (
        "submission/inet/smtpd_tls_security_level",
        "may",
        "encrypt",
    )


def test_options_already_recorded_or_adopted_before_are_left_alone():
    after = (FIXTURES / "master.cf.customized-after-v75-setup").read_text()
    assert adoptions(after, {KEY}) == []
    (a,) = adoptions(after)
    noted = keep_as_comments(after.encode(), [a.kept(NOTE)], "master.cf").decode()
    assert adoptions(noted) == []


def test_kept_lines_become_comments_under_the_note_and_nothing_else_moves():
    cf = MainCf.read(FIXTURES / "main.cf.customized-after-v75-setup")
    sender = next(
        a for a in find_adoptions(cf) if a.intent.parameter == "smtpd_sender_restrictions"
    )
    assert sender.lines == (82, 83, 84, 85, 86, 87)
    before = (FIXTURES / "main.cf.customized-after-v75-setup").read_bytes()
    after = keep_as_comments(before, [sender.kept(NOTE)], "main.cf").decode().splitlines()
    old = before.decode().splitlines()
    assert after[:81] == old[:81] and after[88:] == old[87:]
    assert after[81] == NOTE and after[81].startswith(ADOPTED_NOTE)
    assert after[82] == "#smtpd_sender_restrictions ="
    assert after[83:88] == ["#" + line for line in old[82:87]]
    kept = MainCf.parse("\n".join(after) + "\n")
    assert kept.glued_continuations() == []
    # Under the note, the old value is history: never proposed again.
    assert "smtpd_sender_restrictions" not in [a.intent.parameter for a in find_adoptions(kept)]


def test_kept_lines_refuse_a_file_that_moved_since_it_was_read():
    kept = KeptLines("main.cf", (2,), ("#old = value",), NOTE)
    with pytest.raises(ValueRefused, match="line 2 changed"):
        keep_as_comments(b"a = b\n#other = value\n", [kept], "main.cf")
    with pytest.raises(ValueRefused):
        KeptLines("main.cf", (1,), ("x",), "not a comment")


def test_the_fixtures_hold_no_other_master_cf_hand_edit_that_miab_overwrites():
    """Adopt reads back `-o` options; this is why nothing more: in the customised fixtures,
    MiaB's setup comments out only the admin's submission entry, whose service line (fields,
    command and its arguments) is MiaB's own, so the one difference is an `-o` option; the
    admin's other hand edits (postscreen on smtp, its smtpd/dnsblog/tlsproxy services) are
    on services MiaB does not manage and survive untouched."""

    def plain(args):  # the command's own arguments, without the -o options
        out, words = [], iter(args)
        for w in words:
            if w == "-o":
                next(words, None)
            elif not w.startswith("-o"):
                out.append(w)
        return tuple(out)

    def entries(name):
        cf = MasterCf.read(FIXTURES / name)
        return {s.key: (s.fields, s.command, plain(s.args), s.options) for s in cf.services()}

    before = entries("master.cf.customized-before-v75-setup")
    after = entries("master.cf.customized-after-v75-setup")
    miab = entries("master.cf.v75")
    assert sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)) == [
        "submission/inet"
    ]
    assert after["submission/inet"] == miab["submission/inet"]
    mine, theirs = before["submission/inet"], miab["submission/inet"]
    assert mine[:3] == theirs[:3]  # fields, command, arguments: MiaB's
    assert set(mine[3]) - set(theirs[3]) == {
        ("smtpd_client_restrictions", "permit_sasl_authenticated,reject")
    }
    assert set(theirs[3]) <= set(mine[3])
    # The admin's postscreen setup: not MiaB's services, the same before and after.
    assert before["smtp/inet"][1] == "postscreen" and after["smtp/inet"] == before["smtp/inet"]
    for key in ("smtpd/pass", "dnsblog/unix", "tlsproxy/unix"):
        assert key not in miab and after[key] == before[key]
