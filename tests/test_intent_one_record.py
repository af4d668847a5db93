"""One intent per parameter: a parameter lives in one section of customizations.yaml; a file
that records it twice is an error naming both lines."""

from __future__ import annotations

import pytest

from pfwizard import exitcodes
from pfwizard.chain import Chain
from pfwizard.cli import main
from pfwizard.intent import (
    IntentError,
    IntentFile,
    ParameterIntent,
    build_plan,
    parse_text,
    record_chain,
    record_change,
)
from pfwizard.maincf import MainCf
from tests.conftest import needs_postfix
from tests.miab_setup import box

HELO = "smtpd_helo_restrictions"
MIAB_HELO = "permit_mynetworks, reject_invalid_helo_hostname"
PROFILE_HELO = "permit_mynetworks, reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname"


def _profile_then_wizard(tmp_path):
    """A profile set the HELO list as a whole value; then the wizard edited the list."""
    store = IntentFile.load(tmp_path / "customizations.yaml")
    store.set_parameter(ParameterIntent(HELO, PROFILE_HELO, MIAB_HELO, True, "our standard"))
    store.save()
    store = IntentFile.load(store.path)
    before = MainCf.parse(f"{HELO} = {PROFILE_HELO}\n")
    edited = f"{PROFILE_HELO}, reject_unknown_helo_hostname"
    record_change(store, before, {HELO: edited})
    store.save()
    return store, edited


def test_a_wizard_edit_after_a_profile_value_leaves_one_record_on_miabs_base(tmp_path):
    store, edited = _profile_then_wizard(tmp_path)
    text = store.path.read_text()
    assert "parameters:" not in text
    assert HELO not in store.model.parameters
    ci = store.model.chains[HELO]
    assert ci.base == Chain.parse(MIAB_HELO)  # the profile's base, not the profile's value
    assert [str(o) for o in ci.operations] == [
        "insert reject_non_fqdn_helo_hostname after reject_invalid_helo_hostname",
        "insert reject_unknown_helo_hostname after reject_non_fqdn_helo_hostname",
    ]
    assert {o.why for o in ci.operations} == {"our standard"}
    # Restore puts back exactly what the wizard left in force.
    reloaded = IntentFile.load(store.path)
    plan = build_plan(MainCf.parse(f"{HELO} = {MIAB_HELO}\n"), reloaded.model)
    assert Chain.parse(plan.params()[HELO]).items == Chain.parse(edited).items


def test_a_whole_value_after_list_operations_replaces_them(tmp_path):
    store, _ = _profile_then_wizard(tmp_path)
    before = MainCf.parse(f"{HELO} = {PROFILE_HELO}\n")
    record_change(store, before, {HELO: None})  # the admin removed the parameter
    store.save()
    assert HELO not in store.model.chains
    pi = store.model.parameters[HELO]
    assert pi.value is None and pi.base == Chain.parse(MIAB_HELO).render()
    assert "chains:" not in store.path.read_text()


def test_a_file_recording_a_parameter_in_two_sections_names_both_lines():
    text = (
        "version: 1\n"
        "chains:\n"
        f"  {HELO}:\n"
        f"    base: {MIAB_HELO}\n"
        "    operations:\n"
        "      - insert: reject_unknown_helo_hostname\n"
        "parameters:\n"
        f"  {HELO}:\n"
        f"    value: {PROFILE_HELO}\n"
    )
    with pytest.raises(IntentError) as err:
        parse_text(text)
    assert err.value.line == 8
    assert (
        f"{HELO} is recorded twice: under chains: (line 3) and under parameters: "
        "(line 8)" in str(err.value)
    )


def test_a_parameter_given_twice_in_one_section_names_both_lines():
    text = (
        "version: 1\n"
        "parameters:\n"
        "  smtpd_helo_required:\n"
        "    value: 'yes'\n"
        f"  {HELO}:\n"
        "    value: permit\n"
        "  smtpd_helo_required:\n"
        "    value: 'no'\n"
    )
    with pytest.raises(IntentError) as err:
        parse_text(text)
    assert err.value.line == 7
    assert "smtpd_helo_required is given twice (lines 3 and 7)" in str(err.value)


@needs_postfix
def test_a_profile_value_after_a_wizard_edit_replaces_the_operations(tmp_path):
    """The other way round, through `pfwizard apply`: the box's list operations give way to
    the profile's whole value, on the same MiaB base."""
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    cf = MainCf.read(config_dir / "main.cf")
    cf.set(HELO, f"{MIAB_HELO}, reject_unknown_helo_hostname")
    (config_dir / "main.cf").write_bytes(cf.to_bytes())
    store = IntentFile.for_state_dir(state_dir)
    record_chain(
        store,
        HELO,
        Chain.parse(MIAB_HELO),
        Chain.parse(f"{MIAB_HELO}, reject_unknown_helo_hostname"),
    )
    store.save()
    profile = tmp_path / "profile.yaml"
    profile.write_text(f"version: 1\nparameters:\n  {HELO}:\n    value: {PROFILE_HELO}\n")
    assert (
        main(
            [
                "--config-dir",
                str(config_dir),
                "--state-dir",
                str(state_dir),
                "--no-reload",
                "apply",
                str(profile),
            ]
        )
        == exitcodes.CHANGED
    )
    model = IntentFile.for_state_dir(state_dir).model  # reads back: one record
    assert HELO not in model.chains
    pi = model.parameters[HELO]
    assert pi.value == PROFILE_HELO and pi.base == Chain.parse(MIAB_HELO).render()
