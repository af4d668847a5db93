"""`pfwizard rollback` on the bench: list, show, dry run, decline, roll back, confirm, no root."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from pfwizard import cli, exitcodes
from pfwizard.engine import Engine
from tests.conftest import needs_bench
from tests.test_engine_support import backdate, seed000_changeset, snapshot, state_dir, verdicts

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def applied(bench):
    """Seed 000's change applied through the engine; yields (bench, state dir, before)."""
    bench.configure_miab("main.cf.v75-fresh")
    before = snapshot(bench.config_dir)
    state = state_dir()
    eng = Engine(bench.config_dir, state, gate=lambda cf, d: [], restart=bench.restart)
    eng.before_reload = lambda: backdate(bench.config_dir)
    res = eng.apply(eng.plan(seed000_changeset(bench.config_dir)))
    assert res.ok and res.entry_id == "1"
    yield bench, state, before
    shutil.rmtree(state, ignore_errors=True)


def pfwizard(bench, state: Path, *args: str) -> int:
    return cli.main(
        ["--config-dir", str(bench.config_dir), "--state-dir", str(state), "rollback", *args]
    )


@needs_bench
def test_list_and_show(applied, capsys):
    bench, state, _ = applied
    assert pfwizard(bench, state, "--list") == exitcodes.OK
    out = capsys.readouterr().out
    assert "seed 000: let Cisco ESA DMARC reporters through" in out
    assert "applied" in out and "apply" in out
    assert pfwizard(bench, state) == exitcodes.OK  # no flag: the list, for now
    assert "seed 000" in capsys.readouterr().out
    assert pfwizard(bench, state, "--show", "1") == exitcodes.OK
    out = capsys.readouterr().out
    assert "+/^MAILER-DAEMON@esa[0-9]*" in out and "main.cf  sha256" in out


@needs_bench
def test_dry_run_and_declining_write_nothing(applied, capsys, monkeypatch):
    bench, state, _ = applied
    after = snapshot(bench.config_dir)
    assert (
        cli.main(
            [
                "--config-dir",
                str(bench.config_dir),
                "--state-dir",
                str(state),
                "--dry-run",
                "rollback",
                "--to",
                "1",
            ]
        )
        == exitcodes.CHANGED
    )
    out = capsys.readouterr().out
    assert "-/^MAILER-DAEMON@esa[0-9]*" in out and "dry run: nothing written" in out
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    assert pfwizard(bench, state, "--to", "1") == exitcodes.REFUSED
    assert "declined" in capsys.readouterr().out
    assert snapshot(bench.config_dir) == after
    assert len(Engine(bench.config_dir, state).history()) == 1


@needs_bench
def test_rollback_to_and_back_again(applied, capsys):
    bench, state, before = applied
    assert verdicts(bench) == (250, 250)
    assert pfwizard(bench, state, "--to", "1", "--yes") == exitcodes.CHANGED
    out = capsys.readouterr().out
    assert "rolled back entry 1 (journal entry 2" in out and "reload: ok" in out
    assert snapshot(bench.config_dir) == before
    assert verdicts(bench) == (450, 450)
    assert pfwizard(bench, state, "--list") == exitcodes.OK
    assert "undone by 2" in capsys.readouterr().out
    # Rolling back the rollback brings the change back (--no-reload: files only).
    assert (
        cli.main(
            [
                "--config-dir",
                str(bench.config_dir),
                "--state-dir",
                str(state),
                "--no-reload",
                "rollback",
                "--to",
                "2",
                "--yes",
            ]
        )
        == exitcodes.CHANGED
    )
    assert (bench.config_dir / "pfwizard" / "cisco_dmarc_sender_access").exists()


@needs_bench
def test_refusals(applied, capsys):
    bench, state, _ = applied
    assert pfwizard(bench, state, "--to", "99", "--yes") == exitcodes.REFUSED
    assert "no journal entry '99'" in capsys.readouterr().err
    assert pfwizard(bench, state, "--confirm", "1") == exitcodes.REFUSED
    assert "nothing to confirm" in capsys.readouterr().err
    (bench.config_dir / "main.cf").write_text(
        (bench.config_dir / "main.cf").read_text() + "# edited by hand\n"
    )
    assert pfwizard(bench, state, "--to", "1", "--yes") == exitcodes.REFUSED
    assert "changed after entry 1" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_without_root_a_clear_message_and_exit_4(capsys):
    cfg = Path(tempfile.mkdtemp(prefix="pfwizard-cfg-", dir="/tmp"))
    state = Path(tempfile.mkdtemp(prefix="pfwizard-state-", dir="/tmp"))
    os.chmod(cfg, 0o755)
    (cfg / "main.cf").write_text("compatibility_level = 3.6\n")

    def as_nobody(*args: str) -> int:
        os.seteuid(65534)  # like running pfwizard without sudo
        try:
            return cli.main(
                ["--config-dir", str(cfg), "--state-dir", str(state), "rollback", *args]
            )
        finally:
            os.seteuid(0)

    try:
        assert as_nobody("--to", "1", "--yes") == exitcodes.REFUSED
        err = capsys.readouterr().err
        assert err == f"pfwizard changes {cfg}: run it with sudo\n"
        # Reading only, and not allowed to: a permission problem (exit 2), not a refusal.
        assert as_nobody("--list") == exitcodes.ERROR
        err = capsys.readouterr().err
        assert "permission denied" in err and "sudo pfwizard" in err
    finally:
        shutil.rmtree(cfg, ignore_errors=True)
        shutil.rmtree(state, ignore_errors=True)
