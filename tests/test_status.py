"""`pfwizard status`: exit 0 in sync, 1 drift, 2 error; what it reports."""

from __future__ import annotations

import subprocess

from pfwizard import exitcodes
from pfwizard.cli import main
from tests.miab_setup import box, customise, release_values, run_setup_on


def status(config_dir, state_dir, *extra):
    return main(["--config-dir", str(config_dir), "--state-dir", str(state_dir), "status",
                 *extra])


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
    subprocess.run(["postmap", "-c", str(config_dir), f"hash:{config_dir}/pfwizard/own_domains"],
                   check=True, timeout=30)
    assert status(config_dir, state_dir) == exitcodes.OK
    assert status(config_dir, state_dir, "--quiet") == exitcodes.OK
    assert capsys.readouterr().out.count("in sync") >= 4

    run_setup_on(config_dir / "main.cf", release_values())
    assert status(config_dir, state_dir, "--quiet") == exitcodes.FINDINGS
    assert capsys.readouterr().out == ""
    assert status(config_dir, state_dir) == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert ("smtpd_sender_restrictions: customisations missing; "
            "MiaB changed the base under a customisation") in out
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
