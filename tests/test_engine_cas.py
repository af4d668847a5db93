"""Compare-and-swap at the write: a file that changes while pfwizard validates (2-3 s on a
real box) is never overwritten; the change is refused (exit 4) and what was already renamed in
is put back, so the other editor's line survives and nothing of pfwizard's stays.

The config directory is a private bench instance's, not started: nothing here reloads.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pfwizard import cli, exitcodes
from pfwizard.engine import ChangeSet, Engine, PostfixTools, TableChange
from pfwizard.engine.journal import REFUSED
from pfwizard.intent import IntentFile
from pfwizard.intent.store import IntentChanged
from tests.bench.instance import PostfixInstance
from tests.conftest import needs_bench
from tests.test_engine_support import backdate, snapshot, state_dir

APPENDED = b"# added by MiaB's setup while pfwizard was validating\n"


@pytest.fixture
def cfg() -> Iterator[Path]:
    inst = PostfixInstance()
    inst.make_queue_dirs()
    backdate(inst.config_dir)
    yield inst.config_dir
    shutil.rmtree(inst.root, ignore_errors=True)


@pytest.fixture
def state() -> Iterator[Path]:
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


class MeddlingTools(PostfixTools):
    """While ``postfix check`` runs on the staged copy, someone edits a live file."""

    def __init__(self, meddle) -> None:
        super().__init__(30)
        self.meddle = meddle

    def check(self, config_dir: Path):
        self.meddle()
        return super().check(config_dir)


def table_change(cfg: Path, map_type: str = "cidr") -> ChangeSet:
    table = cfg / "pfwizard" / "clients"
    return ChangeSet(
        "allow a client",
        {"smtpd_client_restrictions": f"check_client_access {map_type}:{table}"},
        [TableChange(Path("pfwizard/clients"), "127.0.0.9 OK\n", map_type)],
    )


@needs_bench
def test_main_cf_changed_during_validation_is_refused_and_kept(cfg, state):
    before = snapshot(cfg)
    main = cfg / "main.cf"
    tools = MeddlingTools(lambda: main.write_bytes(main.read_bytes() + APPENDED))
    eng = Engine(cfg, state, tools=tools, gate=lambda cf, d: [], reload=False)
    res = eng.apply(eng.plan(table_change(cfg)))
    assert not res.ok and res.refused and res.outcome == REFUSED
    assert f"{main} changed while pfwizard was checking" in (res.error or "")
    assert main.read_bytes() == before["main.cf"][0] + APPENDED
    # The table was renamed in before main.cf's turn came: it was taken out again.
    after = snapshot(cfg)
    assert set(after) == set(before)
    assert {k: v for k, v in after.items() if k != "main.cf"} == {
        k: v for k, v in before.items() if k != "main.cf"
    }
    [entry] = eng.history()
    assert entry.outcome == REFUSED
    assert eng.recover() == []  # nothing left in progress for a later start to undo


@needs_bench
def test_a_table_changed_during_validation_is_refused(cfg, state):
    (cfg / "pfwizard").mkdir()
    table = cfg / "pfwizard" / "clients"
    table.write_text("127.0.0.8 OK\n")
    backdate(cfg)
    before = snapshot(cfg)
    tools = MeddlingTools(lambda: table.write_text("127.0.0.8 OK\n127.0.0.7 REJECT\n"))
    eng = Engine(cfg, state, tools=tools, gate=lambda cf, d: [], reload=False)
    res = eng.apply(eng.plan(table_change(cfg)))
    assert res.refused and str(table) in (res.error or "")
    assert table.read_text() == "127.0.0.8 OK\n127.0.0.7 REJECT\n"
    assert (cfg / "main.cf").read_bytes() == before["main.cf"][0]


@needs_bench
def test_an_index_changed_during_validation_is_refused(cfg, state):
    """A hash table's .db rebuilt by someone else meanwhile (postmap by hand)."""
    own = cfg / "pfwizard"
    own.mkdir()
    (own / "clients").write_text("127.0.0.8 OK\n")
    PostfixTools(30).postmap(cfg, "hash", own / "clients")
    backdate(cfg)
    db = own / "clients.db"

    def rebuild() -> None:
        (own / "other").write_text("127.0.0.6 OK\n")
        PostfixTools(30).postmap(cfg, "hash", own / "other")
        (own / "other.db").replace(db)

    eng = Engine(cfg, state, tools=MeddlingTools(rebuild), gate=lambda cf, d: [], reload=False)
    plan = eng.plan(table_change(cfg, "hash"))
    res = eng.apply(plan)
    assert res.refused and f"{db} changed" in (res.error or "")
    assert (own / "clients").read_text() == "127.0.0.8 OK\n"
    assert b"127.0.0.6" in db.read_bytes()


@needs_bench
def test_apply_refuses_with_exit_4_when_main_cf_moves_during_validation(
    cfg, state, tmp_path, capsys
):
    """The installed command's road: an editor appends to main.cf while validation runs
    (seen as the staged copy appearing in the state directory)."""
    main = cfg / "main.cf"
    original = main.read_bytes()
    profile = tmp_path / "profile.yaml"
    profile.write_text('version: 1\nparameters:\n  smtpd_helo_required:\n    value: "yes"\n')
    done = threading.Event()

    def meddle() -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(state.glob("stage-*/etc/main.cf")):
            time.sleep(0.001)
        main.write_bytes(original + APPENDED)
        done.set()

    t = threading.Thread(target=meddle, daemon=True)
    t.start()
    code = cli.main(
        ["apply", str(profile), "--config-dir", str(cfg), "--state-dir", str(state), "--no-reload"]
    )
    t.join(5)
    out = capsys.readouterr().out
    assert done.is_set()
    assert code == exitcodes.REFUSED, out
    assert "changed while pfwizard was checking" in out
    assert main.read_bytes() == original + APPENDED
    assert not IntentFile.for_state_dir(state).model.parameters  # nothing recorded either


def test_customizations_yaml_changed_since_read_is_not_overwritten(tmp_path):
    path = tmp_path / "customizations.yaml"
    path.write_text("version: 1\n")
    store = IntentFile.load(path)
    store.set_release("v75")
    path.write_text("version: 1\n# the admin's note\n")
    with pytest.raises(IntentChanged, match="changed since pfwizard read it"):
        store.save()
    assert path.read_text() == "version: 1\n# the admin's note\n"
    # Created meanwhile (pfwizard read "no file") counts too.
    other = IntentFile.load(tmp_path / "new.yaml")
    (tmp_path / "new.yaml").write_text("version: 1\n")
    with pytest.raises(IntentChanged):
        other.save()
    # Unchanged: saved, and the next save of the same object works too.
    fresh = IntentFile.load(path)
    fresh.set_release("v75")
    fresh.save()
    fresh.set_release("v76")
    fresh.save()
    assert "v76" in path.read_text()
