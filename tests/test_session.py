"""The wizard's state model (core, no Textual): edits, undo, findings, change set, facts."""

from __future__ import annotations

import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from pfwizard.chain import Item
from pfwizard.errors import ValueRefused
from pfwizard.findings import Severity
from pfwizard.milters import milter_state
from tests.tui_app import make_session

SENDER = "smtpd_sender_restrictions"
SEED_ITEM = "check_sender_access regexp:{etc}/pfwizard/sender_access"


def test_untouched_session_changes_nothing(tmp_path):
    s = make_session(tmp_path)
    assert not s.changed
    assert s.value(SENDER) == s.original(SENDER)
    assert not any(s.dirty(stage) for stage in ("helo", "sender", "recipient", "milter"))
    assert s.engine().plan(s.changeset()).is_empty


def test_seed000_insert_keeps_miab_style_and_is_undoable(tmp_path):
    s = make_session(tmp_path)
    item = Item.parse(SEED_ITEM.format(etc=s.config_dir))
    at = s.insert(SENDER, s.chain(SENDER).index_of("reject_unknown_sender_domain"), item)
    assert at == 1
    assert s.value(SENDER).startswith(
        f"reject_non_fqdn_sender,check_sender_access regexp:{s.config_dir}/pfwizard/"
        "sender_access,reject_unknown_sender_domain,"
    )
    assert s.dirty("sender") and not s.dirty("helo")
    assert s.ops[-1] == {
        "parameter": SENDER,
        "op": "insert",
        "item": item.render(),
        "before": "reject_unknown_sender_domain",
    }
    assert s.undo()
    assert not s.changed and s.ops == []
    assert not s.undo()


def test_move_clamps_at_the_edges_and_moving_back_is_not_a_change(tmp_path):
    s = make_session(tmp_path)
    assert s.move(SENDER, 0, -1) == 0
    assert not s.can_undo  # a move that goes nowhere records nothing
    n = len(s.chain(SENDER))
    assert s.move(SENDER, n - 1, 1) == n - 1
    assert s.move(SENDER, 0, 1) == 1
    assert s.changed
    assert s.move(SENDER, 1, -1) == 0
    assert not s.changed  # back where MiaB had it: nothing to write
    assert s.can_undo


@pytest.mark.parametrize(
    "bad", ["regexp:/x\n", "regexp:/x,reject", "regexp:/x y", "a\x00b", "\x1b[31m"]
)
def test_arguments_with_separators_or_control_characters_are_refused(tmp_path, bad):
    s = make_session(tmp_path)
    with pytest.raises(ValueRefused):
        s.insert(SENDER, 0, Item("check_sender_access", bad))
    with pytest.raises(ValueRefused):
        s.replace(SENDER, 3, Item("reject_rhsbl_sender", bad))
    assert not s.changed


def test_missing_or_extra_argument_refused(tmp_path):
    s = make_session(tmp_path)
    with pytest.raises(ValueRefused):
        s.insert(SENDER, 0, Item("check_sender_access"))
    with pytest.raises(ValueRefused):
        s.insert(SENDER, 0, Item("reject_non_fqdn_sender", "x"))


def test_open_relay_is_danger_and_cannot_be_accepted(tmp_path):
    s = make_session(tmp_path)
    relay = "smtpd_relay_restrictions"
    s.remove(relay, s.chain(relay).index_of("reject_unauth_destination"))
    found = [f for f in s.findings() if f.code == "open-relay"]
    assert found and found[0].severity is Severity.DANGER
    assert not found[0].acceptable
    assert not s.accept(found[0])
    assert s.blocking(("smtpd_relay_restrictions", "smtpd_recipient_restrictions"))
    s.undo()
    assert not [f for f in s.findings() if f.code == "open-relay"]


def test_tables_inside_the_config_dir_only(tmp_path):
    s = make_session(tmp_path)
    with pytest.raises(ValueRefused):
        s.set_table("/etc/passwd", "x OK\n", "hash")
    with pytest.raises(ValueRefused):
        s.set_table(str(s.config_dir / "../escape"), "x OK\n", "hash")
    with pytest.raises(ValueRefused):
        s.set_table(str(s.own_table_path("t")), "a\x00 OK\n", "hash")
    s.set_table(str(s.own_table_path("t")), "a OK", "hash")
    assert s.table_text(str(s.own_table_path("t"))) == "a OK\n"
    cs = s.changeset()
    assert [(str(t.path), t.content, t.map_type) for t in cs.tables] == [
        (str(s.own_table_path("t")), "a OK\n", "hash")
    ]


def seed_change(s) -> str:
    """Seed 000's allowlist before reject_unknown_sender_domain, plus HELO required."""
    table = str(s.own_table_path("sender_access"))
    s.apply_answer(
        {
            "insert": f"check_sender_access regexp:{table}",
            "param": SENDER,
            "before": "reject_unknown_sender_domain",
        }
    )
    s.apply_answer({"table": table, "content": "/\\.iphmx\\.com$/ PERMIT\n", "type": "regexp"})
    s.apply_answer({"set": "smtpd_helo_required", "value": "yes"})
    return table


def test_changeset_and_plan_show_the_seed_change(tmp_path):
    s = make_session(tmp_path)
    table = seed_change(s)
    cs = s.changeset()
    assert set(cs.params) == {SENDER, "smtpd_helo_required"}
    diff = s.engine().plan(cs).unified_diff()
    assert (
        f"+smtpd_sender_restrictions = reject_non_fqdn_sender,check_sender_access "
        f"regexp:{table}," in diff
    )
    assert "+/\\.iphmx\\.com$/ PERMIT" in diff
    assert "+smtpd_helo_required = yes" in diff
    assert (s.config_dir / "main.cf").read_bytes() == (
        Path(__file__).parent / "fixtures/miab/main.cf.v75-fresh"
    ).read_bytes()


def test_answers_move_remove_and_revert(tmp_path):
    s = make_session(tmp_path)
    s.apply_answer({"move": "reject_rhsbl_sender", "param": SENDER, "by": -3})
    assert s.chain(SENDER).names()[0] == "reject_rhsbl_sender"
    s.apply_answer({"remove": "reject_non_fqdn_sender", "param": SENDER})
    assert "reject_non_fqdn_sender" not in s.chain(SENDER).names()
    s.revert(("smtpd_sender_restrictions",))
    assert not s.changed
    s.undo()
    assert s.changed
    with pytest.raises(ValueRefused):
        s.apply_answer({"frobnicate": 1})


def test_milter_states(tmp_path):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    try:
        assert milter_state(f"inet:127.0.0.1:{port}", tmp_path).state == "up"
    finally:
        srv.close()
    assert milter_state(f"inet:127.0.0.1:{port}", tmp_path).state == "down"
    assert milter_state("inet:192.0.2.1:8891", tmp_path).state == "not checked"
    assert milter_state("$smtpd_milters", tmp_path).state == "not checked"
    with tempfile.TemporaryDirectory(dir="/tmp") as short:  # AF_UNIX paths are short
        path = Path(short) / "m.sock"
        u = socket.socket(socket.AF_UNIX)
        u.bind(str(path))
        try:
            assert milter_state(f"unix:{path}", tmp_path).state == "up"
        finally:
            u.close()
    assert milter_state("unix:/nonexistent/m.sock", tmp_path).state == "down"
    assert milter_state("unix:private/m", tmp_path).detail.endswith(f"{tmp_path}/private/m")


def test_miab_release_from_git_describe(tmp_path):
    s = make_session(tmp_path)
    assert s.miab_release() is None
    repo = tmp_path / "mailinabox"
    repo.mkdir()
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    for cmd in (
        ["init", "-q"],
        ["commit", "-q", "--allow-empty", "-m", "x"],
        ["tag", "-a", "v75", "-m", "v75"],
    ):
        subprocess.run(["git", "-C", str(repo), *cmd], check=True, env=env)
    s.miab_checkout = repo
    assert s.miab_release() == "v75"


def test_session_open_refuses_a_broken_main_cf(tmp_path):
    from pfwizard.errors import ConfigError
    from pfwizard.session import Session

    (tmp_path / "main.cf").write_text("no equals sign here\n")
    with pytest.raises(ConfigError):
        Session.open(tmp_path, tmp_path / "state")


def test_intent_recorded_after_apply_and_drift_reported(tmp_path):
    s = make_session(tmp_path)
    assert s.restore_status() == (True, [])
    seed_change(s)
    path = s.record_intent()
    text = path.read_text()
    assert "check_sender_access" in text and "reject_unknown_sender_domain" in text
    assert "smtpd_helo_required" in text and "iphmx" in text
    # main.cf was not changed here, so the recorded customisations are "missing".
    in_sync, drift = s.restore_status()
    assert not in_sync and any("smtpd_sender_restrictions" in line for line in drift)


def test_own_table_dir_is_the_engines():
    from pfwizard import engine, session

    assert session.OWN_TABLE_DIR == engine.OWN_TABLE_DIR


def test_milter_address_syntax_is_checked_in_the_core():
    from pfwizard.milters import is_milter_address

    for ok in (
        "inet:127.0.0.1:8891",
        "inet:[::1]:8893",
        "unix:/run/opendkim/opendkim.sock",
        "unix:opendmarc/opendmarc.sock",
        "/var/run/milter.sock",
    ):
        assert is_milter_address(ok), ok
    for bad in (
        "inet:127.0.0.1",
        "inet:127.0.0.1:8891,inet:127.0.0.1:8893",
        "milter",
        "unix:/a b",
        "inet:host:123456",
        "",
    ):
        assert not is_milter_address(bad), bad


SEED_LINE = r"/esa[0-9]*\.?[acehimnops0-9]*[-]?[0-9]*\.?[acps23]*\.iphmx\.com/i PERMIT"


@pytest.mark.skipif(not __import__("shutil").which("postfix"), reason="needs Postfix")
def test_the_wizard_gate_lets_through_exactly_the_table_findings_accepted(tmp_path):
    """The forum's wide line in the wizard: the session's findings read the table before it
    is written; the engine's gate (on a staged copy, where the table's path differs) refuses
    it until the admin accepts each finding, then lets it through; the acceptance is
    remembered for the after-upgrade restore."""
    from pfwizard.engine import risks
    from pfwizard.session import Session
    from tests.miab_setup import box

    etc, state = box(tmp_path, "main.cf.v75-fresh")  # one Postfix accepts as it is
    s = Session.open(etc, state, reload=False, miab_checkout=tmp_path / "no-mailinabox")
    table = str(s.own_table_path("sender_access"))
    s.apply_answer(
        {
            "insert": f"check_sender_access regexp:{table}",
            "param": SENDER,
            "before": "reject_unknown_sender_domain",
        }
    )
    s.apply_answer({"table": table, "content": SEED_LINE + "\n", "type": "regexp"})
    blocking = s.blocking((SENDER,))
    assert {f.code for f in blocking} == {"unanchored-end", "matches-local-part"}
    eng = s.engine()
    res = eng.apply(eng.plan(s.changeset()))
    assert res.refused and not Path(table).exists()
    assert ("safety check", "failed") in [(e.step, e.status) for e in res.steps]
    assert "no '$' at the end" in res.postfix_output + (res.error or "")
    for f in blocking:
        assert s.accept(f)
    assert s.blocking() == []
    res = eng.apply(eng.plan(s.changeset()))
    assert res.ok, res.error
    assert Path(table).read_text() == SEED_LINE + "\n"
    s.record_intent()
    entry = f"check_sender_access regexp:{table}"
    assert risks.load(s.state_dir) == {("unanchored-end", entry), ("matches-local-part", entry)}


def test_session_keeps_edits_and_undo_the_rest_lives_in_its_own_module():
    import pfwizard.session as session
    from pfwizard import milters
    from pfwizard.wizard import restrictions, tables

    for gone in ("milter_states", "queue_directory", "intent_store", "plan"):
        assert not hasattr(session.Session, gone), gone
    # The old names still resolve (code written before the split), from their new homes.
    assert session.milter_state is milters.milter_state
    assert session.split_table is tables.split_table
    assert session.restriction_info is restrictions.restriction_info
