"""The wizard's path: an apply through the engine, recorded with record_change, survives an
upgrade (v66 customised through the engine → v75 setup → restore)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from pfwizard import exitcodes
from pfwizard.analyser import analyse
from pfwizard.chain import Chain, Item
from pfwizard.cli import main
from pfwizard.engine import ChangeSet, Engine, TableChange
from pfwizard.intent import IntentFile, OpKind, record_change
from pfwizard.maincf import MainCf
from tests.conftest import needs_postfix
from tests.miab_setup import (
    FIXTURES,
    HELO_RESTRICTIONS,
    SEED000_TABLE,
    SEED001_TABLE,
    box,
    release_values,
    run_setup_on,
)

SENDER, RCPT = "smtpd_sender_restrictions", "smtpd_recipient_restrictions"


@needs_postfix
def test_engine_apply_recorded_then_restored_after_v75(tmp_path):
    config_dir, state_dir = box(tmp_path)
    before = MainCf.read(config_dir / "main.cf")
    allow = config_dir / "pfwizard" / "cisco_dmarc_sender_access"
    own = config_dir / "pfwizard" / "own_domains"
    sender = Chain.parse(before.get(SENDER) or "")
    sender.insert_before(
        "reject_unknown_sender_domain", Item("check_sender_access", f"regexp:{allow}")
    )
    rcpt = Chain.parse(before.get(RCPT) or "")
    rcpt.insert_after("permit_mynetworks", Item("check_sender_access", f"hash:{own}"))
    params: dict[str, str | None] = {
        SENDER: sender.render(),
        RCPT: rcpt.render(),
        "smtpd_helo_required": "yes",
        "smtpd_helo_restrictions": HELO_RESTRICTIONS,
    }
    tables = [(str(allow), SEED000_TABLE, "regexp"), (str(own), SEED001_TABLE, "hash")]

    # The engine's gate runs before postmap, so a hash table created by this very change is
    # "missing" to the analyser (engine gap, reported): gate without that one finding.
    def gate(cf, cdir):
        return [f for f in analyse(cf, cdir) if f.code != "missing-table"]

    engine = Engine(config_dir, state_dir, reload=False, gate=gate)
    res = engine.apply(
        engine.plan(
            ChangeSet(
                "seed 000 + 001 + HELO", params, [TableChange(Path(p), c, t) for p, c, t in tables]
            )
        )
    )
    assert res.ok, res.error
    store = IntentFile.for_state_dir(state_dir)
    record_change(store, before, params, tables, {SENDER: "seed 000"})
    store.save()

    ops = store.model.chains[SENDER].operations
    assert [(o.kind, str(o.before)) for o in ops] == [
        (OpKind.INSERT, "reject_unknown_sender_domain")
    ]
    assert ops[0].why == "seed 000"
    assert store.model.parameters["smtpd_helo_required"].value == "yes"
    assert (
        main(["--config-dir", str(config_dir), "--state-dir", str(state_dir), "status"])
        == exitcodes.OK
    )

    run_setup_on(config_dir / "main.cf", release_values())
    assert (
        main(
            [
                "--config-dir",
                str(config_dir),
                "--state-dir",
                str(state_dir),
                "--no-reload",
                "restore",
                "--yes",
            ]
        )
        == exitcodes.CHANGED
    )
    old = time.time() - 10
    os.utime(config_dir / "main.cf", (old, old))
    got = subprocess.run(
        ["postconf", "-c", str(config_dir), "-h", SENDER, RCPT],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    v75 = MainCf.read(FIXTURES / "main.cf.v75-fresh")
    want_sender = Chain.parse(v75.get(SENDER) or "")
    want_sender.insert_before(
        "reject_unknown_sender_domain", Item("check_sender_access", f"regexp:{allow}")
    )
    want_rcpt = Chain.parse(v75.get(RCPT) or "")
    want_rcpt.insert_after("permit_mynetworks", Item("check_sender_access", f"hash:{own}"))
    assert [Chain.parse(v).items for v in got.splitlines()] == [want_sender.items, want_rcpt.items]
    assert len(engine.history()) == 2  # the wizard's apply and the restore, both journaled


def test_a_milter_added_by_the_admin_survives_miab_adding_its_own(tmp_path):
    from pfwizard.intent import build_plan

    before = MainCf.parse("smtpd_milters=inet:127.0.0.1:8891\n")
    store = IntentFile.load(tmp_path / "c.yaml")
    record_change(store, before, {"smtpd_milters": "inet:127.0.0.1:8891 unix:/run/clamav"})
    assert "smtpd_milters" in store.model.chains
    # v0.07 added OpenDMARC to MiaB's milters.
    after_upgrade = MainCf.parse("smtpd_milters=inet:127.0.0.1:8891 inet:127.0.0.1:8893\n")
    assert build_plan(after_upgrade, store.model).params() == {
        "smtpd_milters": "inet:127.0.0.1:8891 unix:/run/clamav inet:127.0.0.1:8893"
    }


def test_removing_a_list_parameter_is_recorded_as_a_parameter(tmp_path):
    before = MainCf.parse("smtpd_data_restrictions=reject_unauth_pipelining\n")
    store = IntentFile.load(tmp_path / "c.yaml")
    record_change(store, before, {"smtpd_data_restrictions": None})
    pi = store.model.parameters["smtpd_data_restrictions"]
    assert pi.value is None and pi.base == "reject_unauth_pipelining"
