"""The apply engine on the real-Postfix bench: seed 000's change applied, rolled back, refused.

Every test uses seed 000's change (main.cf sender chain + a regexp and a hash table) unless it
is about something else; the main ones add recipe 5's master.cf edit (authclean's
header_checks, on the bench's submission path) to it.  Mtimes are backdated before each
reload (``before_reload``) so the suite does not wait out Postfix's 2 s cool-down; the
benchmark measures it instead.
"""

from __future__ import annotations

import grp
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pfwizard.engine import (
    ChangeSet,
    Engine,
    Locked,
    TableChange,
    UnsafePath,
    lock,
)
from pfwizard.engine.journal import APPLIED, REFUSED
from tests.conftest import needs_bench
from tests.test_engine_support import (
    AUTHCLEAN_CHECKS,
    HASH_REL,
    REGEXP_REL,
    SEED_TABLE,
    backdate,
    seed000_and_authclean,
    seed000_changeset,
    snapshot,
    state_dir,
    submission_verdict,
    verdicts,
)


def no_gate(cf, config_dir):
    return []


@pytest.fixture
def state():
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def make_engine(bench, state: Path, **kw) -> Engine:
    kw.setdefault("gate", no_gate)
    eng = Engine(bench.config_dir, state, restart=bench.restart, **kw)
    eng.before_reload = lambda: backdate(bench.config_dir)
    return eng


@pytest.fixture
def miab(bench):
    """The bench running MiaB v75's chains, as seed 000's admin had it, with MiaB's submission
    path (authclean)."""
    bench.configure_miab("main.cf.v75-fresh")
    bench.enable_submission()
    return bench


# ---- plan ----------------------------------------------------------------------------------
@needs_bench
def test_plan_shows_a_diff_per_file_and_writes_nothing(miab, state):
    before = snapshot(miab.config_dir)
    plan = make_engine(miab, state).plan(seed000_changeset(miab.config_dir))
    assert not plan.is_empty
    roles = [f.role for f in plan.files]
    # Tables first: main.cf never names a table that does not exist yet.
    assert roles == ["table", "table", "main.cf"]
    diff = plan.unified_diff()
    assert "+/^MAILER-DAEMON@esa[0-9]*" in diff and "+commscope.com OK" in diff
    assert "-smtpd_sender_restrictions = reject_non_fqdn_sender,reject_unknown" in diff
    assert snapshot(miab.config_dir) == before
    assert not (state / "journal").exists()


@needs_bench
def test_an_empty_change_is_empty(miab, state):
    eng = make_engine(miab, state)
    cf = (miab.config_dir / "main.cf").read_text()
    value = next(ln.split(" = ", 1)[1] for ln in cf.splitlines() if ln.startswith("mynetworks"))
    plan = eng.plan(ChangeSet("same", {"mynetworks": value}, []))
    assert plan.is_empty
    res = eng.apply(plan)
    assert res.ok and res.entry_id is None and res.outcome == "unchanged"


@needs_bench
def test_paths_outside_the_config_dir_are_refused(miab, state, tmp_path):
    eng = make_engine(miab, state)
    with pytest.raises(UnsafePath):
        eng.plan(ChangeSet("x", {}, [TableChange(tmp_path / "evil", "a b\n", "hash")]))
    with pytest.raises(UnsafePath):
        eng.plan(ChangeSet("x", {}, [TableChange(Path("../evil"), "a b\n", "hash")]))
    link = miab.config_dir / "escape"
    link.symlink_to(tmp_path / "outside")
    with pytest.raises(UnsafePath, match="symlink"):
        eng.plan(ChangeSet("x", {}, [TableChange(Path("escape"), "a b\n", "hash")]))
    # A symlink that stays inside the config directory is fine: the target gets written.
    inside = miab.config_dir / "pfwizard"
    inside.mkdir()
    (miab.config_dir / "alias_to_inside").symlink_to(inside / "real_table")
    plan = eng.plan(
        ChangeSet("x", {}, [TableChange(Path("alias_to_inside"), "a OK\n", "texthash")])
    )
    assert plan.files[0].path == (inside / "real_table").resolve()


# ---- apply and rollback --------------------------------------------------------------------
@needs_bench
def test_seed000_apply_then_rollback(miab, state):
    assert verdicts(miab) == (450, 450) and submission_verdict(miab) == 250
    before = snapshot(miab.config_dir)
    eng = make_engine(miab, state)
    events = []
    plan = eng.plan(seed000_and_authclean(miab.config_dir))
    assert sorted(f.role for f in plan.files) == ["main.cf", "master.cf", "table", "table", "table"]
    assert "  -o header_checks=pcre:" in plan.unified_diff()
    res = eng.apply(plan, progress=events.append)
    assert res.ok, res.error
    assert res.outcome == APPLIED
    assert verdicts(miab) == (250, 250) and submission_verdict(miab) == 550
    # Postfix's own view of the live master.cf: MiaB's filter first, then the new table.
    assert miab.instance.postconf("-P", AUTHCLEAN_CHECKS).split(" = ")[1].split(",") == [
        f"pcre:{miab.config_dir}/outgoing_mail_header_filters",
        f"pcre:{miab.config_dir}/pfwizard/forged_local_senders\n",
    ]
    steps = [(e.step, e.status) for e in events]
    for want in [
        ("guard", "ok"),
        ("check", "ok"),
        ("postconf", "ok"),
        ("backup", "ok"),
        ("write", "ok"),
        ("reload", "ok"),
        ("serve", "ok"),
    ]:
        assert want in steps
    assert steps.index(("backup", "ok")) < steps.index(("write", "start"))
    # The changed cleanup service was asked too, after the reload.
    assert any(
        e.step == "serve" and e.status == "ok" and e.detail.startswith("public/authclean: greets")
        for e in events
    )
    assert "refreshing the Postfix mail system" in res.postfix_output
    assert (miab.config_dir / "pfwizard" / "dmarc_sender_domains.db").exists()
    assert (miab.config_dir / "pfwizard").stat().st_mode & 0o777 == 0o755
    # No temp file left behind.
    assert not list(miab.config_dir.rglob(".pfwizard-tmp-*"))

    [entry] = eng.history()
    assert entry.id == res.entry_id and entry.kind == "apply" and entry.outcome == APPLIED
    assert entry.intent == {"seed": "000"} and entry.diff_available
    assert "+/^MAILER-DAEMON@esa[0-9]*" in (eng.diff(entry.id) or "")
    by_role = {Path(f.path).name: f for f in entry.files}
    assert by_role["main.cf"].existed and by_role["main.cf"].sha256_after
    assert by_role["master.cf"].role == "master.cf" and by_role["master.cf"].sha256_after
    assert not by_role["dmarc_sender_domains.db"].existed
    assert by_role["dmarc_sender_domains.db"].sha256_after  # built by postmap

    back = eng.rollback(entry.id)
    assert back.ok, back.error
    assert snapshot(miab.config_dir).keys() - {"pfwizard"} == before.keys()
    assert snapshot(miab.config_dir) == before
    assert verdicts(miab) == (450, 450) and submission_verdict(miab) == 250
    hist = eng.history()
    assert [e.kind for e in hist] == ["apply", "rollback"]
    assert hist[0].rolled_back_by == back.entry_id and hist[1].rollback_of == entry.id

    # A rollback is itself journaled, so it can be undone: the change comes back.
    again = eng.rollback(back.entry_id)
    assert again.ok, again.error
    assert verdicts(miab) == (250, 250) and submission_verdict(miab) == 550


@needs_bench
def test_owner_mode_and_comments_are_kept(miab, state):
    main_cf = miab.config_dir / "main.cf"
    text = main_cf.read_text()
    # Written aside and renamed in: a Postfix process must never read half a main.cf.
    tmp = main_cf.with_name("main.cf.new")
    tmp.write_text("# Mail-in-a-Box main.cf: an admin's comment\n" + text + "# trailing comment\n")
    postfix_gid = grp.getgrnam("postfix").gr_gid
    os.chown(tmp, 0, postfix_gid)
    os.chmod(tmp, 0o640)
    backdate(miab.config_dir)
    tmp.rename(main_cf)
    table = miab.config_dir / REGEXP_REL
    table.parent.mkdir()
    table.write_text("# old table\n/nothing/ DUNNO\n")
    os.chmod(table, 0o600)
    master_cf = miab.config_dir / "master.cf"
    master_cf.write_text("# master.cf: an admin's comment\n" + master_cf.read_text())
    os.chown(master_cf, 0, postfix_gid)
    os.chmod(master_cf, 0o640)
    backdate(miab.config_dir)
    eng = make_engine(miab, state)
    res = eng.apply(eng.plan(seed000_and_authclean(miab.config_dir)))
    assert res.ok, res.error
    for cf in (main_cf, master_cf):
        st = cf.stat()
        assert (st.st_mode & 0o777, st.st_uid, st.st_gid) == (0o640, 0, postfix_gid), cf
    assert master_cf.read_text().startswith("# master.cf: an admin's comment\n")
    assert table.stat().st_mode & 0o777 == 0o600
    new = main_cf.read_text()
    assert new.startswith("# Mail-in-a-Box main.cf: an admin's comment\n")
    assert new.endswith("# trailing comment\n")
    assert table.read_text() == SEED_TABLE
    # A new index gets its table's owner and mode (it holds the same data).
    hash_src = miab.config_dir / HASH_REL
    index = hash_src.with_name(hash_src.name + ".db")
    assert index.stat().st_mode & 0o777 == hash_src.stat().st_mode & 0o777 == 0o644


# ---- guard ---------------------------------------------------------------------------------
@needs_bench
@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("main.cf", "# edited by mailinabox setup\nmessage_size_limit = 134217728\n"),
        ("master.cf", "# edited by mailinabox setup\n  -o smtpd_tls_wrappermode=yes\n"),
    ],
)
def test_file_edited_meanwhile_is_refused_and_the_edit_survives(miab, state, name, edit):
    eng = make_engine(miab, state)
    plan = eng.plan(seed000_and_authclean(miab.config_dir))
    # MiaB's setup runs between plan and apply.
    with (miab.config_dir / name).open("a") as fh:
        fh.write(edit)
    edited = snapshot(miab.config_dir)
    res = eng.apply(plan)
    assert not res.ok and res.refused
    assert "changed since" in (res.error or "")
    assert f"+{edit.splitlines()[-1]}" in (res.error or "")  # shows what changed
    assert snapshot(miab.config_dir) == edited
    [entry] = eng.history()
    assert entry.outcome == REFUSED and entry.files == []


@needs_bench
def test_one_pfwizard_at_a_time(miab, state):
    eng = make_engine(miab, state)
    plan = eng.plan(seed000_changeset(miab.config_dir))
    before = snapshot(miab.config_dir)
    state.mkdir(exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from pfwizard.engine import lock\n"
            f"with lock.hold(Path({str(state)!r})):\n"
            "    print('locked', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        res = eng.apply(plan)
        assert res.refused and "another pfwizard is running" in (res.error or "")
        assert f"pid {holder.pid}" in (res.error or "")
        with pytest.raises(Locked), lock.hold(state):
            pass
    finally:
        holder.kill()
        holder.wait()
    assert snapshot(miab.config_dir) == before


@needs_bench
def test_rollback_refuses_when_files_changed_after_the_entry(miab, state):
    eng = make_engine(miab, state)
    res = eng.apply(eng.plan(seed000_changeset(miab.config_dir)))
    assert res.ok
    table = miab.config_dir / REGEXP_REL
    table.write_text(SEED_TABLE + "/other/ PERMIT\n")
    back = eng.rollback(res.entry_id)
    assert back.refused and "changed after entry" in (back.error or "")
    assert table.read_text().endswith("/other/ PERMIT\n")


@needs_bench
def test_a_lost_index_is_rebuilt_and_a_second_apply_is_empty(miab, state):
    eng = make_engine(miab, state)
    assert eng.apply(eng.plan(seed000_changeset(miab.config_dir))).ok
    # The change is in force: the same change set now plans nothing.
    cs = seed000_changeset(miab.config_dir)
    cs.params = {}
    assert eng.plan(cs).is_empty
    index = miab.config_dir / "pfwizard" / "dmarc_sender_domains.db"
    index.unlink()
    plan = eng.plan(cs)
    assert not plan.is_empty and "is missing: rebuild" in plan.unified_diff()
    res = eng.apply(plan)
    assert res.ok, res.error
    assert index.exists() and verdicts(miab) == (250, 250)


@needs_bench
def test_no_write_permission_is_refused(miab, state):
    eng = make_engine(miab, state)
    plan = eng.plan(seed000_changeset(miab.config_dir))
    before = snapshot(miab.config_dir)
    os.seteuid(65534)  # pfwizard run without sudo
    try:
        res = eng.apply(plan)
    finally:
        os.seteuid(0)
    assert res.refused and "sudo" in (res.error or "")
    assert snapshot(miab.config_dir) == before
