"""`pfwizard status` / `restore` end to end on a copy of a MiaB config, proven with postconf."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from pfwizard import exitcodes
from pfwizard.chain import Chain, Item
from pfwizard.cli import main
from pfwizard.intent import IntentFile, record_chain
from pfwizard.maincf import MainCf
from tests.conftest import needs_postfix
from tests.miab_setup import FIXTURES, box, customise, release_values, run_setup_on

V75 = MainCf.read(FIXTURES / "main.cf.v75-fresh")
SENDER, RCPT = "smtpd_sender_restrictions", "smtpd_recipient_restrictions"


def pf(config_dir, state_dir, *argv):
    return main(["--config-dir", str(config_dir), "--state-dir", str(state_dir), *argv])


def postconf_h(config_dir, *names):
    # A main.cf younger than ~2 s makes Postfix programs pause: backdate it.
    old = time.time() - 10
    os.utime(config_dir / "main.cf", (old, old))
    res = subprocess.run(
        ["postconf", "-c", str(config_dir), "-h", *names],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return res.stdout.splitlines()


def items(value):
    return Chain.parse(value).items


@pytest.fixture
def upgraded(tmp_path):
    config_dir, state_dir = box(tmp_path)
    customise(config_dir, state_dir)
    run_setup_on(config_dir / "main.cf", release_values())
    return config_dir, state_dir


@needs_postfix
def test_restore_gives_v75_chains_with_the_admin_items(upgraded, capsys):
    config_dir, state_dir = upgraded
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    assert "customisations missing" in capsys.readouterr().out
    yaml = state_dir / "customizations.yaml"
    yaml.write_text(
        yaml.read_text().replace(
            "        why: seed 000\n", "        why: seed 000   # asked on the forum, 2024\n"
        )
    )
    before = (config_dir / "main.cf").read_bytes()
    assert pf(config_dir, state_dir, "--dry-run", "restore") == exitcodes.CHANGED
    assert (config_dir / "main.cf").read_bytes() == before
    assert pf(config_dir, state_dir, "--no-reload", "restore", "--yes") == exitcodes.CHANGED

    sender, rcpt, helo_req, helo = postconf_h(
        config_dir, SENDER, RCPT, "smtpd_helo_required", "smtpd_helo_restrictions"
    )
    want_sender = Chain.parse(V75.get(SENDER) or "")
    want_sender.insert_before(
        "reject_unknown_sender_domain",
        Item("check_sender_access", f"regexp:{config_dir}/pfwizard/cisco_dmarc_sender_access"),
    )
    want_rcpt = Chain.parse(V75.get(RCPT) or "")
    want_rcpt.insert_after(
        "permit_mynetworks", Item("check_sender_access", f"hash:{config_dir}/pfwizard/own_domains")
    )
    assert items(sender) == want_sender.items
    assert items(rcpt) == want_rcpt.items
    assert helo_req == "yes" and "reject_invalid_helo_hostname" in helo
    assert (config_dir / "pfwizard" / "own_domains.db").exists()
    # The rebase is recorded (new base: v75's chain) and the admin's comment kept.
    assert "# asked on the forum, 2024" in yaml.read_text()
    assert "dbl.spamhaus.org=127.0.1.[2..99]" in yaml.read_text()

    capsys.readouterr()
    assert pf(config_dir, state_dir, "--no-reload", "restore", "--yes") == exitcodes.OK
    assert "nothing to do" in capsys.readouterr().out
    assert pf(config_dir, state_dir, "status") == exitcodes.OK

    # `sudo mailinabox` again (same release): missing again, restored again, same result.
    run_setup_on(config_dir / "main.cf", release_values())
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert "customisations missing" in out and "MiaB changed the base" not in out
    assert pf(config_dir, state_dir, "--no-reload", "restore", "--yes") == exitcodes.CHANGED
    assert [items(v) for v in postconf_h(config_dir, SENDER, RCPT)] == [
        want_sender.items,
        want_rcpt.items,
    ]
    assert MainCf.read(config_dir / "main.cf").glued_continuations() == []


@needs_postfix
def test_anchor_removed_by_miab_is_a_conflict_and_nothing_is_written(upgraded, capsys):
    config_dir, state_dir = upgraded
    # This MiaB no longer ships reject_unknown_sender_domain, seed 000's anchor.
    cf = MainCf.read(config_dir / "main.cf")
    cf.set(SENDER, "reject_non_fqdn_sender,reject_authenticated_sender_login_mismatch")
    (config_dir / "main.cf").write_bytes(cf.to_bytes())
    before = (config_dir / "main.cf").read_bytes()
    state_before = (state_dir / "customizations.yaml").read_bytes()
    assert pf(config_dir, state_dir, "--no-reload", "restore", "--yes") == exitcodes.REFUSED
    out = capsys.readouterr().out
    assert "no longer in the list" in out and "reject_unknown_sender_domain" in out
    assert (config_dir / "main.cf").read_bytes() == before
    assert (state_dir / "customizations.yaml").read_bytes() == state_before
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS

    # Decided: apply the rest, keep the conflicting one recorded.
    assert (
        pf(config_dir, state_dir, "--no-reload", "restore", "--yes", "--on-conflict=skip")
        == exitcodes.CHANGED
    )
    (rcpt,) = postconf_h(config_dir, RCPT)
    assert "own_domains" in rcpt
    assert "cisco_dmarc" in (state_dir / "customizations.yaml").read_text()


@needs_postfix
def test_glued_lines_reported_then_repaired(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    before = MainCf.read(FIXTURES / "main.cf.customized-before-v75-setup")
    store = IntentFile.for_state_dir(state_dir)
    for name in (SENDER, RCPT):
        record_chain(
            store,
            name,
            Chain.parse(V75.get(name) or ""),
            Chain.parse(before.get(name) or ""),
            why="hand-made before pfwizard",
        )
    store.save()
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert "glued continuation lines" in out and "lines 83-87" in out
    assert pf(config_dir, state_dir, "--no-reload", "restore", "--yes") == exitcodes.CHANGED
    assert MainCf.read(config_dir / "main.cf").glued_continuations() == []
    sender, rcpt = postconf_h(config_dir, SENDER, RCPT)
    assert items(sender) == items(before.get(SENDER))
    assert items(rcpt) == items(before.get(RCPT))
    assert pf(config_dir, state_dir, "status") == exitcodes.OK


def test_glued_lines_without_a_record_stop_until_decided(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    assert pf(config_dir, state_dir, "--no-reload", "restore", "--yes") == exitcodes.REFUSED
    out = capsys.readouterr().out
    assert "glued continuation" in out and "no recorded customisation to put back" in out


def test_invalid_customisations_file_is_an_error_naming_the_line(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path)
    state_dir.mkdir()
    (state_dir / "customizations.yaml").write_text("version: 1\nchains:\n  - oops\n")
    before = (config_dir / "main.cf").read_bytes()
    assert pf(config_dir, state_dir, "--no-reload", "restore", "--yes") == exitcodes.ERROR
    assert "customizations.yaml, line 2: chains must be a mapping" in capsys.readouterr().err
    assert pf(config_dir, state_dir, "status") == exitcodes.ERROR
    assert (config_dir / "main.cf").read_bytes() == before


def test_without_a_terminal_and_without_yes_nothing_is_written(upgraded, capsys, monkeypatch):
    config_dir, state_dir = upgraded
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    before = (config_dir / "main.cf").read_bytes()
    assert pf(config_dir, state_dir, "--no-reload", "restore") == exitcodes.REFUSED
    assert "--yes" in capsys.readouterr().err
    assert (config_dir / "main.cf").read_bytes() == before


def test_install_hook_writes_the_units(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path)
    units = tmp_path / "units"
    assert (
        pf(config_dir, state_dir, "restore", "--install-hook", "systemd", "--hook-dir", str(units))
        == exitcodes.OK
    )
    path_unit = (units / "pfwizard-restore.path").read_text()
    assert f"PathChanged={config_dir.resolve()}/main.cf" in path_unit
    service = (units / "pfwizard-restore.service").read_text()
    assert (
        "restore --yes --on-conflict=skip" in service
        and "@" not in service.split("ExecStart=")[1].split()[0]
    )
    assert (
        pf(config_dir, state_dir, "restore", "--install-hook", "cron", "--hook-dir", str(units))
        == exitcodes.OK
    )
    cron = (units / "pfwizard-restore").read_text()
    assert f"--state-dir {state_dir.resolve()} restore --yes" in cron
    if shutil.which("systemd-analyze"):
        res = subprocess.run(
            ["systemd-analyze", "verify", str(units / "pfwizard-restore.path")],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert res.returncode == 0, res.stderr


def test_install_hook_refuses_where_it_would_never_run(tmp_path, capsys, monkeypatch):
    """No systemd as init, no cron daemon: refused (exit 4), nothing installed."""
    from pfwizard.intent import hook

    config_dir, state_dir = box(tmp_path)
    monkeypatch.setattr(hook, "SYSTEMD_DIR", tmp_path / "systemd")
    monkeypatch.setattr(hook, "CRON_DIR", tmp_path / "cron.d")
    monkeypatch.setattr(hook, "SYSTEMD_BOOTED", tmp_path / "not-booted")
    monkeypatch.setattr(hook, "CRON_DAEMONS", (tmp_path / "no-cron",))
    assert pf(config_dir, state_dir, "restore", "--install-hook", "systemd") == exitcodes.REFUSED
    assert "systemd is not running" in capsys.readouterr().err
    assert pf(config_dir, state_dir, "restore", "--install-hook", "cron") == exitcodes.REFUSED
    assert "no cron daemon" in capsys.readouterr().err
    assert not (tmp_path / "systemd").exists() and not (tmp_path / "cron.d").exists()


def test_install_hook_undoes_itself_when_systemctl_fails(tmp_path, capsys, monkeypatch):
    from pfwizard.intent import hook

    config_dir, state_dir = box(tmp_path)
    monkeypatch.setattr(hook, "SYSTEMD_DIR", tmp_path / "systemd")
    monkeypatch.setattr(hook, "_can_take", lambda kind: None)
    monkeypatch.setattr(
        hook.subprocess,
        "run",
        lambda argv, **kw: subprocess.CompletedProcess(argv, 1, "", "Failed to connect to bus"),
    )
    assert pf(config_dir, state_dir, "restore", "--install-hook", "systemd") == exitcodes.FAILED
    assert "Failed to connect to bus" in capsys.readouterr().err
    assert list((tmp_path / "systemd").iterdir()) == []


def test_postfix_programs_are_found_without_sbin_on_path(monkeypatch):
    """cron's PATH=/usr/bin:/bin has no postfix: pfwizard looks in the sbin directories."""
    from pfwizard import postfix

    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setattr(postfix, "_found", {})
    if os.path.exists("/usr/sbin/postconf"):
        assert postfix.program("postconf") == "/usr/sbin/postconf"
        assert postfix.postconf("/etc/postfix", "-d", "mail_version").ok
    assert postfix.program("ls") == "ls"


def test_the_log_line_is_one_line_on_the_mail_facility():
    from pfwizard import trail

    line = trail.line("restored\nINJECTED: x", error=True)
    assert line.startswith("<19>") and "\n" not in line and " pfwizard[" in line


@needs_postfix
def test_on_a_terminal_it_shows_the_plan_and_asks(upgraded, capsys, monkeypatch):
    config_dir, state_dir = upgraded
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    before = (config_dir / "main.cf").read_bytes()
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert pf(config_dir, state_dir, "--no-reload", "restore") == exitcodes.REFUSED
    out = capsys.readouterr().out
    assert "+smtpd_sender_restrictions = " in out and "declined" in out
    assert (config_dir / "main.cf").read_bytes() == before
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert pf(config_dir, state_dir, "--no-reload", "restore") == exitcodes.CHANGED


@needs_postfix
def test_adopt_reads_back_what_miab_commented_out(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.customized-after-v75-setup")
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert "commented out by MiaB: smtpd_recipient_restrictions" in out
    assert (
        pf(config_dir, state_dir, "--no-reload", "restore", "--yes", "--adopt") == exitcodes.CHANGED
    )
    out = capsys.readouterr().out
    assert "adopted smtpd_sender_restrictions" in out
    assert "insert reject_rbl_client bl.spamcop.net" in out
    before = MainCf.read(FIXTURES / "main.cf.customized-before-v75-setup")
    sender, rcpt = postconf_h(config_dir, SENDER, RCPT)
    assert items(sender) == items(before.get(SENDER))
    assert items(rcpt) == items(before.get(RCPT))
    assert MainCf.read(config_dir / "main.cf").glued_continuations() == []
    assert pf(config_dir, state_dir, "status") == exitcodes.OK
    assert "why: adopted from main.cf line 82" in (state_dir / "customizations.yaml").read_text()
