# ruff: noqa: E501  (a MiaB chain is one long line, as in main.cf)
"""`pfwizard apply PROFILE.yaml`: non-interactive, idempotent, exit 10 changed / 0 unchanged."""

from __future__ import annotations

from pfwizard import exitcodes
from pfwizard.cli import main
from pfwizard.maincf import MainCf
from tests.conftest import needs_postfix
from tests.miab_setup import box, release_values, run_setup_on

PROFILE = """\
# Our standard for every MiaB box (pushed by Ansible)
version: 1
chains:
  smtpd_sender_restrictions:
    base: reject_non_fqdn_sender,reject_unknown_sender_domain,reject_authenticated_sender_login_mismatch,reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]
    operations:
      - insert: check_sender_access regexp:{cfg}/pfwizard/allow
        before: reject_unknown_sender_domain
        why: Cisco DMARC reporters
  smtpd_recipient_restrictions:
    base: permit_sasl_authenticated,permit_mynetworks,reject_rbl_client zen.spamhaus.org=127.0.0.[2..11],reject_unlisted_recipient,check_policy_service inet:127.0.0.1:10023,check_policy_service inet:127.0.0.1:12340
    operations:
      - insert: check_sender_access hash:{cfg}/pfwizard/own_domains
        after: permit_mynetworks
parameters:
  smtpd_helo_required:
    value: "yes"
tables:
  {cfg}/pfwizard/own_domains:
    type: hash
    content: |
      box.example.com REJECT not from outside

  {cfg}/pfwizard/allow:
    type: regexp
    content: |
      /\\.iphmx\\.com$/ PERMIT
"""

STATE = """\
# Hand notes: this box also blocks HELO nonsense (ticket 4711)
version: 1
parameters:
  # keep this one, see ticket 4711
  smtpd_helo_restrictions:
    value: reject_invalid_helo_hostname   # since 2024
"""


def pf(config_dir, state_dir, *argv):
    return main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )


@needs_postfix
def test_apply_is_idempotent_and_keeps_hand_comments(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    state_dir.mkdir()
    (state_dir / "customizations.yaml").write_text(STATE)
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(cfg=config_dir))
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    cf = MainCf.read(config_dir / "main.cf")
    assert (
        f"check_sender_access regexp:{config_dir}/pfwizard/allow,"
        "reject_unknown_sender_domain" in (cf.get("smtpd_sender_restrictions") or "")
    )
    assert cf.get("smtpd_helo_required") == "yes"
    assert (config_dir / "pfwizard" / "allow").read_text() == "/\\.iphmx\\.com$/ PERMIT\n"
    assert (config_dir / "pfwizard" / "own_domains.db").exists()
    state = (state_dir / "customizations.yaml").read_text()
    for comment in ("# Hand notes", "# keep this one, see ticket 4711", "# since 2024"):
        assert comment in state
    assert "Cisco DMARC reporters" in state
    capsys.readouterr()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.OK
    assert (state_dir / "customizations.yaml").read_text() == state
    assert profile.read_text() == PROFILE.format(cfg=config_dir)  # the profile is never edited


@needs_postfix
def test_a_profile_made_on_v75_applies_to_an_older_box_and_survives_its_upgrade(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.v66-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(cfg=config_dir))
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    sender = MainCf.read(config_dir / "main.cf").get("smtpd_sender_restrictions") or ""
    assert sender.endswith("reject_rhsbl_sender dbl.spamhaus.org")  # v66's own, kept
    assert "pfwizard/allow" in sender
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.OK
    run_setup_on(config_dir / "main.cf", release_values())
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.CHANGED
    sender = MainCf.read(config_dir / "main.cf").get("smtpd_sender_restrictions") or ""
    assert "pfwizard/allow" in sender and sender.endswith("=127.0.1.[2..99]")
    assert pf(config_dir, state_dir, "status") == exitcodes.OK


def test_an_invalid_profile_applies_nothing(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "version: 1\nchains:\n  smtpd_sender_restrictions:\n    operations:\n"
        "      - insert: permit\n        at: middle\n"
    )
    before = (config_dir / "main.cf").read_bytes()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.ERROR
    assert (
        "profile.yaml, line 6: smtpd_sender_restrictions operation 1: 'at' must be "
        "start or end" in capsys.readouterr().err
    )
    assert (config_dir / "main.cf").read_bytes() == before
    assert not state_dir.exists()


def test_a_table_outside_the_config_directory_is_refused(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        f"version: 1\ntables:\n  {tmp_path}/elsewhere:\n    type: regexp\n"
        "    content: |\n      /x/ PERMIT\n"
    )
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.REFUSED
    assert "outside the config directory" in capsys.readouterr().out
    assert not (tmp_path / "elsewhere").exists()


@needs_postfix
def test_confirm_within_reverts_an_unconfirmed_profile(tmp_path, capsys):
    """`apply --confirm-within`: the engine's commit-confirmed, from the command line."""
    import time

    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    before = (config_dir / "main.cf").read_bytes()
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(cfg=config_dir))
    assert (
        pf(config_dir, state_dir, "apply", str(profile), "--confirm-within", "1")
        == exitcodes.CHANGED
    )
    out = capsys.readouterr().out
    assert "unless confirmed: pfwizard rollback --confirm" in out
    assert (config_dir / "main.cf").read_bytes() != before
    deadline = time.monotonic() + 60
    while (config_dir / "main.cf").read_bytes() != before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (config_dir / "main.cf").read_bytes() == before  # nobody confirmed: reverted


@needs_postfix
def test_relative_directories_are_taken_from_the_current_directory(tmp_path, monkeypatch):
    """`--config-dir box/etc` (Postfix's -c wants an absolute path): resolved, not exit 3."""
    config_dir, _ = box(tmp_path)
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(cfg=config_dir))
    monkeypatch.chdir(tmp_path)
    argv = ["--config-dir", "etc", "--state-dir", "state", "--no-reload", "apply"]
    assert main([*argv, "profile.yaml", "--dry-run"]) == exitcodes.CHANGED
    assert main([*argv, "profile.yaml"]) == exitcodes.CHANGED
    assert main([*argv, "profile.yaml", "--dry-run"]) == exitcodes.OK
    assert (tmp_path / "state" / "customizations.yaml").exists()


def test_readme_and_help_say_the_same_exit_codes():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert exitcodes.readme_table() in readme
    from pfwizard.cli import build_parser

    for command in (None, "apply", "restore", "rollback", "status", "check"):
        parser = build_parser(command)
        text = (
            parser.format_help()
            if command is None
            else parser._subparsers._group_actions[0].choices[command].format_help()
        )  # type: ignore[union-attr]
        assert exitcodes.help_text().strip() in text
