"""Three-way rebase: MiaB's value now, the base, the admin's operations (pure MainCf)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pfwizard.chain import Chain, Item
from pfwizard.intent import (
    ChainIntent,
    ChainState,
    ConflictKind,
    Customisations,
    IntentFile,
    Operation,
    OpKind,
    Policy,
    build_plan,
    diff_chains,
    replay,
)
from pfwizard.maincf import MainCf
from tests.miab_setup import FIXTURES, box, customise, release_values, run_setup

V75 = MainCf.read(FIXTURES / "main.cf.v75-fresh")
SENDER, RCPT = "smtpd_sender_restrictions", "smtpd_recipient_restrictions"


def upgraded(tmp_path):
    config_dir, state_dir = box(tmp_path)
    customise(config_dir, state_dir)
    text = run_setup((config_dir / "main.cf").read_text(), release_values())
    return MainCf.parse(text), IntentFile.for_state_dir(state_dir), config_dir


def test_rebase_keeps_v75_and_puts_the_admin_items_at_their_anchors(tmp_path):
    cf, store, config_dir = upgraded(tmp_path)
    plan = build_plan(cf, store.model)
    assert not plan.in_sync and not plan.conflicts
    states = {c.parameter: c.states() for c in plan.chains}
    assert ChainState.BASE_CHANGED in states[SENDER] and ChainState.MISSING in states[SENDER]
    params = plan.params()
    sender = Chain.parse(V75.get(SENDER) or "")
    sender.insert_before(
        "reject_unknown_sender_domain",
        Item("check_sender_access", f"regexp:{config_dir}/pfwizard/cisco_dmarc_sender_access"),
    )
    rcpt = Chain.parse(V75.get(RCPT) or "")
    rcpt.insert_after(
        "permit_mynetworks", Item("check_sender_access", f"hash:{config_dir}/pfwizard/own_domains")
    )
    assert params == {SENDER: sender.render(), RCPT: rcpt.render()}
    # v68's return-code filters and v73's quota policy are kept.
    assert "zen.spamhaus.org=127.0.0.[2..11]" in params[RCPT]
    assert params[RCPT].endswith("check_policy_service inet:127.0.0.1:12340")
    assert "dbl.spamhaus.org=127.0.1.[2..99]" in params[SENDER]
    # HELO hardening: MiaB never sets it, so it survived.
    assert all(p.in_sync for p in plan.parameters)


def test_after_recording_the_rebase_a_second_plan_is_in_sync(tmp_path):
    cf, store, _ = upgraded(tmp_path)
    plan = build_plan(cf, store.model)
    for name, value in plan.params().items():
        cf.set(name, value or "")
    assert plan.update_intent(store, "v75")
    store.save()
    again = build_plan(cf, IntentFile.load(store.path).model)
    assert [c.states() for c in again.chains] == [[ChainState.IN_SYNC]] * 2
    assert again.params() == {}
    assert IntentFile.load(store.path).model.miab_release == "v75"


def test_anchor_gone_is_a_conflict_and_nothing_is_planned():
    cust = Customisations(
        chains={
            SENDER: ChainIntent(
                SENDER,
                Chain.parse("a,b,c"),
                [Operation(OpKind.INSERT, Item("permit_mynetworks"), before=Item("b"))],
            )
        }
    )
    cf = MainCf.parse(f"{SENDER}=a,c\n")
    plan = build_plan(cf, cust)
    (conflict,) = plan.conflicts
    assert conflict.kind is ConflictKind.ANCHOR_GONE
    assert "'b' is no longer in the list" in conflict.message
    assert plan.params() == {}
    skip = build_plan(cf, cust, Policy.SKIP)
    assert skip.params() == {} and skip.conflicts


def test_miab_shipping_the_item_elsewhere_is_a_conflict_in_place_it_is_a_note():
    op = Operation(OpKind.INSERT, Item("x"), before=Item("b"))
    cust = Customisations(chains={SENDER: ChainIntent(SENDER, Chain.parse("a,b"), [op])})
    elsewhere = build_plan(MainCf.parse(f"{SENDER}=a,b,x\n"), cust)
    assert [c.kind for c in elsewhere.conflicts] == [ConflictKind.MIAB_SHIPS_ITEM]
    in_place = build_plan(MainCf.parse(f"{SENDER}=x,a,b,c\n"), cust)
    assert not in_place.conflicts and in_place.params() == {}
    assert any("'x' is already where you wanted it" in n for n in in_place.notes)


def test_removing_what_miab_changed_is_a_conflict():
    op = Operation(OpKind.REMOVE, Item("reject_rbl_client", "zen.spamhaus.org"))
    cust = Customisations(
        chains={
            RCPT: ChainIntent(
                RCPT, Chain.parse("permit_mynetworks,reject_rbl_client zen.spamhaus.org"), [op]
            )
        }
    )
    cf = MainCf.parse(f"{RCPT}=permit_mynetworks,reject_rbl_client zen.spamhaus.org=127.0.0.2\n")
    plan = build_plan(cf, cust)
    assert [c.kind for c in plan.conflicts] == [ConflictKind.REMOVED_CHANGED]
    assert "remove that too (remove-new) or keep it (keep-miab)?" in str(plan.conflicts[0])
    keep = build_plan(cf, cust, Policy.KEEP_MIAB)
    assert keep.params() == {} and [c.kind for c in keep.decided] == [ConflictKind.REMOVED_CHANGED]
    store = IntentFile(FIXTURES / "none.yaml", None, cust)
    assert keep.update_intent(store)
    # The decision is recorded on the operation, the base moves forward: not asked again.
    (recorded,) = store.model.chains[RCPT].operations
    assert recorded.keep == Item("reject_rbl_client", "zen.spamhaus.org=127.0.0.2")
    assert "keep: reject_rbl_client zen.spamhaus.org=127.0.0.2" in store.dumps()
    again = build_plan(cf, store.model)
    assert again.in_sync and not again.conflicts


def test_remove_new_removes_miabs_new_form_and_stays_decided():
    op = Operation(OpKind.REMOVE, Item("reject_rbl_client", "zen.spamhaus.org"))
    cust = Customisations(
        chains={
            RCPT: ChainIntent(
                RCPT, Chain.parse("permit_mynetworks,reject_rbl_client zen.spamhaus.org"), [op]
            )
        }
    )
    cf = MainCf.parse(f"{RCPT}=permit_mynetworks,reject_rbl_client zen.spamhaus.org=127.0.0.2\n")
    plan = build_plan(cf, cust, Policy.REMOVE_NEW)
    assert not plan.conflicts and not plan.left_open
    assert plan.params() == {RCPT: "permit_mynetworks"}
    store = IntentFile(FIXTURES / "none.yaml", None, cust)
    assert plan.update_intent(store)
    ci = store.model.chains[RCPT]
    assert ci.base == Chain.parse(cf.get(RCPT) or "")  # the base moved forward
    assert ci.operations[0].also_remove == Item("reject_rbl_client", "zen.spamhaus.org=127.0.0.2")
    done = MainCf.parse(f"{RCPT}=permit_mynetworks\n")
    assert build_plan(done, store.model).in_sync
    # MiaB's next release writes its value back: restored without a question.
    again = build_plan(cf, store.model)
    assert not again.conflicts and again.params() == {RCPT: "permit_mynetworks"}
    # A third form is a new change: asked again.
    third = MainCf.parse(f"{RCPT}=permit_mynetworks,reject_rbl_client zen.spamhaus.org=127.0.0.3\n")
    assert [c.kind for c in build_plan(third, store.model).conflicts] == [
        ConflictKind.REMOVED_CHANGED
    ]


def test_remove_new_leaves_other_conflicts_open_and_keeps_the_base():
    zen = Operation(OpKind.REMOVE, Item("reject_rbl_client", "zen.spamhaus.org"))
    ins = Operation(OpKind.INSERT, Item("x"), before=Item("gone_anchor"))
    base = Chain.parse("permit_mynetworks,gone_anchor,reject_rbl_client zen.spamhaus.org")
    cust = Customisations(chains={RCPT: ChainIntent(RCPT, base, [zen, ins])})
    cf = MainCf.parse(f"{RCPT}=permit_mynetworks,reject_rbl_client zen.spamhaus.org=127.0.0.2\n")
    plan = build_plan(cf, cust, Policy.REMOVE_NEW)
    assert [c.kind for c in plan.left_open] == [ConflictKind.ANCHOR_GONE]
    assert plan.params() == {RCPT: "permit_mynetworks"}
    store = IntentFile(FIXTURES / "none.yaml", None, cust)
    assert plan.update_intent(store)
    ci = store.model.chains[RCPT]
    assert ci.base == base and ci.operations[0].also_remove is not None
    later = build_plan(MainCf.parse(f"{RCPT}=permit_mynetworks\n"), store.model)
    assert [c.kind for c in later.conflicts] == [ConflictKind.ANCHOR_GONE]


def test_a_changed_anchor_argument_is_followed_with_a_note():
    op = Operation(
        OpKind.INSERT,
        Item("check_sender_access", "hash:/x"),
        before=Item("reject_rbl_client", "zen.spamhaus.org"),
    )
    cust = Customisations(
        chains={
            RCPT: ChainIntent(
                RCPT, Chain.parse("permit_mynetworks,reject_rbl_client zen.spamhaus.org"), [op]
            )
        }
    )
    cf = MainCf.parse(f"{RCPT}=permit_mynetworks,reject_rbl_client zen.spamhaus.org=127.0.0.2\n")
    plan = build_plan(cf, cust)
    assert plan.params() == {
        RCPT: "permit_mynetworks,check_sender_access hash:/x,"
        "reject_rbl_client zen.spamhaus.org=127.0.0.2"
    }
    assert any("MiaB changed its argument" in n for n in plan.notes)


def test_parameter_changed_under_the_customisation_is_a_conflict():
    from pfwizard.intent import ParameterIntent

    cust = Customisations(
        parameters={
            "message_size_limit": ParameterIntent(
                "message_size_limit", "50000000", "134217728", True
            )
        }
    )
    assert build_plan(MainCf.parse("message_size_limit=134217728\n"), cust).params() == {
        "message_size_limit": "50000000"
    }
    plan = build_plan(MainCf.parse("message_size_limit=99\n"), cust)
    assert [c.kind for c in plan.conflicts] == [ConflictKind.PARAMETER_CHANGED]
    assert plan.params() == {}


def test_glued_lines_are_repaired_by_the_rebase(tmp_path):
    before = MainCf.read(FIXTURES / "main.cf.customized-before-v75-setup")
    store = IntentFile.load(tmp_path / "c.yaml")
    from pfwizard.intent import record_chain

    for name in (SENDER, RCPT):
        record_chain(
            store, name, Chain.parse(V75.get(name) or ""), Chain.parse(before.get(name) or "")
        )
    after = MainCf.read(FIXTURES / "main.cf.customized-after-v75-setup")
    assert after.glued_continuations()
    plan = build_plan(after, store.model)
    sender = next(c for c in plan.chains if c.parameter == SENDER)
    assert ChainState.GLUED in sender.states()
    for name, value in plan.params().items():
        after.set(name, value or "")
    assert after.glued_continuations() == []
    for name in (SENDER, RCPT):
        assert Chain.parse(after.get(name) or "").items == Chain.parse(before.get(name) or "").items


def test_glued_lines_without_a_record_need_a_decision():
    after = MainCf.read(FIXTURES / "main.cf.customized-after-v75-setup")
    plan = build_plan(after, Customisations())
    assert [c.kind for c in plan.conflicts] == [ConflictKind.GLUED_UNCAPTURED]
    keep = build_plan(after, Customisations(), Policy.KEEP_MIAB)
    assert keep.params() == {SENDER: V75.get(SENDER)}


ITEMS = st.sampled_from(
    [Item(n) for n in "abcdefg"]
    + [Item("reject_rbl_client", "z"), Item("reject_rbl_client", "z=2")]
)


@given(st.lists(ITEMS, unique=True, max_size=7), st.lists(ITEMS, unique=True, max_size=7))
def test_recorded_operations_replay_to_the_admin_target(base, target):
    ops = diff_chains(SENDER, Chain(base), Chain(target))
    assert replay(SENDER, Chain(base), ops).result.items == target


MIAB_NEW = st.sampled_from(
    [Item("m1"), Item("m2"), Item("check_policy_service", "q"), Item("reject_rbl_client", "z=3")]
)


@given(
    st.lists(ITEMS, unique=True, max_size=6),
    st.lists(ITEMS, unique=True, max_size=6),
    st.lists(MIAB_NEW, unique=True, max_size=3),
    st.data(),
)
def test_rebase_keeps_what_miab_added_and_places_or_reports_every_insert(base, target, added, data):
    ops = diff_chains(SENDER, Chain(base), Chain(target))
    # MiaB's next release: drops some of its items, adds new ones at random places.
    now = [i for i in base if data.draw(st.booleans())]
    for item in added:
        now.insert(data.draw(st.integers(0, len(now))), item)
    out = replay(SENDER, Chain(now), ops, base=Chain(base), miab_now=Chain(now))
    result = out.result.items
    removed_by_admin = {o.item for o in ops if o.kind is OpKind.REMOVE}
    for item in now:
        if item not in base or item not in removed_by_admin:
            assert item in result or any(o.kind is OpKind.CHANGE and o.item == item for o in ops), (
                item,
                ops,
            )
    failed = {o.to if o.kind is OpKind.CHANGE else o.item for o in out.conflicting}
    for item in target:
        if item not in base and item not in failed:
            assert item in result
    assert len(result) == len(set(result)) or len(now) != len(set(now))


def test_another_list_of_the_same_restriction_is_not_a_new_form():
    """Removing spamcop is not a question about zen: both are reject_rbl_client."""
    op = Operation(OpKind.REMOVE, Item("reject_rbl_client", "bl.spamcop.net"))
    cust = Customisations(
        chains={
            RCPT: ChainIntent(
                RCPT,
                Chain.parse(
                    "permit_mynetworks,reject_rbl_client zen.spamhaus.org,"
                    "reject_rbl_client bl.spamcop.net"
                ),
                [op],
            )
        }
    )
    cf = MainCf.parse(f"{RCPT}=permit_mynetworks,reject_rbl_client zen.spamhaus.org=127.0.0.2\n")
    plan = build_plan(cf, cust)
    assert not plan.conflicts
    assert any("'reject_rbl_client bl.spamcop.net' is gone already" in n for n in plan.notes)


def test_a_customisation_miab_made_its_own_is_not_reported_missing():
    """The admin removed b; MiaB's next release drops b itself and adds d: what the
    customisation does is in force, so status has no drift to report."""
    op = Operation(OpKind.REMOVE, Item("b"))
    cust = Customisations(chains={SENDER: ChainIntent(SENDER, Chain.parse("a,b,c"), [op])})
    plan = build_plan(MainCf.parse(f"{SENDER}=a,c,d\n"), cust)
    assert plan.in_sync and not plan.conflicts and plan.params() == {}
    assert plan.chains[0].states() == [ChainState.IN_SYNC]
