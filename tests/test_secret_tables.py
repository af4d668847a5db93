"""A table others cannot read (a lost ``sasl_passwd`` at 0600) stays private: the source and
its .db keep that mode when pfwizard writes or rebuilds them (real postmap), and its contents
never reach a diff: not the plan's, not the journal's diff.patch, not ``apply --dry-run``'s
output, not ``rollback --show`` or ``rollback --to --dry-run``."""

from __future__ import annotations

import contextlib
import io
import os
import stat
from pathlib import Path

import pytest

from pfwizard import exitcodes
from pfwizard.cli import main
from pfwizard.engine import ChangeSet, Engine, TableChange
from pfwizard.engine.changeset import secret_mode, text_diff
from tests.conftest import needs_postfix
from tests.miab_setup import box

OLD = "[smtp.relay.example]:587 alice:old-s3cret-Zq9\n"
NEW = "[smtp.relay.example]:587 alice:new-s3cret-Xw7\n[backup.example]:25 bob:b0b-s3cret\n"
SECRETS = ("old-s3cret", "new-s3cret", "b0b-s3cret")


def mode(p: Path) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def no_gate(cf, config_dir):
    return []


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    cfg, state = box(tmp_path, "main.cf.v75-fresh")
    state.mkdir(mode=0o700)
    return cfg, state


def postmap(cfg: Path, path: Path) -> None:
    from pfwizard.engine.pftools import PostfixTools

    assert PostfixTools(30).postmap(cfg, "hash", path).ok


def pf(cfg: Path, state: Path, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = main(["--config-dir", str(cfg), "--state-dir", str(state), "--no-reload", *argv])
    return code, out.getvalue()


def assert_hidden(text: str) -> None:
    for s in SECRETS:
        assert s not in text, text


def test_diff_of_a_private_file_says_how_much_changed_not_what(tmp_path: Path) -> None:
    p = tmp_path / "sasl_passwd"
    p.write_text(OLD)
    p.chmod(0o640)
    diff = text_diff(p, OLD.encode(), NEW.encode())
    assert_hidden(diff)
    assert f"--- a{p}\n+++ b{p}\n" in diff
    assert "(contents of a 0640 file not shown: 3 lines changed)" in diff
    p.chmod(0o644)  # readable by all: nothing to hide
    assert "new-s3cret" in text_diff(p, OLD.encode(), NEW.encode())
    # a new file asked for 0600
    assert "(contents of a 0600 file not shown: 2 lines changed)" in text_diff(
        tmp_path / "new", None, NEW.encode(), 0o600
    )


def test_secret_mode_takes_the_index_into_account(tmp_path: Path) -> None:
    src, db = tmp_path / "t", tmp_path / "t.db"
    assert secret_mode(src, "hash") is None  # nothing there
    db.write_bytes(b"x")
    db.chmod(0o600)
    assert secret_mode(src, "hash") == 0o600  # the source is lost, its .db was private
    src.write_text("a b\n")
    src.chmod(0o644)
    assert secret_mode(src, "hash") == 0o600  # 0644 & 0600
    db.chmod(0o644)
    assert secret_mode(src, "hash") is None
    assert secret_mode(src, "hash", requested=0o640) == 0o640


@needs_postfix
def test_a_0600_table_keeps_its_mode_and_its_secret(dirs: tuple[Path, Path]) -> None:
    cfg, state = dirs
    src = cfg / "sasl_passwd"
    src.write_text(OLD)
    src.chmod(0o600)
    postmap(cfg, src)
    db = cfg / "sasl_passwd.db"
    db.chmod(0o644)  # as a careless hand left it: the stricter of the two wins for both
    eng = Engine(cfg, state, reload=False, gate=no_gate)
    plan = eng.plan(
        ChangeSet("new relay password", tables=[TableChange(Path("sasl_passwd"), NEW, "hash")])
    )
    assert_hidden(plan.unified_diff())
    assert "(contents of a 0600 file not shown: 3 lines changed)" in plan.unified_diff()
    res = eng.apply(plan)
    assert res.ok, res.error
    assert src.read_text() == NEW
    assert (mode(src), mode(db)) == (0o600, 0o600)
    assert res.entry_id is not None
    patch = (state / "journal" / res.entry_id / "diff.patch").read_text()
    assert "not shown" in patch
    assert_hidden(patch)
    assert_hidden(eng.diff(res.entry_id) or "")
    code, out = pf(cfg, state, "rollback", "--show", res.entry_id)
    assert code == 0 and "not shown" in out
    assert_hidden(out)
    code, out = pf(cfg, state, "rollback", "--to", res.entry_id, "--dry-run")
    assert code == exitcodes.CHANGED and "not shown" in out, out
    assert_hidden(out)


@needs_postfix
def test_a_lost_source_is_rebuilt_as_private_as_its_index(dirs: tuple[Path, Path]) -> None:
    cfg, state = dirs
    src, db = cfg / "sasl_passwd", cfg / "sasl_passwd.db"
    src.write_text(OLD)
    src.chmod(0o600)
    postmap(cfg, src)
    assert mode(db) == 0o600
    src.unlink()  # lost; its .db is left
    eng = Engine(cfg, state, reload=False, gate=no_gate)
    plan = eng.plan(ChangeSet("rebuild", tables=[TableChange(Path("sasl_passwd"), NEW, "hash")]))
    assert "(contents of a 0600 file not shown: 2 lines changed)" in plan.unified_diff()
    assert_hidden(plan.unified_diff())
    res = eng.apply(plan)
    assert res.ok, res.error
    assert (mode(src), mode(db)) == (0o600, 0o600)


@needs_postfix
def test_a_new_table_asked_for_0640_is_written_0640(dirs: tuple[Path, Path]) -> None:
    cfg, state = dirs
    eng = Engine(cfg, state, reload=False, gate=no_gate)
    plan = eng.plan(
        ChangeSet(
            "new", tables=[TableChange(Path("pfwizard/relay_passwd"), NEW, "hash", mode=0o640)]
        )
    )
    assert_hidden(plan.unified_diff())
    res = eng.apply(plan)
    assert res.ok, res.error
    src = cfg / "pfwizard" / "relay_passwd"
    assert (mode(src), mode(Path(f"{src}.db"))) == (0o640, 0o640)


@needs_postfix
def test_apply_profile_never_prints_a_private_table(
    dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    """The restore hook sends this output to the system log."""
    cfg, state = dirs
    src = cfg / "pfwizard" / "sasl_passwd"
    src.parent.mkdir()
    src.write_text(OLD)
    src.chmod(0o600)
    postmap(cfg, src)
    profile = tmp_path / "profile.yaml"
    content = "".join(f"      {ln}\n" for ln in NEW.splitlines())
    profile.write_text(f"version: 1\ntables:\n  {src}:\n    type: hash\n    content: |\n{content}")
    before = src.read_bytes()
    code, out = pf(cfg, state, "apply", "--dry-run", str(profile))
    assert code == exitcodes.CHANGED and "not shown" in out, out
    assert_hidden(out)
    assert src.read_bytes() == before
    code, out = pf(cfg, state, "apply", str(profile))
    assert code == 10, out
    assert_hidden(out)
    assert (mode(src), mode(Path(f"{src}.db"))) == (0o600, 0o600)
    for patch in (state / "journal").glob("*/diff.patch"):
        assert_hidden(patch.read_text())


@needs_postfix
def test_restore_rebuilds_a_lost_private_table_private(dirs: tuple[Path, Path]) -> None:
    """The case found: a lost 0600 sasl_passwd came back 0644 (source and .db), its secret
    printed in the diff that the restore hook sends to the system log."""
    cfg, state = dirs
    src = cfg / "pfwizard" / "sasl_passwd"
    src.parent.mkdir()
    src.write_text(NEW)
    src.chmod(0o600)
    postmap(cfg, src)
    content = "".join(f"      {ln}\n" for ln in NEW.splitlines())
    (state / "customizations.yaml").write_text(
        f"version: 1\ntables:\n  {src}:\n    type: hash\n    content: |\n{content}"
    )
    src.unlink()  # lost; sasl_passwd.db is left, 0600
    code, out = pf(cfg, state, "restore", "--yes")
    assert code == 10, out
    assert "not shown" in out, out
    assert_hidden(out)
    assert src.read_text() == NEW
    assert (mode(src), mode(Path(f"{src}.db"))) == (0o600, 0o600)
    for patch in (state / "journal").glob("*/diff.patch"):
        assert_hidden(patch.read_text())
