"""The state directory cannot be turned against root, and journal entries are checked before
pfwizard believes them (in-process, no Postfix needed).

Each crafted entry is left "in progress", so that the next mutating command would replay it
as root: it must write nothing outside the config directory, never a setuid file, never
through a symbolic link; say so on one line; and never crash.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pfwizard import exitcodes, statedir
from pfwizard.cli import main
from pfwizard.engine import Engine
from pfwizard.engine.journal import sha256
from tests.conftest import needs_postfix
from tests.miab_setup import box

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (chown)")


def run(cfg: Path, state: Path, *argv: str) -> int:
    return main(["--config-dir", str(cfg), "--state-dir", str(state), *argv])


def rec(
    path: Path | str,
    data: bytes,
    n: int = 0,
    mode: int = 0o644,
    role: str = "table",
    **over: object,
) -> dict[str, object]:
    r: dict[str, object] = dict(
        path=str(path),
        role=role,
        existed=True,
        sha256_before=sha256(data),
        sha256_after=None,
        mode=mode,
        uid=0,
        gid=0,
        backup=str(n),
        map_type=None,
    )
    r.update(over)
    return r


def plant(
    state: Path,
    cfg: Path,
    files: list[dict[str, object]],
    backups: dict[int, bytes],
    eid: str = "1",
    raw: bytes | None = None,
    **over: object,
) -> Path:
    """An in-progress entry as an attacker (or a broken disk) would leave it."""
    d = state / "journal" / eid
    (d / "files").mkdir(parents=True)
    os.chmod(state, 0o700)
    for n, data in backups.items():
        (d / "files" / str(n)).write_bytes(data)
    entry: dict[str, object] = dict(
        id=eid,
        kind="apply",
        time="2026-12-02T10:00:00+00:00",
        user="root",
        summary="crafted change",
        config_dir=str(cfg),
        files=files,
        outcome="in-progress",
        error=None,
        postfix_output="",
        intent=None,
        rollback_of=None,
        rolled_back_by=None,
        confirm_deadline=None,
        steps=[],
        diff_available=False,
    )
    entry.update(over)
    (d / "entry.json").write_bytes(raw if raw is not None else json.dumps(entry).encode())
    return d


@pytest.fixture
def miab(tmp_path: Path) -> tuple[Path, Path]:
    cfg, state = box(tmp_path, "main.cf.v75-fresh")
    state.mkdir(mode=0o700)
    return cfg, state


def heal(cfg: Path, state: Path) -> int:
    """A mutating command that has nothing to change: it recovers first."""
    return run(cfg, state, "--no-reload", "restore", "--yes")


# ---- crafted journal entries ----------------------------------------------------------------
CRAFTED = {
    "outside": lambda cfg, out: ([rec(out / "evil", b"x")], "outside the configuration"),
    "dotdot": lambda cfg, out: ([rec(f"{cfg}/../outside/evil", b"x")], "not a plain absolute"),
    "relative": lambda cfg, out: ([rec("outside/evil", b"x")], "not a plain absolute"),
    "setuid": lambda cfg, out: ([rec(cfg / "main.cf", b"x", mode=0o4755, role="main.cf")], "mode"),
    "setgid-sticky": lambda cfg, out: ([rec(cfg / "t", b"x", mode=0o3644)], "mode"),
    "world-writable": lambda cfg, out: ([rec(cfg / "t", b"x", mode=0o666)], "everyone"),
    "mode-as-text": lambda cfg, out: ([rec(cfg / "t", b"x", mode="0644")], "mode"),
    "uid-negative": lambda cfg, out: ([rec(cfg / "t", b"x", uid=-1)], "owner"),
    "role": lambda cfg, out: ([rec(cfg / "t", b"x", role="shell")], "unknown role"),
    "backup-name": lambda cfg, out: (
        [rec(cfg / "t", b"x", backup="../../../etc/shadow")],
        "numbered file",
    ),
    "files-not-list": lambda cfg, out: ("/etc/passwd", "files is not a list"),
}


@pytest.mark.parametrize("case", sorted(CRAFTED))
def test_crafted_entry_is_skipped_and_writes_nothing(miab, tmp_path, capsys, case):
    cfg, state = miab
    outside = tmp_path / "outside"
    outside.mkdir()
    files, why = CRAFTED[case](cfg, outside)
    plant(state, cfg, files, {0: b"planted\n"})
    before = {p: p.read_bytes() for p in cfg.iterdir()}

    assert run(cfg, state, "rollback", "--list") == exitcodes.OK
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.strip().startswith("1 "))
    assert "unreadable" in line and "skipped" in line and why in line, out

    assert heal(cfg, state) == exitcodes.OK
    err = capsys.readouterr().err
    assert "journal entry 1 is unreadable" in err and why in err and "Traceback" not in err
    assert list(outside.iterdir()) == []
    assert {p: p.read_bytes() for p in cfg.iterdir()} == before
    assert not any(p.stat().st_mode & (stat.S_ISUID | stat.S_ISGID) for p in cfg.iterdir())
    assert run(cfg, state, "rollback", "--to", "1", "--yes") == exitcodes.REFUSED
    assert "unreadable" in capsys.readouterr().err


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"",
        b"[]",
        b'"x"',
        b"{}",
        b"\xff\xfe",
        b"[" * 100000,
        b'{"id": "1", "files": [{"path": 1}]}',
    ],
)
def test_corrupt_entry_json_is_reported_never_a_crash(miab, capsys, raw):
    cfg, state = miab
    plant(state, cfg, [], {}, raw=raw)
    assert run(cfg, state, "rollback", "--list") == exitcodes.OK
    out = capsys.readouterr().out
    assert "   1  unreadable (" in out and "), skipped" in out
    assert heal(cfg, state) == exitcodes.OK
    assert run(cfg, state, "rollback", "--show", "1") == exitcodes.ERROR
    assert run(cfg, state, "status") == exitcodes.OK  # not an interrupted change it can undo
    assert "Traceback" not in capsys.readouterr().err


def test_symlinked_file_in_the_config_dir_is_never_followed(miab, tmp_path, capsys):
    cfg, state = miab
    target = tmp_path / "outside-target"
    target.write_bytes(b"root's file elsewhere\n")
    (cfg / "link").symlink_to(target)
    plant(state, cfg, [rec(cfg / "link", b"planted\n")], {0: b"planted\n"})
    assert heal(cfg, state) == exitcodes.OK
    err = capsys.readouterr().err
    assert "symbolic link" in err and "cannot be undone" in err
    assert target.read_bytes() == b"root's file elsewhere\n"
    assert (cfg / "link").is_symlink()


def test_config_dir_reached_through_a_symlinked_subdir_is_outside(miab, tmp_path, capsys):
    cfg, state = miab
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (cfg / "pfwizard").symlink_to(elsewhere)
    plant(state, cfg, [rec(cfg / "pfwizard" / "evil", b"planted\n")], {0: b"planted\n"})
    assert heal(cfg, state) == exitcodes.OK
    assert "outside the configuration directory" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_swapped_backup_and_foreign_owner_are_not_restored(miab, capsys):
    cfg, state = miab
    main_cf = cfg / "main.cf"
    before = main_cf.read_bytes()
    # The copy no longer matches the checksum recorded with it.
    plant(state, cfg, [rec(main_cf, b"original\n", role="main.cf")], {0: b"swapped\n"})
    # A copy that would hand main.cf to another user (and Postfix with it).
    plant(state, cfg, [rec(main_cf, b"x\n", role="main.cf", uid=1000)], {0: b"x\n"}, eid="2")
    assert heal(cfg, state) == exitcodes.OK
    err = capsys.readouterr().err
    assert "does not match the checksum" in err and "uid 1000" in err
    assert main_cf.read_bytes() == before and main_cf.stat().st_uid == 0


def test_entry_for_another_config_dir_is_left_to_that_one(miab, tmp_path, capsys):
    cfg, state = miab
    other = tmp_path / "other"
    other.mkdir()
    before, changed = b"compatibility_level = 3.6\n", b"compatibility_level = 3.6\nx = y\n"
    (other / "main.cf").write_bytes(changed)
    plant(state, other, [rec(other / "main.cf", before, role="main.cf")], {0: before})
    assert run(cfg, state, "status") == exitcodes.OK
    assert heal(cfg, state) == exitcodes.OK
    assert (other / "main.cf").read_bytes() == changed
    assert run(cfg, state, "rollback", "--to", "1", "--yes") == exitcodes.REFUSED
    assert f"use --config-dir {other}" in capsys.readouterr().err
    # Run on its own config dir, the same entry is undone.
    assert heal(other, state) == exitcodes.OK
    assert (other / "main.cf").read_bytes() == before


# ---- interrupted changes: reported by status and check, undone by a no-op command -----------
def test_interrupted_change_is_reported_then_healed_by_a_no_op_restore(miab, capsys):
    cfg, state = miab
    main_cf = cfg / "main.cf"
    before = main_cf.read_bytes()
    half = before + b"smtpd_helo_required = yes\n"
    main_cf.write_bytes(half)
    plant(
        state,
        cfg,
        [rec(main_cf, before, role="main.cf")],
        {0: before},
        summary="apply profile helo.yaml",
    )

    assert run(cfg, state, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert "journal entry 1, apply profile helo.yaml" in out
    assert "interrupted" in out and "pfwizard --config-dir" in out and "restore" in out
    assert (
        json.loads(_out(capsys, run(cfg, state, "status", "--json")))["interrupted"][0]["entry"]
        == "1"
    )
    assert run(cfg, state, "check") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert "DANGER  journal entry 1" in out
    assert main_cf.read_bytes() == half  # reporting changes nothing

    assert run(cfg, state, "--dry-run", "restore") == exitcodes.OK
    assert "warning: a change (journal entry 1" in capsys.readouterr().err
    assert main_cf.read_bytes() == half

    assert heal(cfg, state) == exitcodes.OK
    err = capsys.readouterr().err
    assert "entry 1 (apply profile helo.yaml) was interrupted; undone: 1 file(s)" in err
    assert main_cf.read_bytes() == before
    assert run(cfg, state, "status") == exitcodes.OK
    assert run(cfg, state, "check") == exitcodes.OK
    assert "recovered" in _out(capsys, run(cfg, state, "rollback", "--list"))


def _out(capsys, _code: int) -> str:
    return capsys.readouterr().out


# ---- the state directory itself ------------------------------------------------------------
COMMANDS = [
    ("status",),
    ("check",),
    ("rollback", "--list"),
    ("rollback", "--to", "1", "--yes"),
    ("restore", "--yes"),
    ("apply", "/nonexistent.yaml"),
    ("--dry-run", "restore"),
]


def _refused_everywhere(cfg: Path, state: Path, capsys, why: str) -> None:
    for argv in COMMANDS:
        assert run(cfg, state, "--no-reload", *argv) == exitcodes.REFUSED, argv
        err = capsys.readouterr().err
        assert why in err and "refusing to use the state directory" in err, (argv, err)
        assert len(err.strip().splitlines()) == 1


def test_symlinked_state_dir_is_refused(miab, tmp_path, capsys):
    cfg, real = miab
    link = tmp_path / "state-link"
    link.symlink_to(real)
    _refused_everywhere(cfg, link, capsys, "is a symbolic link")
    assert list(real.iterdir()) == []


@needs_root
def test_foreign_owned_state_dir_and_planted_entry_are_refused(miab, capsys):
    cfg, state = miab
    main_cf = cfg / "main.cf"
    before = main_cf.read_bytes()
    main_cf.write_bytes(before + b"# half\n")
    plant(state, cfg, [rec(main_cf, before, role="main.cf")], {0: before})
    os.chown(state, 65534, 65534)  # an unprivileged user's directory, entry and all
    _refused_everywhere(cfg, state, capsys, "is owned by nobody, not root")
    os.chown(state, 0, 0)
    # The directory handed back to root, but the entry the user planted is still theirs.
    os.chown(state / "journal" / "1" / "entry.json", 65534, 65534)
    _refused_everywhere(cfg, state, capsys, "entry.json is owned by nobody")
    assert main_cf.read_bytes() == before + b"# half\n"  # nothing replayed


def test_writable_by_others_is_refused(miab, tmp_path, capsys):
    cfg, state = miab
    os.chmod(state, 0o770)
    _refused_everywhere(cfg, state, capsys, "writable by group or others (mode 0770)")
    os.chmod(state, 0o700)
    (state / "customizations.yaml").write_text("version: 1\n")
    os.chmod(state / "customizations.yaml", 0o666)
    _refused_everywhere(cfg, state, capsys, "customizations.yaml is writable by group")


def test_parent_writable_by_everyone_is_refused(tmp_path, capsys):
    cfg, _ = box(tmp_path, "main.cf.v75-fresh")
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # no sticky bit: anyone may rename the state dir away
    _refused_everywhere(cfg, shared / "state", capsys, "is writable by everyone")
    os.chmod(shared, 0o1777)  # like /tmp: fine
    assert run(cfg, shared / "state", "status") == exitcodes.OK


def test_symlinked_lock_and_files_dir_are_refused(miab, tmp_path, capsys):
    cfg, state = miab
    (state / "lock").symlink_to(tmp_path / "somewhere")
    _refused_everywhere(cfg, state, capsys, "lock is a symbolic link")
    assert not (tmp_path / "somewhere").exists()
    (state / "lock").unlink()
    stash = tmp_path / "stash"
    stash.mkdir()
    (stash / "0").write_bytes(b"planted\n")
    d = plant(state, cfg, [rec(cfg / "main.cf", b"planted\n", role="main.cf")], {})
    (d / "files").rmdir()
    (d / "files").symlink_to(stash)
    _refused_everywhere(cfg, state, capsys, "files is a symbolic link")
    # The engine refuses too (the wizard and the API go through it, not the command line).
    with pytest.raises(Exception, match="symbolic link"):
        Engine(cfg, state, reload=False).recover()


def test_created_root_only(tmp_path):
    state = tmp_path / "deep" / "state"
    statedir.ensure(state)
    st = os.lstat(state)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == os.geteuid()


def test_read_private_refuses_fifo_and_big_files(miab):
    _, state = miab
    (state / "journal" / "1").mkdir(parents=True)
    os.mkfifo(state / "journal" / "1" / "entry.json")
    with pytest.raises(statedir.UnsafeStateDir, match="not a regular file"):
        statedir.read_private(state, "journal", "1", "entry.json")
    with open(state / "journal" / "big", "wb") as fh:
        fh.truncate(statedir.ENTRY_LIMIT + 1)
    with pytest.raises(statedir.UnsafeStateDir, match="larger than 16 MiB"):
        statedir.read_private(state, "journal", "big")


def test_a_setuid_or_world_writable_file_is_never_recorded(miab, capsys):
    """What pfwizard writes into its journal must pass its own checks at recovery."""
    from pfwizard.engine import ChangeSet

    cfg, state = miab
    main_cf = cfg / "main.cf"
    before = main_cf.read_bytes()
    os.chmod(main_cf, 0o666)
    eng = Engine(cfg, state, reload=False, gate=lambda cf, d: [])
    res = eng.apply(eng.plan(ChangeSet("helo", {"smtpd_helo_required": "yes"}, [])))
    assert res.refused and "chmod 664" in (res.error or "")
    assert main_cf.read_bytes() == before


@needs_postfix
def test_a_real_change_after_an_interrupted_one_undoes_it_then_applies(miab, tmp_path, capsys):
    """Before, the interrupted change was undone inside the apply, after planning: the plan
    then no longer matched the files and the apply refused ("files changed since...")."""
    cfg, state = miab
    main_cf = cfg / "main.cf"
    before = main_cf.read_bytes()
    main_cf.write_bytes(before + b"smtpd_helo_required = no\n")  # half-applied
    plant(state, cfg, [rec(main_cf, before, role="main.cf")], {0: before})
    profile = tmp_path / "p.yaml"
    profile.write_text('version: 1\nparameters:\n  smtpd_helo_required:\n    value: "yes"\n')
    assert run(cfg, state, "--no-reload", "apply", str(profile)) == exitcodes.CHANGED
    out = capsys.readouterr()
    assert "was interrupted; undone: 1 file(s) put back" in out.err
    assert "files changed since pfwizard read them" not in out.out + out.err
    text = main_cf.read_text()
    assert "smtpd_helo_required = yes" in text and "smtpd_helo_required = no" not in text


def test_an_io_error_in_the_state_dir_names_it(tmp_path):
    import errno

    from pfwizard.engine.journal import Journal

    j = Journal(tmp_path)
    want = f"input/output error in {tmp_path}: saving journal entry 3 failed"
    with pytest.raises(statedir.StateDirError, match=want), j.writing("saving journal entry 3"):
        raise OSError(errno.EIO, os.strerror(errno.EIO))


def test_the_wizard_undoes_an_interrupted_change_before_reading_main_cf(miab, monkeypatch):
    import argparse
    import sys

    from pfwizard.commands import wizard

    cfg, state = miab
    main_cf = cfg / "main.cf"
    before = main_cf.read_bytes()
    main_cf.write_bytes(before + b"smtpd_helo_required = yes\n")
    plant(state, cfg, [rec(main_cf, before, role="main.cf")], {0: before})
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    args = argparse.Namespace(config_dir=str(cfg), state_dir=str(state), no_reload=True)
    notes = wizard.recover_first(args)  # shown on the wizard's first screen
    assert len(notes) == 1 and "was interrupted; undone: 1 file(s) put back" in notes[0]
    assert main_cf.read_bytes() == before


@pytest.mark.parametrize("opt", ["--state-dir", "--config-dir"])
@pytest.mark.parametrize("bad", ["st\x00ate", "st\nate", "state\x7f"])
def test_a_control_character_in_a_directory_is_a_usage_error(tmp_path, capsys, opt, bad):
    code = main(["status", opt, str(tmp_path / bad)])
    err = capsys.readouterr().err
    assert code == exitcodes.ERROR
    assert "control character" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []
