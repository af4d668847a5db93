"""master.cf options as intent (customizations.yaml ``services:``): schema, recording, rebase
after MiaB's setup rewrote master.cf (pure: files in memory, no engine)."""

from __future__ import annotations

import pytest

from pfwizard.chain import Item
from pfwizard.intent import (
    ChainIntent,
    ConflictKind,
    IntentError,
    IntentFile,
    OpKind,
    ParameterIntent,
    Policy,
    build_plan,
    parse_text,
    record_change,
)
from pfwizard.intent.record import is_list_option
from pfwizard.intent.report import describe
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf
from tests.miab_setup import FIXTURES, release_services, run_master_setup

KEY = "authclean/unix/header_checks"
MIAB = "pcre:/etc/postfix/outgoing_mail_header_filters"
OURS = "pcre:/etc/postfix/pfwizard/forged_local_senders"
V75_MAIN = MainCf.read(FIXTURES / "main.cf.v75-fresh")
V75_MASTER = (FIXTURES / "master.cf.v75").read_text()

DOC = f"""\
version: 1
services:
  # recipe 5: forged local senders, also for logged-in users
  {KEY}:
    base: {MIAB}
    operations:
      - insert: {OURS}
        at: end
        why: seed 004   # forum thread
  submission/inet/smtpd_tls_auth_only:
    value: "yes"
    base: null
"""


def test_parses_the_services_section():
    _, model = parse_text(DOC)
    ci = model.services[KEY]
    assert isinstance(ci, ChainIntent) and ci.base is not None
    assert ci.base.names() == [MIAB]
    (op,) = ci.operations
    assert op.kind is OpKind.INSERT and op.item == Item(OURS) and op.at == "end"
    assert op.why == "seed 004"
    pi = model.services["submission/inet/smtpd_tls_auth_only"]
    assert isinstance(pi, ParameterIntent) and pi.value == "yes" and pi.has_base
    assert not model.is_empty()


def test_a_file_without_services_still_loads():
    _, model = parse_text("version: 1\nparameters:\n  smtpd_helo_required:\n    value: yes\n")
    assert model.services == {} and model.version == 1


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            "version: 1\nservices:\n  authclean/header_checks:\n    value: x\n",
            3,
            "service/type/parameter",
        ),
        (
            "version: 1\nservices:\n  authclean/tcp/header_checks:\n    value: x\n",
            3,
            "not a master.cf service type",
        ),
        (
            "version: 1\nservices:\n  authclean/unix/header_checks:\n    base: x\n",
            3,
            "'operations'",
        ),
        (
            "version: 1\nservices:\n  authclean/unix/header_checks:\n    value: x\n"
            "    operations: []\n",
            3,
            "one of them",
        ),
    ],
)
def test_services_errors_name_the_line(text, line, words):
    with pytest.raises(IntentError) as exc:
        parse_text(text)
    assert exc.value.line == line and words in str(exc.value)


def test_which_options_are_lists():
    assert is_list_option(KEY) and is_list_option("submission/inet/smtpd_client_restrictions")
    assert is_list_option("smtps/inet/smtpd_milters")
    assert not is_list_option("submission/inet/smtpd_tls_security_level")


def recorded(tmp_path) -> tuple[IntentFile, MasterCf]:
    """Recipe 5's master.cf change recorded as an apply records it; master.cf after it."""
    store = IntentFile.for_state_dir(tmp_path)
    before = MasterCf.parse(V75_MASTER)
    after = MasterCf.parse(V75_MASTER)
    after.set_option("authclean", "unix", "header_checks", f"{MIAB},{OURS}")
    record_change(
        store,
        V75_MAIN,
        {},
        master_before=before,
        master_params={KEY: f"{MIAB},{OURS}"},
        reasons={KEY: "seed 004"},
    )
    return store, after


def test_recording_keeps_the_option_as_an_insert_on_miab_s_value(tmp_path):
    store, _ = recorded(tmp_path)
    ci = store.model.services[KEY]
    assert isinstance(ci, ChainIntent) and ci.base is not None
    assert ci.base.render() == MIAB
    assert [op.describe() for op in ci.operations] == [f"insert {OURS} after {MIAB}"]
    store.save()
    text = store.path.read_text()
    assert f"  {KEY}:\n    base: {MIAB}\n" in text
    # Round trip: an admin's comment stays; undoing the change removes the entry.
    store.path.write_text(text.replace("why: seed 004", "why: seed 004   # asked Mick"))
    store = IntentFile.for_state_dir(tmp_path)
    record_change(
        store,
        V75_MAIN,
        {},
        master_before=MasterCf.parse(V75_MASTER),
        master_params={KEY: f"{MIAB},{OURS},pcre:/x"},
    )
    assert "# asked Mick" in store.dumps()
    ci = store.model.services[KEY]
    assert isinstance(ci, ChainIntent)  # two new items in a row: each after the one before
    assert [op.describe() for op in ci.operations] == [
        f"insert {OURS} after {MIAB}",
        f"insert pcre:/x after {OURS}",
    ]
    record_change(store, V75_MAIN, {}, master_params={KEY: MIAB})
    assert KEY not in store.model.services and KEY not in store.dumps()


def test_a_scalar_option_is_a_whole_value(tmp_path):
    store = IntentFile.for_state_dir(tmp_path)
    key = "submission/inet/smtpd_tls_auth_only"
    record_change(
        store, V75_MAIN, {}, master_before=MasterCf.parse(V75_MASTER), master_params={key: "yes"}
    )
    pi = store.model.services[key]
    assert isinstance(pi, ParameterIntent) and (pi.value, pi.base, pi.has_base) == (
        "yes",
        None,
        True,
    )
    back = parse_text(store.dumps())[1].services[key]
    assert isinstance(back, ParameterIntent) and (back.value, back.base) == ("yes", None)


def test_in_sync_then_missing_after_the_upgrade_then_restored(tmp_path):
    store, master = recorded(tmp_path)
    plan = build_plan(V75_MAIN, store.model, master=master)
    assert plan.in_sync and plan.master_params() == {}
    upgraded = MasterCf.parse(run_master_setup(master.to_bytes().decode(), release_services()))
    assert upgraded.get(KEY) == MIAB
    plan = build_plan(V75_MAIN, store.model, master=upgraded)
    assert not plan.in_sync and not plan.conflicts
    assert plan.master_params() == {KEY: f"{MIAB},{OURS}"}
    assert plan.params() == {}
    text = "\n".join(describe(plan))
    assert f"master.cf {KEY}: customisations missing" in text
    assert f"restored: {MIAB},{OURS}" in text
    # The rebase is recorded; nothing changes in it when MiaB's value stayed the same.
    assert plan.update_intent(store) is True


def test_miab_changing_its_table_keeps_ours_after_it(tmp_path):
    store, _ = recorded(tmp_path)
    services = release_services()
    services["authclean"] = services["authclean"].replace(MIAB, f"{MIAB},pcre:/etc/new")
    upgraded = MasterCf.parse(run_master_setup(V75_MASTER, services))
    plan = build_plan(V75_MAIN, store.model, master=upgraded)
    assert plan.master_params() == {KEY: f"{MIAB},{OURS},pcre:/etc/new"}
    assert "MiaB added: pcre:/etc/new" in "\n".join(describe(plan))
    plan.update_intent(store)
    ci = store.model.services[KEY]
    assert isinstance(ci, ChainIntent) and ci.base is not None
    assert ci.base.names() == [MIAB, "pcre:/etc/new"]


def test_service_gone_is_a_conflict_never_a_guess(tmp_path):
    store, _ = recorded(tmp_path)
    services = release_services()
    del services["authclean"]
    gone = V75_MASTER[: V75_MASTER.index("authclean unix")]
    upgraded = MasterCf.parse(run_master_setup(gone, services))
    plan = build_plan(V75_MAIN, store.model, master=upgraded)
    (conflict,) = plan.conflicts
    assert conflict.kind is ConflictKind.SERVICE_GONE and conflict.parameter == KEY
    assert "no authclean unix service" in str(conflict)
    assert plan.master_params() == {}
    skip = build_plan(V75_MAIN, store.model, Policy.SKIP, master=upgraded)
    skip.update_intent(store)
    assert KEY in store.model.services  # kept, to decide later
    keep = build_plan(V75_MAIN, store.model, Policy.KEEP_MIAB, master=upgraded)
    keep.update_intent(store)
    ci = store.model.services[KEY]  # kept, decided: waits for the service to come back
    assert isinstance(ci, ChainIntent) and ci.kept_miab and ci.base is not None
    assert ci.base.render() == MIAB and "decided: keep-miab" in store.dumps()
    again = build_plan(V75_MAIN, store.model, master=upgraded)
    assert again.in_sync and not again.conflicts and again.master_params() == {}


def test_miab_no_longer_setting_the_option_is_a_conflict(tmp_path):
    store, _ = recorded(tmp_path)
    services = release_services()
    services["authclean"] = services["authclean"].replace(f"\n\t  -o header_checks={MIAB}", "")
    upgraded = MasterCf.parse(run_master_setup(V75_MASTER, services))
    assert upgraded.get(KEY) is None
    plan = build_plan(V75_MAIN, store.model, master=upgraded)
    assert [c.kind for c in plan.conflicts] == [ConflictKind.OPTION_GONE]
    assert plan.master_params() == {}


def test_scalar_option_changed_by_miab_is_a_conflict(tmp_path):
    store = IntentFile.for_state_dir(tmp_path)
    key = "submission/inet/smtpd_tls_security_level"
    record_change(
        store, V75_MAIN, {}, master_before=MasterCf.parse(V75_MASTER), master_params={key: "may"}
    )
    services = release_services()
    services["submission"] = services["submission"].replace("=encrypt", "=dane")
    upgraded = MasterCf.parse(run_master_setup(V75_MASTER, services))
    plan = build_plan(V75_MAIN, store.model, master=upgraded)
    assert [c.kind for c in plan.conflicts] == [ConflictKind.PARAMETER_CHANGED]
    # MiaB kept its value: the customisation simply goes back.
    plan = build_plan(V75_MAIN, store.model, master=MasterCf.parse(V75_MASTER))
    assert not plan.conflicts and plan.master_params() == {key: "may"}


def test_without_master_cf_the_services_are_left_alone_or_reported_gone(tmp_path):
    from pfwizard.intent.context import read_master

    store, _ = recorded(tmp_path)
    assert build_plan(V75_MAIN, store.model).master_chains == []  # master.cf not looked at
    missing = read_master(tmp_path / "nowhere")
    plan = build_plan(V75_MAIN, store.model, master=missing)
    assert [c.kind for c in plan.conflicts] == [ConflictKind.SERVICE_GONE]


def test_miab_replacing_its_table_under_our_anchor_is_a_conflict(tmp_path):
    store, _ = recorded(tmp_path)
    services = release_services()
    services["authclean"] = services["authclean"].replace(MIAB, "pcre:/etc/postfix/other")
    upgraded = MasterCf.parse(run_master_setup(V75_MASTER, services))
    plan = build_plan(V75_MAIN, store.model, master=upgraded)
    (conflict,) = plan.conflicts
    assert conflict.kind is ConflictKind.ANCHOR_GONE and conflict.parameter == KEY
    assert plan.master_params() == {}
    skip = build_plan(V75_MAIN, store.model, Policy.SKIP, master=upgraded)
    assert skip.master_params() == {} and skip.conflicts
