"""customizations.yaml is part of the change it describes: backed up in the same journal entry,
compared before the rename, written with main.cf, and put back by a rollback of that entry.
A failure to record it undoes the whole change (exit 3, the previous configuration in force)."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from pfwizard import exitcodes, journalcheck
from pfwizard.cli import main
from pfwizard.engine import AtomicWriter, Engine
from pfwizard.engine.changeset import IntentRecord
from pfwizard.engine.errors import StepFailed, UnsafePath
from pfwizard.intent.writer import Writer
from tests.conftest import needs_postfix
from tests.miab_setup import box

PROFILE = """\
version: 1
parameters:
  smtpd_helo_required:
    value: "yes"
"""
HAND = "# my notes\nversion: 1\n"


def pf(config_dir: Path, state_dir: Path, *argv: str) -> int:
    return main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )


@pytest.fixture
def profile_box(tmp_path: Path) -> tuple[Path, Path, Path]:
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    state_dir.mkdir(mode=0o700)
    (state_dir / "customizations.yaml").write_text(HAND)
    os.chmod(state_dir / "customizations.yaml", 0o600)
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE)
    return config_dir, state_dir, profile


@needs_postfix
def test_rollback_takes_the_recorded_intent_back_and_shows_it(profile_box, capsys):
    config_dir, state_dir, profile = profile_box
    intent = state_dir / "customizations.yaml"
    main_cf = (config_dir / "main.cf").read_bytes()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    assert "smtpd_helo_required" in intent.read_text()
    entry = json.loads((state_dir / "journal" / "1" / "entry.json").read_text())
    roles = {f["role"]: f["path"] for f in entry["files"]}
    assert roles["intent"] == str(intent.resolve())
    assert "customizations.yaml" in (state_dir / "journal" / "1" / "diff.patch").read_text()

    capsys.readouterr()
    assert pf(config_dir, state_dir, "rollback", "--to", "1", "--yes") == exitcodes.CHANGED
    out = capsys.readouterr().out
    # The rollback's diff names the intent and the value it drops from it.
    assert f"a{intent.resolve()}" in out and "-  smtpd_helo_required:" in out
    assert intent.read_text() == HAND
    assert (config_dir / "main.cf").read_bytes() == main_cf
    assert oct(intent.stat().st_mode & 0o777) == "0o600"
    # ... and the rollback of the rollback brings both back.
    assert pf(config_dir, state_dir, "rollback", "--to", "2", "--yes") == exitcodes.CHANGED
    assert "smtpd_helo_required" in intent.read_text()
    assert pf(config_dir, state_dir, "status") == exitcodes.OK


@needs_postfix
def test_first_intent_is_removed_by_the_rollback(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE)
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    assert (state_dir / "customizations.yaml").exists()
    assert pf(config_dir, state_dir, "rollback", "--to", "1", "--yes") == exitcodes.CHANGED
    assert not (state_dir / "customizations.yaml").exists()
    assert pf(config_dir, state_dir, "status") == exitcodes.OK


class _FullStateDir(AtomicWriter):
    """ENOSPC when the engine writes customizations.yaml (after main.cf is in place)."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def write_temp(self, path: Path, data: bytes, meta):  # type: ignore[no-untyped-def]
        if path == self.target:
            raise OSError(errno.ENOSPC, "No space left on device", str(path.parent))
        return super().write_temp(path, data, meta)


@needs_postfix
def test_recording_failure_undoes_the_change(profile_box, capsys, monkeypatch):
    config_dir, state_dir, profile = profile_box
    intent = state_dir / "customizations.yaml"
    main_cf = (config_dir / "main.cf").read_bytes()
    real = Writer.__init__

    def faulty(self, *a, **kw):  # type: ignore[no-untyped-def]
        real(self, *a, **kw)
        self.engine.writer = _FullStateDir(intent.resolve())

    monkeypatch.setattr(Writer, "__init__", faulty)
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.FAILED
    out = capsys.readouterr().out
    assert "no space left" in out.lower()
    assert (config_dir / "main.cf").read_bytes() == main_cf  # the previous config in force
    assert intent.read_text() == HAND
    entry = json.loads((state_dir / "journal" / "1" / "entry.json").read_text())
    assert entry["outcome"] == "failed"


class _EditsIntentMeanwhile(AtomicWriter):
    """The admin saves customizations.yaml while pfwizard writes main.cf."""

    def __init__(self, intent: Path) -> None:
        self.intent = intent

    def write_temp(self, path: Path, data: bytes, meta):  # type: ignore[no-untyped-def]
        if path.name == "main.cf":
            self.intent.write_text(HAND + "# edited meanwhile\n")
        return super().write_temp(path, data, meta)


@needs_postfix
def test_intent_edited_meanwhile_refuses_and_puts_back(profile_box, capsys, monkeypatch):
    config_dir, state_dir, profile = profile_box
    intent = state_dir / "customizations.yaml"
    main_cf = (config_dir / "main.cf").read_bytes()
    real = Writer.__init__

    def racing(self, *a, **kw):  # type: ignore[no-untyped-def]
        real(self, *a, **kw)
        self.engine.writer = _EditsIntentMeanwhile(intent)

    monkeypatch.setattr(Writer, "__init__", racing)
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.REFUSED
    assert "changed while pfwizard was checking" in capsys.readouterr().out
    assert (config_dir / "main.cf").read_bytes() == main_cf
    assert intent.read_text() == HAND + "# edited meanwhile\n"  # the admin's edit stays


def test_the_engine_writes_no_other_file_outside_the_config_dir(tmp_path):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    engine = Engine(config_dir, state_dir, reload=False)
    from pfwizard.engine import ChangeSet

    other = IntentRecord(tmp_path / "elsewhere.yaml", None, b"version: 1\n")
    with pytest.raises(UnsafePath):
        engine.plan(ChangeSet("x", {"smtpd_helo_required": "yes"}, record=other))
    ok = IntentRecord(state_dir / "customizations.yaml", None, b"version: 1\n")
    plan = engine.plan(ChangeSet("x", {"smtpd_helo_required": "yes"}, record=ok))
    assert [f.role for f in plan.files] == ["main.cf", "intent"]


def _record(path: str, role: str) -> dict[str, object]:
    return {
        "path": path,
        "role": role,
        "existed": False,
        "sha256_before": None,
        "sha256_after": None,
        "backup": None,
        "map_type": None,
    }


def test_journal_check_allows_exactly_the_state_dirs_intent(tmp_path):
    cdir, sdir = tmp_path / "etc", tmp_path / "state"
    cdir.mkdir()
    sdir.mkdir()
    good = _record(str(sdir / "customizations.yaml"), "intent")
    journalcheck.check_file(good, str(cdir), sdir)
    for bad in (
        _record(str(sdir / "other.yaml"), "intent"),
        _record(str(cdir / "customizations.yaml"), "intent"),
        _record(str(sdir / "customizations.yaml"), "main.cf"),
        _record(str(sdir / "journal" / "customizations.yaml"), "intent"),
    ):
        with pytest.raises(journalcheck.InvalidEntry):
            journalcheck.check_file(bad, str(cdir), sdir)
    with pytest.raises(journalcheck.InvalidEntry):  # no journal to belong to: no intent
        journalcheck.check_file(good, str(cdir), None)


@needs_postfix
def test_a_failure_after_writing_puts_the_intent_back_too(profile_box, capsys, monkeypatch):
    config_dir, state_dir, profile = profile_box
    intent = state_dir / "customizations.yaml"
    main_cf = (config_dir / "main.cf").read_bytes()

    def reload_fails(self, run, *a, **kw):  # type: ignore[no-untyped-def]
        assert "smtpd_helo_required" in intent.read_text()  # written with main.cf
        raise StepFailed("reload", "postfix reload failed (exit 1)", "fatal: test")

    monkeypatch.setattr(Engine, "_reload_and_check", reload_fails)
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.FAILED
    assert (config_dir / "main.cf").read_bytes() == main_cf
    assert intent.read_text() == HAND
    assert oct(intent.stat().st_mode & 0o777) == "0o600"


@needs_postfix
def test_an_interrupted_change_is_undone_intent_and_all(profile_box, capsys):
    """pfwizard killed after writing: the entry still says in progress.  The next command
    believes the entry (its intent file is the state directory's own) and undoes it all."""
    config_dir, state_dir, profile = profile_box
    intent = state_dir / "customizations.yaml"
    main_cf = (config_dir / "main.cf").read_bytes()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    path = state_dir / "journal" / "1" / "entry.json"
    entry = json.loads(path.read_text())
    entry["outcome"] = "in-progress"
    path.write_text(json.dumps(entry))
    capsys.readouterr()
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    assert "was interrupted" in capsys.readouterr().out
    assert pf(config_dir, state_dir, "rollback", "--to", "1", "--yes") == exitcodes.REFUSED
    out = capsys.readouterr()
    assert "was interrupted; undone: 2 file(s) put back" in out.out + out.err
    assert (config_dir / "main.cf").read_bytes() == main_cf
    assert intent.read_text() == HAND


@needs_postfix
def test_the_intent_diff_never_shows_a_private_tables_content(tmp_path, capsys):
    """customizations.yaml keeps a recorded table's content: with a 0600 table among them,
    its diff (terminal, journal, the restore hook's log) says only how many lines changed."""
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    src = config_dir / "pfwizard" / "relay_passwd"
    src.parent.mkdir()
    src.write_text("[smtp.example.net]:587 user:OLD-secret\n")
    src.chmod(0o600)
    profile = tmp_path / "relay.yaml"
    profile.write_text(
        "version: 1\ntables:\n"
        f"  {src}:\n    type: texthash\n    content: |\n"
        "      [smtp.example.net]:587 user:NEW-secret\n"
    )
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    helo = tmp_path / "helo.yaml"
    helo.write_text(PROFILE)
    assert pf(config_dir, state_dir, "apply", str(helo)) == exitcodes.CHANGED
    assert pf(config_dir, state_dir, "rollback", "--to", "2", "--yes") == exitcodes.CHANGED
    out = capsys.readouterr()
    shown = (
        out.out
        + out.err
        + "".join(p.read_text() for p in (state_dir / "journal").glob("*/diff.patch"))
    )
    assert "customizations.yaml" in shown and "0600 file not shown" in shown
    assert "secret" not in shown
