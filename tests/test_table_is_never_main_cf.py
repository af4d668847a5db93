"""A lookup table is never Postfix's own main.cf or master.cf, nor a table's index: seen from
the attacker's side, through every path that writes a table (a profile, a hand-edited
customisations file on restore, the wizard's session and its answers file, the engine itself,
a rollback of a doctored journal entry). The "table" would have been main.cf with mynetworks
opened to the world: each attempt is refused with nothing written, and the bench's real smtpd
still refuses to relay for an outside client."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from pfwizard import cli, exitcodes
from pfwizard.engine import ChangeSet, Engine
from pfwizard.engine.changeset import TableChange
from pfwizard.errors import PfwizardError, ValueRefused
from pfwizard.session import Session
from pfwizard.wizard.answers import apply_op
from tests.conftest import needs_bench
from tests.test_engine_support import snapshot, state_dir
from tests.test_gate_every_path import relay_refused


@pytest.fixture
def state() -> Iterator[Path]:
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def opened(config_dir: Path) -> str:
    """main.cf as it is, with mynetworks opened to the world: what the "table" would be."""
    lines = [
        "mynetworks = 0.0.0.0/0" if ln.startswith("mynetworks") else ln
        for ln in (config_dir / "main.cf").read_text().splitlines()
    ]
    return "\n".join(lines) + "\n"


def targets(config_dir: Path) -> dict[str, Path]:
    """The files a table edit must never write, by what they are (a symlink included)."""
    link = config_dir / "pfwizard" / "innocent_looking"
    link.parent.mkdir(exist_ok=True)
    if not link.is_symlink():
        link.symlink_to("../main.cf")
    return {
        "main.cf": config_dir / "main.cf",
        "master.cf": config_dir / "pfwizard" / ".." / "master.cf",
        "a symlink to main.cf": link,
        "an index": config_dir / "pfwizard" / "allow.db",
        "a dynamic maps plugin file": config_dir / "dynamicmaps.cf.d" / "pwn",
    }


TARGETS = ["main.cf", "master.cf", "a symlink to main.cf", "an index", "a dynamic maps plugin file"]


def profile_yaml(path: Path, content: str) -> str:
    """The "table" and a sender check that names it (restore writes the tables it uses)."""
    body = "".join(f"      {line}\n" for line in content.splitlines())
    return (
        "version: 1\nchains:\n  smtpd_sender_restrictions:\n    operations:\n"
        f"      - insert: check_sender_access texthash:{path}\n"
        f"tables:\n  {path}:\n    type: texthash\n    content: |\n{body}"
    )


def cli_dirs(bench, state: Path) -> list[str]:
    return ["--config-dir", str(bench.config_dir), "--state-dir", str(state)]


@needs_bench
@pytest.mark.parametrize("what", list(TARGETS))
def test_apply_refuses_a_table_that_is_not_a_table(bench, state, tmp_path, capsys, what):
    target = targets(bench.config_dir)[what]
    before = snapshot(bench.config_dir)
    profile = tmp_path / "profile.yaml"
    profile.write_text(profile_yaml(target, opened(bench.config_dir)))
    assert cli.main(["apply", str(profile), *cli_dirs(bench, state)]) == exitcodes.REFUSED
    out = capsys.readouterr()
    assert "as a lookup table" in out.out + out.err, out
    assert snapshot(bench.config_dir) == before
    relay_refused(bench)


@needs_bench
@pytest.mark.parametrize("what", ["an index", "a dynamic maps plugin file"])
def test_restore_refuses_to_create_one(bench, state, capsys, what):
    """Restore writes a recorded table that is missing (it leaves one that exists alone), so
    a hand-edited customisations file names a file that is not there yet; in
    dynamicmaps.cf.d it would make Postfix load a library of the attacker's choosing."""
    target = targets(bench.config_dir)[what]
    assert not target.exists()
    (state / "customizations.yaml").write_text(
        profile_yaml(target, "evil /tmp/evil.so dict_evil_open\n")
    )
    before = snapshot(bench.config_dir)
    assert cli.main(["restore", "--yes", *cli_dirs(bench, state)]) == exitcodes.REFUSED
    assert "as a lookup table" in "".join(capsys.readouterr())
    assert snapshot(bench.config_dir) == before
    relay_refused(bench)


@needs_bench
def test_the_wizard_and_the_engine_refuse_it(bench, state):
    files = targets(bench.config_dir)
    before = snapshot(bench.config_dir)
    content = opened(bench.config_dir)
    session = Session.open(bench.config_dir, state)
    for what, target in files.items():
        with pytest.raises(ValueRefused, match="as a lookup table"):
            session.set_table(str(target), content, "texthash")
        with pytest.raises(ValueRefused, match="as a lookup table"):  # an answers file
            apply_op(session, {"table": str(target), "content": content, "type": "texthash"})
        # The engine itself, with no analyser gate in front of it.
        eng = Engine(bench.config_dir, state, gate=lambda cf, d: [])
        with pytest.raises(PfwizardError, match="as a lookup table"):
            eng.plan(ChangeSet(what, {}, [TableChange(target, content, "texthash")]))
    assert not session.changed
    assert snapshot(bench.config_dir) == before
    relay_refused(bench)


@needs_bench
def test_a_rollback_of_a_doctored_entry_refuses(bench, state, capsys):
    """A journal entry that says main.cf was a table (and holds the opened main.cf as its
    backup) was not written by pfwizard: rollback refuses it."""
    cfg = bench.config_dir
    eng = Engine(cfg, state, restart=bench.restart)
    table = cfg / "pfwizard" / "t"
    for content in ("x OK\n", "y OK\n"):  # made, then changed: the entry holds a backup
        res = eng.apply(
            eng.plan(ChangeSet("a table", {}, [TableChange(table, content, "texthash")]))
        )
        assert res.ok, res.error
    entry = state / "journal" / str(res.entry_id)
    data = json.loads((entry / "entry.json").read_text())
    [record] = [f for f in data["files"] if f["role"] == "table"]
    record["path"] = str(cfg / "main.cf")
    (entry / "files" / record["backup"]).write_text(opened(cfg))
    (entry / "entry.json").write_text(json.dumps(data))
    before = snapshot(cfg)
    code = cli.main(["rollback", "--to", str(res.entry_id), "--yes", *cli_dirs(bench, state)])
    out = capsys.readouterr()
    assert code == exitcodes.REFUSED, out
    assert "as a lookup table" in out.out + out.err or "not one pfwizard" in out.out + out.err
    assert snapshot(cfg) == before
    relay_refused(bench)
    os.remove(table)


@pytest.mark.parametrize("what", ["main.cf", "master.cf", "a symlink to main.cf", "an index"])
def test_a_list_that_reads_postfixs_own_file_as_a_table_is_refused(tmp_path, capsys, what):
    """Not writing it, only naming it: ``check_sender_access texthash:/etc/postfix/main.cf``
    has smtpd read every parameter as a key.  check says so (never acceptable), apply and
    restore refuse it with nothing written."""
    from tests.miab_setup import box

    config_dir, state = box(tmp_path, "main.cf.v75-fresh")
    target = targets(config_dir)[what]
    kind = "hash" if what == "an index" else "texthash"
    op = f"check_sender_access {kind}:{target}"
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        "version: 1\nchains:\n  smtpd_sender_restrictions:\n    operations:\n"
        f"      - insert: {op}\n        at: start\n"
    )
    dirs = ["--config-dir", str(config_dir), "--state-dir", str(state)]
    before = snapshot(config_dir)
    capsys.readouterr()
    code = cli.main([*dirs, "--no-reload", "apply", "--accept-risk", "not-a-table", str(profile)])
    assert code == exitcodes.REFUSED
    said = "index postmap builds" if what == "an index" else "not a lookup table"
    assert said in capsys.readouterr().out
    assert snapshot(config_dir) == before
    # restore of the same, recorded by hand in customizations.yaml
    (state / "customizations.yaml").write_text(profile.read_text())
    assert cli.main([*dirs, "--no-reload", "restore"]) == exitcodes.REFUSED
    assert snapshot(config_dir) == before
    # check, on main.cf edited by hand the same way
    main_cf = config_dir / "main.cf"
    text = main_cf.read_text()
    assert "\nsmtpd_sender_restrictions=" in text
    main_cf.write_text(
        text.replace("\nsmtpd_sender_restrictions=", f"\nsmtpd_sender_restrictions={op},", 1)
    )
    capsys.readouterr()
    assert cli.main([*dirs, "check"]) == exitcodes.FINDINGS
    assert said in capsys.readouterr().out


def test_the_wizard_cannot_accept_a_list_that_reads_main_cf_as_a_table(tmp_path):
    """The wizard's session (and so its answers file): the finding blocks the apply and
    accepting it by name does nothing."""
    from tests.miab_setup import box

    config_dir, state = box(tmp_path, "main.cf.v75-fresh")
    session = Session.open(config_dir, state, reload=False)
    op = f"check_sender_access texthash:{config_dir / 'main.cf'}"
    apply_op(session, {"insert": op, "param": "smtpd_sender_restrictions"})
    found = [f for f in session.blocking() if f.code == "not-a-table"]
    assert found and not found[0].acceptable
    assert not session.accept(found[0])
    assert any(f.code == "not-a-table" for f in session.blocking())
