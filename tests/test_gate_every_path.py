"""One gate on every path that writes: apply, restore, rollback --to, confirm-or-revert and
the wizard's session all refuse an open relay, an unknown restriction and a list edit of a
parameter that is not a restriction or milter list: exit 4, nothing written.

Seen from the attacker's side: after each attempt, an outside client (127.0.0.3) asking the
bench's real smtpd to relay to a remote domain is still refused.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pfwizard import cli, exitcodes
from pfwizard.engine import ChangeSet, Engine
from pfwizard.engine.journal import PENDING_CONFIRM, REFUSED
from pfwizard.errors import ValueRefused
from pfwizard.intent.store import ListEditRefused, parse_text
from pfwizard.session import Session
from tests.bench.smtp import OUTSIDE
from tests.conftest import needs_bench
from tests.test_engine_support import backdate, snapshot, state_dir

OPEN_RELAY = {"mynetworks": "0.0.0.0/0"}
VICTIM = "victim@remote.example"


@pytest.fixture
def state() -> Iterator[Path]:
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def relay_refused(bench) -> None:
    """The outside client cannot relay through the bench's smtpd."""
    d = bench.dialogue(source=OUTSIDE, rcpt_to=VICTIM)
    assert d.rcpt.code in (454, 554), d.rcpt
    assert "Relay access denied" in d.rcpt.text


def run_cli(*argv: str) -> int:
    return cli.main(list(argv))


def cli_dirs(bench, state: Path) -> list[str]:
    return ["--config-dir", str(bench.config_dir), "--state-dir", str(state)]


PROFILES = {
    "open relay": 'version: 1\nparameters:\n  mynetworks:\n    value: "0.0.0.0/0"\n',
    "unknown restriction": (
        "version: 1\nchains:\n  smtpd_relay_restrictions:\n"
        "    base: permit_mynetworks, reject_unauth_destination\n"
        "    operations:\n      - insert: reject_no_such_thing\n"
        "        before: reject_unauth_destination\n"
    ),
    "list edit of header_checks": (
        "version: 1\nchains:\n  header_checks:\n    base: null\n"
        "    operations:\n      - insert: permit\n"
    ),
}


@needs_bench
@pytest.mark.parametrize("what", list(PROFILES))
def test_apply_refuses(bench, state, tmp_path, capsys, what):
    before = snapshot(bench.config_dir)
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILES[what])
    code = run_cli("apply", str(profile), *cli_dirs(bench, state))
    out = capsys.readouterr()
    assert code == exitcodes.REFUSED, out
    assert re.search(r"nothing (was )?written", out.out + out.err)
    assert snapshot(bench.config_dir) == before
    relay_refused(bench)


def test_a_list_edit_of_a_non_list_is_refused_with_file_and_line():
    with pytest.raises(ListEditRefused) as err:
        parse_text(PROFILES["list edit of header_checks"], "profile.yaml")
    assert err.value.line == 3 and "header_checks is not a restriction or milter list" in str(
        err.value
    )
    # master.cf: a table-list option takes tables, not restriction words.
    text = (
        "version: 1\nservices:\n  authclean/unix/header_checks:\n    base: null\n"
        "    operations:\n      - insert: permit\n"
    )
    with pytest.raises(ListEditRefused, match="takes lookup tables"):
        parse_text(text, "profile.yaml")
    text = (
        "version: 1\nservices:\n  smtp/inet/syslog_name:\n    base: null\n"
        "    operations:\n      - insert: permit\n"
    )
    with pytest.raises(ListEditRefused, match="not a restriction, milter or lookup-table"):
        parse_text(text, "profile.yaml")


@needs_bench
def test_the_engine_refuses_header_checks_permit_whatever_the_path(bench, state):
    """The defensive check in the engine (no analyser gate at all): a table-list parameter
    set to a restriction word."""
    before = snapshot(bench.config_dir)
    eng = Engine(bench.config_dir, state, gate=lambda cf, d: [])
    for params in ({"header_checks": "permit"}, {"smtpd_sender_login_maps": "reject"}):
        res = eng.apply(eng.plan(ChangeSet("x", dict(params), [])))
        assert res.refused and res.outcome == REFUSED
        assert "takes lookup tables" in (res.error or "") + res.postfix_output
    assert snapshot(bench.config_dir) == before


@needs_bench
@pytest.mark.parametrize("what", ["open relay", "unknown restriction"])
def test_restore_yes_on_a_hand_edited_customizations_file_refuses(bench, state, capsys, what):
    (state / "customizations.yaml").write_text(PROFILES[what])
    before = snapshot(bench.config_dir)
    code = run_cli("restore", "--yes", *cli_dirs(bench, state))
    out = capsys.readouterr()
    assert code == exitcodes.REFUSED, out
    assert snapshot(bench.config_dir) == before
    relay_refused(bench)


@needs_bench
def test_restore_refuses_a_hand_edited_list_edit_of_header_checks(bench, state, capsys):
    (state / "customizations.yaml").write_text(PROFILES["list edit of header_checks"])
    before = snapshot(bench.config_dir)
    code = run_cli("restore", "--yes", *cli_dirs(bench, state))
    err = capsys.readouterr().err
    assert code == exitcodes.REFUSED
    assert "customizations.yaml, line 3" in err and "header_checks" in err
    assert snapshot(bench.config_dir) == before


def fixed_open_relay(bench, state: Path) -> tuple[Engine, str]:
    """An open relay written by hand (never reloaded), then fixed through pfwizard: the
    fix's journal entry holds the open relay as its backup."""
    bench.instance.write_main_cf(OPEN_RELAY)
    eng = Engine(bench.config_dir, state, restart=bench.restart)
    eng.before_reload = lambda: backdate(bench.config_dir)
    res = eng.apply(eng.plan(ChangeSet("close the relay", {"mynetworks": "127.0.0.2/32"}, [])))
    assert res.ok, res.error
    relay_refused(bench)
    return eng, str(res.entry_id)


@needs_bench
def test_rollback_to_an_entry_whose_backup_is_an_open_relay_refuses(bench, state, capsys):
    _eng, entry = fixed_open_relay(bench, state)
    before = snapshot(bench.config_dir)
    code = run_cli("rollback", "--to", entry, "--yes", *cli_dirs(bench, state))
    out = capsys.readouterr()
    assert code == exitcodes.REFUSED, out
    assert "open" in (out.out + out.err).lower() and "relay" in (out.out + out.err).lower()
    assert snapshot(bench.config_dir) == before
    relay_refused(bench)


@needs_bench
def test_confirm_or_revert_refuses_to_put_back_an_open_relay(bench, state):
    eng, entry_id = fixed_open_relay(bench, state)
    entry = eng.journal.load(entry_id)
    assert entry is not None
    entry.outcome = PENDING_CONFIRM  # as if applied with a deadline that has now passed
    eng.journal.save(entry)
    before = snapshot(bench.config_dir)
    res = eng.revert_unconfirmed(entry_id, wait=5)
    assert res is not None and not res.ok and res.refused and res.outcome == REFUSED
    assert "relay" in (res.error or "") + res.postfix_output
    assert snapshot(bench.config_dir) == before
    relay_refused(bench)


@needs_bench
def test_rollback_still_puts_back_what_an_admin_may_accept(bench, state):
    """The rollback gate blocks only what nobody may accept: undoing a safe change works."""
    eng = Engine(bench.config_dir, state, restart=bench.restart)
    eng.before_reload = lambda: backdate(bench.config_dir)
    res = eng.apply(eng.plan(ChangeSet("helo", {"smtpd_helo_required": "yes"}, [])))
    assert res.ok, res.error
    back = eng.rollback(str(res.entry_id))
    assert back.ok, back.error
    assert "smtpd_helo_required" not in (bench.config_dir / "main.cf").read_text()


@needs_bench
def test_the_wizard_session_refuses_an_open_relay(bench, state):
    before = snapshot(bench.config_dir)
    session = Session.open(bench.config_dir, state)
    session.set_value("mynetworks", "0.0.0.0/0")
    relay = [f for f in session.blocking() if not f.acceptable]
    assert relay and not session.accept(relay[0])  # never acceptable
    eng = session.engine()
    res = eng.apply(eng.plan(session.changeset()))
    assert res.refused and res.outcome == REFUSED
    assert snapshot(bench.config_dir) == before
    relay_refused(bench)
    with pytest.raises(ValueRefused, match="not a restriction or milter list"):
        session.insert("header_checks", 0, session.chain("smtpd_relay_restrictions").items[0])


def test_table_lists_take_tables_only(tmp_path):
    from pfwizard.engine.listcheck import list_words, not_tables, table_list_findings

    assert list(list_words("pcre:/a, inline:{ a=b, c=d } $x")) == [
        "pcre:/a",
        "inline:{ a=b, c=d }",
        "$x",
    ]
    assert not_tables("pcre:/a, permit ${alias_maps}") == ["permit"]
    live, new = tmp_path / "live", tmp_path / "new"
    for d in (live, new):
        d.mkdir()
        (d / "main.cf").write_text("header_checks = permit\n")  # already there: not ours
        (d / "master.cf").write_text("cleanup unix n - n - 0 cleanup\n")
    assert table_list_findings(new, live) == []
    (new / "main.cf").write_text("header_checks = permit\nbody_checks = regexp:/b reject\n")
    (new / "master.cf").write_text("cleanup unix n - n - 0 cleanup\n  -o header_checks=OK\n")
    found = table_list_findings(new, live)
    assert [(f.parameter, f.acceptable) for f in found] == [
        ("body_checks", False),
        ("master.cf cleanup/unix/header_checks", False),
    ]
    assert "'reject'" in found[0].message and "'OK'" in found[1].message
