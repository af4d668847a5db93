"""What ``status`` and ``check`` keep in the state directory (pfwizard.memo): a table's lint
and the validated customizations.yaml, read back on the next run.

A kept answer must be as good as a fresh one: never out of date (an edit that keeps the
size and the time is seen), never trusted when it is not pfwizard's own (corrupt, foreign,
group-writable, a symbolic link), never read by a path that writes, never a reason for a
report to create or fail on the state directory.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from pfwizard import exitcodes, memo
from pfwizard.cli import main
from pfwizard.intent import IntentFile, codec, parse_text
from pfwizard.intent.model import ParameterIntent
from tests.conftest import needs_postfix
from tests.miab_setup import SEED000_TABLE, box, customise

pytestmark = needs_postfix


def run(config_dir, state_dir, *argv):
    return main(["--config-dir", str(config_dir), "--state-dir", str(state_dir), *argv])


def report(capsys, config_dir, state_dir, command="status"):
    """(exit code, what the command printed) of one run."""
    code = run(config_dir, state_dir, command)
    return code, capsys.readouterr().out


@pytest.fixture
def customised(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    customise(config_dir, state_dir)
    subprocess.run(
        ["postmap", "-c", str(config_dir), f"hash:{config_dir}/pfwizard/own_domains"],
        check=True,
        timeout=60,
    )
    return config_dir, state_dir


def kept(state_dir, kind):
    return json.loads((state_dir / memo.DIRNAME / f"{kind}.json").read_text())["entries"]


def allow_table(config_dir):
    return config_dir / "pfwizard" / "cisco_dmarc_sender_access"


def test_the_second_run_reads_back_what_the_first_worked_out(customised, capsys):
    config_dir, state_dir = customised
    first = report(capsys, config_dir, state_dir)
    assert first[0] == exitcodes.OK and "=> in sync" in first[1]
    cache = state_dir / memo.DIRNAME
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert sorted(p.name for p in cache.iterdir()) == ["intent.json", "tablelint.json"]
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in cache.iterdir())
    assert len(kept(state_dir, "tablelint")) == 2 and len(kept(state_dir, "intent")) == 1
    before = {p.name: p.read_bytes() for p in cache.iterdir()}
    assert report(capsys, config_dir, state_dir) == first
    # Read back, not worked out and written again.
    assert {p.name: p.read_bytes() for p in cache.iterdir()} == before
    shutil.rmtree(cache)  # always safe to delete
    assert report(capsys, config_dir, state_dir) == first


def test_check_keeps_the_lint_too(customised, capsys):
    config_dir, state_dir = customised
    first = report(capsys, config_dir, state_dir, "check")
    assert (state_dir / memo.DIRNAME / "tablelint.json").is_file()
    assert report(capsys, config_dir, state_dir, "check") == first


def test_a_table_edited_in_place_is_seen_at_once(customised, capsys):
    """Same size, same time: only the bytes tell, and the key is made of them."""
    config_dir, state_dir = customised
    assert report(capsys, config_dir, state_dir)[0] == exitcodes.OK
    table = allow_table(config_dir)
    st = table.stat()
    # The pattern loses its end anchor: "iphmx.com.attacker.example" now passes.
    table.write_text(SEED000_TABLE.replace("$/ PERMIT", "/  PERMIT"))
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert table.stat().st_size == st.st_size
    code, out = report(capsys, config_dir, state_dir)
    assert code == exitcodes.FINDINGS
    assert "postmap -q 'MAILER-DAEMON@esa.a.iphmx.com.attacker.example'" in out


def test_an_edit_of_customizations_yaml_is_seen_at_once(customised, capsys):
    config_dir, state_dir = customised
    assert report(capsys, config_dir, state_dir)[0] == exitcodes.OK
    path = state_dir / "customizations.yaml"
    text = path.read_text()
    assert 'value: "yes"' in text
    path.write_text(text.replace('value: "yes"', 'value: "no" '))
    code, out = report(capsys, config_dir, state_dir)
    assert code == exitcodes.FINDINGS
    assert "smtpd_helo_required" in out and "'no'" in out


@pytest.mark.parametrize(
    "spoil",
    [
        "garbage",
        "another shape",
        "wrong types under the right keys",
        "a danger-free answer put in by hand, group-writable",
        "a symbolic link",
        "cache is a file",
    ],
)
def test_a_memo_that_is_not_ours_is_ignored(customised, capsys, tmp_path, spoil):
    config_dir, state_dir = customised
    table = allow_table(config_dir)
    table.write_text(SEED000_TABLE.replace("$/", "/"))  # a danger the lint must find
    fresh = report(capsys, config_dir, state_dir)
    assert fresh[0] == exitcodes.FINDINGS and "iphmx.com.attacker.example" in fresh[1]
    cache = state_dir / memo.DIRNAME
    lint_file, intent_file = cache / "tablelint.json", cache / "intent.json"
    if spoil == "garbage":
        lint_file.write_bytes(b"\x00{not json")
        intent_file.write_bytes(b"")
    elif spoil == "another shape":
        lint_file.write_text(json.dumps({"format": 1, "entries": []}))
        intent_file.write_text(json.dumps(["format", 1]))
    elif spoil == "wrong types under the right keys":
        for f, bad in ((lint_file, [["x", "fatal", 3, "one", None]]), (intent_file, {"format": 1})):
            doc = json.loads(f.read_text())
            doc["entries"] = {k: bad for k in doc["entries"]}
            f.write_text(json.dumps(doc))
    elif spoil == "a danger-free answer put in by hand, group-writable":
        doc = json.loads(lint_file.read_text())
        doc["entries"] = {k: [] for k in doc["entries"]}
        lint_file.write_text(json.dumps(doc))
        lint_file.chmod(0o660)
    elif spoil == "a symbolic link":
        planted = tmp_path / "planted.json"
        doc = json.loads(lint_file.read_text())
        doc["entries"] = {k: [] for k in doc["entries"]}
        planted.write_text(json.dumps(doc))
        lint_file.unlink()
        lint_file.symlink_to(planted)
    else:
        shutil.rmtree(cache)
        cache.write_text("not a directory")
    assert report(capsys, config_dir, state_dir) == fresh
    assert report(capsys, config_dir, state_dir) == fresh


def test_a_planted_cache_directory_makes_status_refuse_the_state_dir(customised, capsys, tmp_path):
    config_dir, state_dir = customised
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (state_dir / memo.DIRNAME).symlink_to(elsewhere)
    assert run(config_dir, state_dir, "status") == exitcodes.REFUSED
    assert "symbolic link" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_a_report_never_creates_the_state_directory(tmp_path, capsys):
    config_dir, _ = box(tmp_path, "main.cf.v75-fresh")
    missing = tmp_path / "no-state-yet"
    assert run(config_dir, missing, "status") == exitcodes.OK
    assert run(config_dir, missing, "check") in (exitcodes.OK, exitcodes.FINDINGS)
    assert not missing.exists()


def poison(state_dir):
    """Every kept answer replaced by one that hides everything: no table finding, and a
    customizations.yaml with nothing recorded."""
    cache = state_dir / memo.DIRNAME
    empty = codec.model_to_plain(parse_text("version: 1\n")[1])
    for name, value in (("tablelint.json", []), ("intent.json", empty)):
        doc = json.loads((cache / name).read_text())
        doc["entries"] = {k: value for k in doc["entries"]}
        (cache / name).write_text(json.dumps(doc))


def test_apply_never_reads_a_kept_answer(customised, capsys, tmp_path):
    """From the attacker's side: a memo that hides a table's danger changes nothing that
    apply does."""
    config_dir, state_dir = customised
    table = allow_table(config_dir)
    table.write_text(SEED000_TABLE.replace("$/", "/"))
    assert run(config_dir, state_dir, "status") == exitcodes.FINDINGS  # its lint is kept
    table.write_text(SEED000_TABLE)
    poison(state_dir)
    # The reports read it (root's own state directory is trusted as customizations.yaml is)
    assert "no customisations recorded" in report(capsys, config_dir, state_dir)[1]
    # ... apply does not: it still finds the danger in the table and refuses.
    # A profile with that table: the memo holds a (poisoned) answer for its bytes.
    profile = tmp_path / "profile.yaml"
    recorded = (state_dir / "customizations.yaml").read_text()
    profile.write_text(recorded.replace("iphmx\\.com$/ PERMIT", "iphmx\\.com/ PERMIT"))
    assert profile.read_text() != recorded
    main_cf = (config_dir / "main.cf").read_bytes()
    code = run(config_dir, state_dir, "--no-reload", "apply", str(profile))
    assert code == exitcodes.REFUSED
    assert "--accept-risk unanchored-end" in capsys.readouterr().out
    assert (config_dir / "main.cf").read_bytes() == main_cf
    assert table.read_text() == SEED000_TABLE


def test_restore_never_reads_a_kept_answer(customised, capsys):
    """A memo that says nothing is recorded: restore still puts back what the file records."""
    config_dir, state_dir = customised
    assert run(config_dir, state_dir, "status") == exitcodes.OK
    poison(state_dir)
    main_cf = config_dir / "main.cf"
    main_cf.write_text(
        re.sub(
            r"check_sender_access regexp:[^,]*cisco_dmarc_sender_access,", "", main_cf.read_text()
        )
    )
    capsys.readouterr()
    assert run(config_dir, state_dir, "--dry-run", "restore") == exitcodes.CHANGED
    assert "cisco_dmarc_sender_access" in capsys.readouterr().out


def test_only_the_reports_keep_answers():
    """``memo.kept`` is entered in one place, for ``READ_ONLY`` commands; outside it nothing is
    read back."""
    root = Path(__file__).resolve().parent.parent
    users = sorted(
        str(p.relative_to(root))
        for d in ("pfwizard", "tui", "screens")
        for p in (root / d).rglob("*.py")
        if "memo.kept(" in p.read_text()
    )
    assert users == ["pfwizard/cli.py"]
    assert {"status", "check"} == memo.READ_ONLY


def test_nothing_is_kept_or_read_outside_a_report(customised):
    config_dir, state_dir = customised
    assert run(config_dir, state_dir, "status") == exitcodes.OK
    assert memo.get("intent") is None and memo.get("tablelint") is None
    with pytest.raises(RuntimeError), memo.kept(state_dir):
        assert memo.get("intent") is not None
        raise RuntimeError
    assert memo.get("intent") is None


RICH = """\
# a comment the admin wrote
version: 1
miab_release: v75
chains:
  smtpd_sender_restrictions:
    base: reject_non_fqdn_sender,reject_unknown_sender_domain
    operations:
      - insert: check_sender_access regexp:/etc/postfix/pfwizard/allow
        before: reject_unknown_sender_domain
        why: Cisco reporters have no DNS
      - move: reject_non_fqdn_sender
        after: reject_unknown_sender_domain
  smtpd_recipient_restrictions:
    base: permit_mynetworks, reject_rbl_client zen.spamhaus.org
    operations:
      - remove: reject_rbl_client zen.spamhaus.org
        also_remove: reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]
      - insert: reject_unauth_destination
        at: start
        decided: keep-miab
  smtpd_client_restrictions:
    operations:
      - change: reject_rbl_client zen.spamhaus.org
        to: reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]
        keep: reject_rbl_client zen.spamhaus.org=127.0.0.2
parameters:
  smtpd_helo_required:
    value: "yes"
    base:
    keep: "no"
  disable_vrfy_command:
    value:
tables:
  /etc/postfix/pfwizard/allow:
    type: regexp
    content: |
      /^a@b\\.example$/ OK
    why: allow one
services:
  authclean/unix/header_checks:
    base: pcre:/etc/postfix/outgoing_mail_header_filters
    operations:
      - insert: pcre:/etc/postfix/pfwizard/forged
        at: end
    decided: keep-miab
  submission/inet/smtpd_tls_auth_only:
    value: "yes"
    base:
    decided: keep-miab
"""


def test_the_kept_model_is_the_files_model_field_for_field():
    _, model = parse_text(RICH)
    plain = codec.model_to_plain(model)
    assert plain is not None
    back = codec.model_from_plain(json.loads(json.dumps(plain)))
    # repr shows every field, those left out of == too (lines, reasons, decisions).
    assert repr(back) == repr(model)
    for name, ci in model.chains.items():
        assert back.chains[name].base is None or back.chains[name].base.render() == (
            ci.base.render() if ci.base else None
        )
    assert codec.model_from_plain({"format": 2}) is None
    assert codec.model_from_plain(None) is None


def test_a_file_read_back_from_the_memo_edits_and_writes_as_one_read_fresh(tmp_path):
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    path = state_dir / "customizations.yaml"
    path.write_text(RICH)
    fresh = IntentFile.load(path)
    with memo.kept(state_dir):
        IntentFile.load(path)  # works it out and keeps it
        again = IntentFile.load(path)
    assert again._doc_pending and repr(again.model) == repr(fresh.model)
    for store in (fresh, again):
        store.set_parameter(ParameterIntent("smtpd_delay_reject", "yes", None, True))
    assert again.dumps() == fresh.dumps()
    assert "# a comment the admin wrote" in again.dumps()


def test_a_postfix_upgrade_starts_the_lint_anew(tmp_path, monkeypatch):
    """postmap's file and Postfix's libraries and map plugins (postfix-pcre is upgraded on
    its own) are part of the lint's key."""
    from pfwizard.analysis import tablelint

    libs = tmp_path / "lib"
    libs.mkdir()
    (libs / "postfix-pcre.so").write_bytes(b"one")
    monkeypatch.setattr(tablelint, "POSTFIX_LIBRARIES", str(libs))
    state_dir = tmp_path / "state"
    state_dir.mkdir(mode=0o700)
    args = ("pcre", "/etc/postfix/x", SEED000_TABLE.encode(), "sender")
    with memo.kept(state_dir):
        first = tablelint._shown(*args)
        tablelint._shown(*args)
        assert len(kept(state_dir, "tablelint")) == 1
        (libs / "postfix-pcre.so").write_bytes(b"two")  # another size: an upgrade
        assert tablelint._shown(*args) == first
        assert len(kept(state_dir, "tablelint")) == 2
