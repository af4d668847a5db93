"""``apply --dry-run`` and ``restore --dry-run`` run the real run's checks on a staged copy
(pfwizard's analyser and relay judgement, the table checks, ``postfix check``, new
``postconf`` warnings) and answer what the real run would: 4 when it would refuse the change,
10 when it would change, 0 when not; ``checked`` is true in the JSON document, and nothing is
written anywhere (not even the state directory)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pfwizard import exitcodes
from pfwizard.cli import main
from tests.conftest import needs_postfix
from tests.miab_setup import box
from tests.test_json_output import check_schema, pf

pytestmark = needs_postfix

OPEN_RELAY = 'version: 1\nparameters:\n  mynetworks:\n    value: "0.0.0.0/0"\n'
MISSPELT = 'version: 1\nparameters:\n  smtpd_helo_requird:\n    value: "yes"\n'
FINE = 'version: 1\nparameters:\n  smtpd_helo_required:\n    value: "yes"\n'


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def scratch(tmp_path: Path, profile_text: str) -> tuple[Path, Path, Path]:
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(profile_text)
    return config_dir, state_dir, profile


def test_apply_dry_run_json_is_refused_where_the_real_run_is(tmp_path, capsys) -> None:
    config_dir, state_dir, profile = scratch(tmp_path, OPEN_RELAY)
    before = snapshot(tmp_path)
    code, doc, err = pf(capsys, config_dir, state_dir, "apply", str(profile), "--dry-run", "--json")
    assert code == exitcodes.REFUSED
    check_schema(doc, "apply")
    assert doc["dry_run"] is True and doc["checked"] is True and doc["changed"] is False
    assert "open relay" in doc["error"] and "danger finding" in doc["error"]
    assert "open-relay" in {f["code"] for f in doc["findings"] if f["severity"] == "danger"}
    assert [Path(f["path"]).name for f in doc["files"]] == ["main.cf", "customizations.yaml"]
    assert "the change would be refused" in err
    assert snapshot(tmp_path) == before and not state_dir.exists()

    code, doc, _ = pf(capsys, config_dir, state_dir, "apply", str(profile), "--json")
    assert code == exitcodes.REFUSED and "open relay" in doc["error"]  # the real run agrees


def test_apply_dry_run_refuses_what_postconf_warns_about(tmp_path, capsys) -> None:
    config_dir, state_dir, profile = scratch(tmp_path, MISSPELT)
    before = snapshot(tmp_path)
    code = main(
        [
            "--config-dir",
            str(config_dir),
            "--state-dir",
            str(state_dir),
            "--no-reload",
            "apply",
            str(profile),
            "--dry-run",
        ]
    )
    out = capsys.readouterr().out
    assert code == exitcodes.REFUSED
    assert "dry run: the change would be refused, nothing written" in out
    assert "unused parameter: smtpd_helo_requird=yes" in out
    assert str(config_dir / "main.cf") in out and "/stage-" not in out  # the live path
    assert snapshot(tmp_path) == before


def test_apply_dry_run_json_of_a_good_change_is_checked(tmp_path, capsys) -> None:
    config_dir, state_dir, profile = scratch(tmp_path, FINE)
    before = snapshot(tmp_path)
    stages = set(Path(tempfile.gettempdir()).glob("stage-*"))
    code, doc, err = pf(capsys, config_dir, state_dir, "apply", str(profile), "--dry-run", "--json")
    assert code == exitcodes.CHANGED and doc["checked"] is True and doc["error"] is None
    check_schema(doc, "apply")
    assert "dry run: Postfix's checks and pfwizard's pass on a staged copy" in err
    assert snapshot(tmp_path) == before
    assert set(Path(tempfile.gettempdir()).glob("stage-*")) == stages  # the copy is gone


def test_restore_dry_run_is_refused_where_the_real_run_is(tmp_path, capsys) -> None:
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    state_dir.mkdir(mode=0o700, exist_ok=True)
    (state_dir / "customizations.yaml").write_text(OPEN_RELAY)  # edited by hand
    before = snapshot(tmp_path)
    argv = [
        "--config-dir",
        str(config_dir),
        "--state-dir",
        str(state_dir),
        "--no-reload",
        "restore",
    ]
    assert main([*argv, "--dry-run"]) == exitcodes.REFUSED
    assert "dry run: the change would be refused" in capsys.readouterr().out
    code, doc, _ = pf(capsys, config_dir, state_dir, "restore", "--dry-run", "--json")
    assert code == exitcodes.REFUSED and doc["checked"] is True and not doc["changed"]
    check_schema(doc, "restore")
    assert "open relay" in doc["error"]
    assert snapshot(tmp_path) == before
    assert main([*argv, "--yes"]) == exitcodes.REFUSED  # the real run agrees
    assert (config_dir / "main.cf").read_bytes() == before[str(config_dir / "main.cf")]


def test_without_root_a_dry_run_says_it_was_not_checked(tmp_path, capsys, monkeypatch) -> None:
    """``postfix check`` is root's alone (and so is the real run): a dry run by another user
    still shows the change (exit 10), with ``checked`` false and the reason kept apart."""
    from pfwizard.engine import engine

    config_dir, state_dir, profile = scratch(tmp_path, OPEN_RELAY)
    monkeypatch.setattr(engine.os, "geteuid", lambda: 1000)
    code, doc, err = pf(capsys, config_dir, state_dir, "apply", str(profile), "--dry-run", "--json")
    assert code == exitcodes.CHANGED and doc["checked"] is False and doc["error"] is None
    check_schema(doc, "apply")
    assert any("not checked" in w and "sudo" in w for w in doc["warnings"])
    assert "dry run: not checked" in err
