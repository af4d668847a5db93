"""`pfwizard status`: exit 0 in sync, 1 drift, 2 error; what it reports."""

from __future__ import annotations

import subprocess

from pfwizard import exitcodes
from pfwizard.cli import main
from tests.conftest import needs_postfix
from tests.miab_setup import box, customise, release_values, run_setup_on


def status(config_dir, state_dir, *extra):
    return main(["--config-dir", str(config_dir), "--state-dir", str(state_dir), "status", *extra])


def test_fresh_miab_without_customisations_is_in_sync(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    assert status(config_dir, state_dir) == exitcodes.OK
    out = capsys.readouterr().out
    assert "no customisations recorded" in out and "=> in sync" in out


def test_customised_box_is_in_sync_until_miab_rewrites_it(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path)
    customise(config_dir, state_dir)
    # seed 001's hash table has no .db yet: status says it will be rebuilt.
    assert status(config_dir, state_dir) == exitcodes.FINDINGS
    assert "own_domains.db missing" in capsys.readouterr().out
    subprocess.run(
        ["postmap", "-c", str(config_dir), f"hash:{config_dir}/pfwizard/own_domains"],
        check=True,
        timeout=30,
    )
    assert status(config_dir, state_dir) == exitcodes.OK
    assert status(config_dir, state_dir, "--quiet") == exitcodes.OK
    assert capsys.readouterr().out.count("in sync") >= 4

    run_setup_on(config_dir / "main.cf", release_values())
    assert status(config_dir, state_dir, "--quiet") == exitcodes.FINDINGS
    assert capsys.readouterr().out == ""
    assert status(config_dir, state_dir) == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert (
        "smtpd_sender_restrictions: customisations missing; "
        "MiaB changed the base under a customisation"
    ) in out
    assert "MiaB added: check_policy_service inet:127.0.0.1:12340" in out
    assert "smtpd_helo_required: in sync" in out  # MiaB never sets it
    assert "=> drift" in out


def test_glued_lines_are_drift(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    assert status(config_dir, state_dir) == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert "glued continuation lines" in out and "glued-uncaptured" not in out


def test_unreadable_main_cf_is_an_error(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    (config_dir / "main.cf").write_text("smtpd_sender_restrictions\n")
    assert status(config_dir, state_dir) == exitcodes.ERROR
    assert "main.cf, line 1" in capsys.readouterr().err


def test_miab_release_comes_from_git_describe(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    checkout = tmp_path / "mailinabox"
    checkout.mkdir()
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "v75"], check=True)
    subprocess.run([*git, "tag", "v75"], check=True)
    assert status(config_dir, state_dir, "--miab-dir", str(checkout)) == exitcodes.OK
    assert "Mail-in-a-Box: v75" in capsys.readouterr().out


def test_a_danger_finding_is_drift(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    with (config_dir / "main.cf").open("a") as fh:
        fh.write("smtpd_client_restrictions = check_client_access hash:/etc/postfix/nothere\n")
    assert status(config_dir, state_dir) == exitcodes.FINDINGS
    assert "DANGER" in capsys.readouterr().out


def test_json_for_monitoring(tmp_path, capsys):
    import json

    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    assert status(config_dir, state_dir, "--json") == exitcodes.FINDINGS
    data = json.loads(capsys.readouterr().out)
    assert data["in_sync"] is False
    assert [c["kind"] for c in data["conflicts"]] == ["glued-uncaptured"]
    assert any("bl.spamcop.net" in a for a in data["adoptable"])


@needs_postfix
def test_a_refused_automatic_rollback_is_named_with_its_reason(tmp_path, capsys):
    """A change applied with confirm-or-revert, not confirmed: the watcher's rollback would
    put back an open relay and is refused. Until now only watcher.log said so."""
    import json

    from pfwizard.engine import ChangeSet, Engine
    from pfwizard.engine.journal import PENDING_CONFIRM

    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    main_cf = config_dir / "main.cf"
    main_cf.write_text(main_cf.read_text() + "mynetworks = 0.0.0.0/0\n")  # an open relay
    eng = Engine(config_dir, state_dir, reload=False)
    res = eng.apply(eng.plan(ChangeSet("close the relay", {"mynetworks": "127.0.0.0/8"}, [])))
    assert res.ok, res.error
    entry = eng.journal.load(str(res.entry_id))
    assert entry is not None
    entry.outcome, entry.confirm_deadline = PENDING_CONFIRM, 1.0  # long passed
    eng.journal.save(entry)
    assert status(config_dir, state_dir) == exitcodes.OK  # not tried yet: nothing to say
    capsys.readouterr()
    revert = eng.revert_unconfirmed(entry.id, wait=5)
    assert revert is not None and not revert.ok and revert.refused

    assert status(config_dir, state_dir) == exitcodes.FINDINGS
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if f"change {entry.id} " in ln)
    assert "automatic rollback was REFUSED" in line and "relay" in line.lower(), line
    assert f"pfwizard rollback --confirm {entry.id}" in line
    assert status(config_dir, state_dir, "--json") == exitcodes.FINDINGS
    doc = json.loads(capsys.readouterr().out)
    (refused,) = doc["revert_refused"]
    assert refused["entry"] == entry.id and refused["revert_entry"] == revert.entry_id
    assert "relay" in refused["reason"].lower() and not doc["in_sync"]
    # Confirmed after all: nothing left to say.
    eng.confirm(entry.id)
    assert status(config_dir, state_dir) == exitcodes.OK
