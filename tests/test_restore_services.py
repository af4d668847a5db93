"""master.cf customisations survive MiaB upgrades: recipe 5's table on authclean's
header_checks, applied through the engine and recorded, lost to MiaB's setup run (which
resets its managed services whole), reported by `status`, put back by `restore`, proven with
the real `postconf -P`. Also `apply PROFILE` with a services section, and the conflict when
the upgrade drops the service."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from pfwizard import exitcodes
from pfwizard.cli import main
from pfwizard.engine import ChangeSet, Engine, TableChange
from pfwizard.intent import IntentFile, record_change
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf
from tests.conftest import needs_postfix
from tests.miab_setup import (
    box,
    release_services,
    release_values,
    run_master_setup_on,
    run_setup_on,
    upgrade,
)

KEY = "authclean/unix/header_checks"
MIAB = "pcre:/etc/postfix/outgoing_mail_header_filters"
TABLE = "/^From:.*@box\\.example\\.com/ REJECT forged local sender\n"


def pf(config_dir, state_dir, *argv):
    return main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )


def postconf_p(config_dir: Path, key: str) -> str | None:
    """What Postfix itself reads from master.cf: ``postconf -P service/type/option``."""
    old = time.time() - 10  # young files make Postfix programs pause
    for name in ("main.cf", "master.cf"):
        os.utime(config_dir / name, (old, old))
    res = subprocess.run(
        ["postconf", "-c", str(config_dir), "-P", key], capture_output=True, text=True, timeout=30
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout.strip()
    return out.partition(" =")[2].strip() if out else None


def apply_recipe5(config_dir: Path, state_dir: Path, *, reload: bool = False) -> str:
    """A recipe-5-like change through the engine (pcre table + authclean's header_checks),
    recorded as the wizard records an apply. Returns the table reference."""
    table = config_dir / "pfwizard" / "forged_local_senders"
    ref = f"pcre:{table}"
    cf_before, master_before = (
        MainCf.read(config_dir / "main.cf"),
        MasterCf.read(config_dir / "master.cf"),
    )
    master_params: dict[str, str | None] = {KEY: f"{MIAB},{ref}"}
    engine = Engine(config_dir, state_dir, reload=reload)
    res = engine.apply(
        engine.plan(
            ChangeSet(
                "recipe 5: forged local senders (authclean)",
                {},
                [TableChange(table, TABLE, "pcre")],
                master_params=master_params,
            )
        )
    )
    assert res.ok, res.error
    store = IntentFile.for_state_dir(state_dir)
    record_change(
        store,
        cf_before,
        {},
        [(str(table), TABLE, "pcre")],
        {KEY: "seed 004: forged local senders"},
        master_before=master_before,
        master_params=master_params,
    )
    store.save()
    return ref


@pytest.fixture
def upgraded(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    ref = apply_recipe5(config_dir, state_dir)
    assert postconf_p(config_dir, KEY) == f"{MIAB},{ref}"
    assert pf(config_dir, state_dir, "status") == exitcodes.OK
    upgrade(config_dir)
    assert postconf_p(config_dir, KEY) == MIAB  # the upgrade lost it
    return config_dir, state_dir, ref


@needs_postfix
def test_upgrade_loses_the_authclean_table_and_restore_puts_it_back(upgraded, capsys):
    config_dir, state_dir, ref = upgraded
    capsys.readouterr()
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert f"master.cf {KEY}: customisations missing" in out
    assert pf(config_dir, state_dir, "--dry-run", "restore") == exitcodes.CHANGED
    assert postconf_p(config_dir, KEY) == MIAB
    capsys.readouterr()
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.CHANGED
    out = capsys.readouterr().out
    assert f"+\t  -o header_checks={MIAB},{ref}" in out  # the diff, shown
    assert postconf_p(config_dir, KEY) == f"{MIAB},{ref}"
    # MiaB's other authclean option is untouched; the second restore has nothing to do.
    assert postconf_p(config_dir, "authclean/unix/nested_header_checks") == ""
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.OK
    assert "nothing to do" in capsys.readouterr().out
    assert pf(config_dir, state_dir, "status") == exitcodes.OK


@needs_postfix
def test_upgrade_dropping_authclean_is_a_conflict(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    apply_recipe5(config_dir, state_dir)
    # A (hypothetical) release whose setup drops the authclean service.
    master = config_dir / "master.cf"
    text = master.read_text()
    master.write_text(text[: text.index("authclean unix")])
    services = release_services()
    del services["authclean"]
    run_setup_on(config_dir / "main.cf", release_values())
    run_master_setup_on(master, services)
    capsys.readouterr()
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert "master.cf authclean/unix/header_checks: customisations missing" in out
    before = master.read_bytes()
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.REFUSED
    assert master.read_bytes() == before
    assert pf(config_dir, state_dir, "restore", "--yes", "--on-conflict=skip") == exitcodes.OK
    assert KEY in IntentFile.for_state_dir(state_dir).model.services  # decide later
    assert pf(config_dir, state_dir, "restore", "--yes", "--on-conflict=keep-miab") == exitcodes.OK
    recorded = IntentFile.for_state_dir(state_dir).model.services[KEY]
    assert recorded.kept_miab  # decided: kept in the file, not asked again
    assert master.read_bytes() == before
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.OK


PROFILE = """\
version: 1
services:
  {key}:
    base: {miab}
    operations:
      - insert: pcre:{table}
        at: end
        why: forged local senders, also when logged in
  submission/inet/smtpd_tls_auth_only:
    value: "yes"
tables:
  {table}:
    type: pcre
    content: |
      /^From:.*@box\\.example\\.com/ REJECT forged local sender
"""


@needs_postfix
def test_profile_with_services_on_a_fresh_v75_box(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    table = config_dir / "pfwizard" / "forged_local_senders"
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE.format(key=KEY, miab=MIAB, table=table))
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    assert postconf_p(config_dir, KEY) == f"{MIAB},pcre:{table}"
    assert postconf_p(config_dir, "submission/inet/smtpd_tls_auth_only") == "yes"
    assert table.read_text() == TABLE
    capsys.readouterr()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.OK
    recorded = IntentFile.for_state_dir(state_dir).model.services
    assert set(recorded) == {KEY, "submission/inet/smtpd_tls_auth_only"}
    # ... and it survives the next upgrade like any recorded customisation.
    upgrade(config_dir)
    assert postconf_p(config_dir, "submission/inet/smtpd_tls_auth_only") is None
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.CHANGED
    assert postconf_p(config_dir, KEY) == f"{MIAB},pcre:{table}"
    assert postconf_p(config_dir, "submission/inet/smtpd_tls_auth_only") == "yes"


@needs_postfix
def test_the_restore_screen_shows_the_master_cf_option(upgraded):
    import io

    from rich.console import Console

    from pfwizard.intent.context import open_restore
    from pfwizard.screens.restore import plan_view

    config_dir, state_dir, ref = upgraded
    console = Console(width=400, record=True, file=io.StringIO())  # long tmp paths unfolded
    console.print(plan_view(open_restore(config_dir, state_dir), 400))
    text = console.export_text()
    assert f"master.cf {KEY}: customisations missing" in text
    assert f"+ {ref}" in text  # yours, restored, next to MiaB's value now


@needs_postfix
def test_recipe5_through_the_wizard_session_survives_an_upgrade(tmp_path, capsys):
    """The whole path an admin takes: recipe 5 with the authclean placement, prefilled into
    the wizard's session as the recipes screen does, applied by the engine (postfix check),
    recorded by the session; MiaB's setup then resets authclean, and ``restore`` puts it
    back, as Postfix itself (postconf -P) reads it."""
    from pfwizard.recipes.forged_senders import forged_local_senders
    from pfwizard.session import Session

    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    session = Session.open(config_dir, state_dir, reload=False, miab_checkout=tmp_path / "no")
    proposal = forged_local_senders(
        session.cf,
        config_dir,
        hook="authclean",
        addresses=["admin@box.example.com", "mick@box.example.com"],
    )
    session.prefill(proposal)
    engine = session.engine()
    plan = engine.plan(session.changeset())
    assert "-o header_checks=" in plan.unified_diff()
    assert engine.apply(plan).ok
    session.record_intent()
    ref = f"pcre:{config_dir / 'pfwizard' / 'forged_local_senders'}"
    assert postconf_p(config_dir, KEY) == f"{MIAB},{ref}"
    assert pf(config_dir, state_dir, "status") == exitcodes.OK

    upgrade(config_dir)
    assert postconf_p(config_dir, KEY) == MIAB
    capsys.readouterr()
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    assert f"master.cf {KEY}: customisations missing" in capsys.readouterr().out
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.CHANGED
    assert postconf_p(config_dir, KEY) == f"{MIAB},{ref}"
    # main.cf's header_checks (port 25 and sendmail) was never MiaB's: it survived as is.
    assert ref in (MainCf.read(config_dir / "main.cf").get("header_checks") or "")
    assert pf(config_dir, state_dir, "status") == exitcodes.OK
