"""restore --adopt over main.cf and master.cf: the admin's hand edits that MiaB's setup commented
out come back as intent, through the engine, and the old lines stay as comments under a note."""

from __future__ import annotations

import json

from pfwizard import exitcodes
from pfwizard.intent import IntentFile
from pfwizard.intent.adopt import ADOPTED_NOTE
from pfwizard.mastercf import MasterCf
from tests.conftest import needs_postfix
from tests.miab_setup import FIXTURES, box, upgrade
from tests.test_restore_cli import pf

KEY = "submission/inet/smtpd_client_restrictions"
ADMINS = "permit_sasl_authenticated,reject"


def customised_box(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    (config_dir / "master.cf").write_bytes(
        (FIXTURES / "master.cf.customized-after-v75-setup").read_bytes()
    )
    return config_dir, state_dir


def under_note(path, line):
    """The line that follows pfwizard's adoption note nearest above ``line``'s text."""
    lines = path.read_text().splitlines()
    k = lines.index(line)
    assert lines[k - 1].startswith(ADOPTED_NOTE), lines[k - 1]
    return lines[k - 1]


def test_status_names_the_master_cf_option_miab_commented_out(tmp_path, capsys):
    config_dir, state_dir = customised_box(tmp_path)
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert (
        f"commented out by MiaB: master.cf {KEY}: your value '{ADMINS}' (commented out "
        "on line 30; MiaB's entry does not set it); `pfwizard restore --adopt` puts it "
        "back"
    ) in out
    assert "commented out by MiaB: smtpd_sender_restrictions" in out
    assert pf(config_dir, state_dir, "status", "--json") == exitcodes.FINDINGS
    data = json.loads(capsys.readouterr().out)
    assert any(KEY in a for a in data["adoptable"])


@needs_postfix
def test_adopt_dry_run_shows_the_notes_and_writes_nothing(tmp_path, capsys):
    config_dir, state_dir = customised_box(tmp_path)
    main_before = (config_dir / "main.cf").read_bytes()
    master_before = (config_dir / "master.cf").read_bytes()
    assert pf(config_dir, state_dir, "restore", "--adopt", "--dry-run") == exitcodes.CHANGED
    out = capsys.readouterr().out
    assert f"+{ADOPTED_NOTE}{state_dir / 'customizations.yaml'} on " in out
    assert f"+\t  -o smtpd_client_restrictions={ADMINS}" in out
    assert "+#    permit_sasl_authenticated," in out
    assert (config_dir / "main.cf").read_bytes() == main_before
    assert (config_dir / "master.cf").read_bytes() == master_before
    assert not (state_dir / "customizations.yaml").exists()


@needs_postfix
def test_adopted_lines_stay_as_comments_and_survive_the_next_upgrade(tmp_path, capsys):
    config_dir, state_dir = customised_box(tmp_path)
    assert (
        pf(config_dir, state_dir, "--no-reload", "restore", "--yes", "--adopt") == exitcodes.CHANGED
    )
    out = capsys.readouterr().out
    assert f"adopted master.cf {KEY}" in out
    assert MasterCf.read(config_dir / "master.cf").get(KEY) == ADMINS
    # History kept: the old entry and the glued lines, commented, under the note.
    note = under_note(
        config_dir / "master.cf", "#submission inet n       -       -       -       -       smtpd"
    )
    assert "customizations.yaml on " in note and "for reference" in note
    master = (config_dir / "master.cf").read_text()
    assert f"#  -o smtpd_client_restrictions={ADMINS}\n" in master
    under_note(config_dir / "main.cf", "#smtpd_sender_restrictions =")
    main = (config_dir / "main.cf").read_text()
    assert "#smtpd_sender_restrictions =\n#    permit_sasl_authenticated,\n" in main
    store = IntentFile.for_state_dir(state_dir)
    assert KEY in store.model.services
    assert "adopted from master.cf line 30" in store.path.read_text()
    assert pf(config_dir, state_dir, "status") == exitcodes.OK
    capsys.readouterr()

    # The next MiaB upgrade resets submission (and the chains): restore puts them back;
    # nothing under the notes is proposed again.
    upgrade(config_dir, master_fixture="master.cf.v75")
    assert MasterCf.read(config_dir / "master.cf").get(KEY) is None
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    assert "commented out by MiaB" not in capsys.readouterr().out
    assert pf(config_dir, state_dir, "--no-reload", "restore", "--yes") == exitcodes.CHANGED
    assert MasterCf.read(config_dir / "master.cf").get(KEY) == ADMINS
    capsys.readouterr()
    assert pf(config_dir, state_dir, "status") == exitcodes.OK
