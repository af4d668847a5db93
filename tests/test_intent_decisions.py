"""A profile's `remove:` follows restore's conflict rules, the decision the conflict asks for
exists (`--on-conflict=remove-new`), and a conflict decided once stays decided across MiaB
releases (v66 → v68 → v73 → v75), for restore, for a re-applied profile and for the hook."""

from __future__ import annotations

import json

import pytest

from pfwizard import exitcodes, miab
from pfwizard.chain import Chain, Item
from pfwizard.cli import main
from pfwizard.intent import IntentFile, record_chain
from pfwizard.intent.hook import OUTCOME_FILE
from pfwizard.maincf import MainCf
from tests.conftest import needs_postfix
from tests.miab_setup import box, release_values, run_setup_on

RCPT = "smtpd_recipient_restrictions"
ZEN = "reject_rbl_client zen.spamhaus.org"
ZEN_V68 = "reject_rbl_client zen.spamhaus.org=127.0.0.[2..11]"
PROFILE = f"""\
version: 1
chains:
  {RCPT}:
    operations:
      - remove: {ZEN}
        why: we pay for a Spamhaus DQS key and query it in postscreen
"""


def pf(config_dir, state_dir, *argv):
    return main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )


def upgrade_to(config_dir, release: int) -> None:
    """MiaB's setup run of ``release``: v68 and v73 as v66's values with that release's
    chains (the only differences that matter here), v75 from its fixture."""
    if release == 75:
        values = release_values()
    else:
        values = release_values("main.cf.v66-fresh")
        values.update(miab.RELEASE_CHAINS[release])
    run_setup_on(config_dir / "main.cf", values)


def rcpt(config_dir) -> list[str]:
    return [
        i.render() for i in Chain.parse(MainCf.read(config_dir / "main.cf").get(RCPT) or "").items
    ]


def record_zen_removal(config_dir, state_dir) -> None:
    """The wizard removed zen on a v66 box (what it records after the apply)."""
    cf = MainCf.read(config_dir / "main.cf")
    before = Chain.parse(cf.get(RCPT) or "")
    after = Chain([i for i in before.items if i.render() != ZEN], before.separator)
    store = IntentFile.for_state_dir(state_dir)
    record_chain(store, RCPT, before, after)
    cf.set(RCPT, after.render())
    (config_dir / "main.cf").write_bytes(cf.to_bytes())
    store.save()


@needs_postfix
def test_a_v66_profile_removal_on_a_v75_box_is_a_conflict_until_decided(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE)
    before = (config_dir / "main.cf").read_bytes()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.REFUSED
    out = capsys.readouterr().out
    assert (
        f"you removed '{ZEN}'; MiaB now ships '{ZEN_V68}' instead: remove that too "
        "(remove-new) or keep it (keep-miab)?" in out
    )
    assert "--on-conflict=remove-new" in out and "--on-conflict=keep-miab" in out
    assert "gone already" not in out and "MiaB changed the base" not in out
    assert (config_dir / "main.cf").read_bytes() == before
    assert (
        pf(config_dir, state_dir, "apply", str(profile), "--on-conflict=remove-new")
        == exitcodes.CHANGED
    )
    assert ZEN_V68 not in rcpt(config_dir)
    capsys.readouterr()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.OK
    assert pf(config_dir, state_dir, "status") == exitcodes.OK


@needs_postfix
def test_the_first_apply_of_a_profile_without_a_base_does_not_claim_miab_changed_it(
    tmp_path, capsys
):
    config_dir, state_dir = box(tmp_path, "main.cf.v66-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE)
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    out = capsys.readouterr().out
    assert "MiaB changed the base" not in out and "MiaB added" not in out
    assert ZEN not in rcpt(config_dir)


@needs_postfix
@pytest.mark.parametrize("policy", ["remove-new", "keep-miab"])
def test_a_decided_zen_removal_stays_decided_v66_v68_v73_v75(tmp_path, capsys, policy):
    config_dir, state_dir = box(tmp_path, "main.cf.v66-fresh")
    record_zen_removal(config_dir, state_dir)
    upgrade_to(config_dir, 68)
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.REFUSED
    assert f"MiaB now ships '{ZEN_V68}'" in capsys.readouterr().out
    # keep-miab: main.cf stays as MiaB wrote it; only the decision is recorded.
    assert pf(config_dir, state_dir, "restore", "--yes", f"--on-conflict={policy}") == (
        exitcodes.CHANGED if policy == "remove-new" else exitcodes.OK
    )
    assert (ZEN_V68 in rcpt(config_dir)) is (policy == "keep-miab")
    recorded = (state_dir / "customizations.yaml").read_text()
    assert f"{'also_remove' if policy == 'remove-new' else 'keep'}: {ZEN_V68}" in recorded
    assert pf(config_dir, state_dir, "status") == exitcodes.OK
    for release in (73, 75):
        upgrade_to(config_dir, release)
        capsys.readouterr()
        code = pf(config_dir, state_dir, "restore", "--yes")
        out = capsys.readouterr().out
        assert "conflict" not in out, (release, out)
        assert code in (exitcodes.OK, exitcodes.CHANGED), (release, out)
        assert pf(config_dir, state_dir, "status") == exitcodes.OK, release
        assert (ZEN_V68 in rcpt(config_dir)) is (policy == "keep-miab")
        assert "check_policy_service inet:127.0.0.1:12340" in rcpt(config_dir)  # v73's, kept


@needs_postfix
def test_a_profile_decided_once_is_not_stopped_again_after_later_upgrades(tmp_path, capsys):
    config_dir, state_dir = box(tmp_path, "main.cf.v66-fresh")
    profile = tmp_path / "profile.yaml"
    profile.write_text(PROFILE)
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    upgrade_to(config_dir, 68)
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.REFUSED
    assert (
        pf(config_dir, state_dir, "apply", str(profile), "--on-conflict=remove-new")
        == exitcodes.CHANGED
    )
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.OK
    for release in (73, 75):
        upgrade_to(config_dir, release)
        # Either door puts it back without asking: the hook's restore, or the profile again.
        assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.CHANGED, release
        assert ZEN_V68 not in rcpt(config_dir)
        assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.OK, release
    upgrade_to(config_dir, 75)
    capsys.readouterr()
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    assert "conflict" not in capsys.readouterr().out
    assert ZEN_V68 not in rcpt(config_dir)


@needs_postfix
def test_a_hook_run_that_skipped_a_conflict_says_so(tmp_path, capsys, monkeypatch):
    import socket

    monkeypatch.setenv("PFWIZARD_LOG_SOCKET", str(tmp_path / "log"))
    config_dir, state_dir = box(tmp_path, "main.cf.v66-fresh")
    record_zen_removal(config_dir, state_dir)
    upgrade_to(config_dir, 75)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as log:
        log.bind(str(tmp_path / "log"))
        log.settimeout(5)
        code = pf(config_dir, state_dir, "restore", "--hook", "--yes", "--on-conflict=skip")
        line = log.recv(8192).decode()
    assert code in (exitcodes.OK, exitcodes.CHANGED)
    # <20>: facility mail, severity warning; never the "ok" of a clean run.
    assert line.startswith("<20>") and "left 1 conflict(s) OPEN" in line, line
    outcome = json.loads((state_dir / OUTCOME_FILE).read_text())
    assert outcome["open_conflicts"] == 1
    assert "1 conflict(s) left open" in outcome["message"] and ZEN_V68 in outcome["message"]
    capsys.readouterr()
    assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
    out = capsys.readouterr().out
    assert "after-upgrade hook: last run" in out and "LEFT 1 CONFLICT(S) OPEN" in out
    assert " ok: " not in out
    # The base did not move past MiaB's change: the conflict is still found, then decided.
    assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.REFUSED
    assert (
        pf(config_dir, state_dir, "restore", "--yes", "--on-conflict=remove-new")
        == exitcodes.CHANGED
    )
    capsys.readouterr()
    assert pf(config_dir, state_dir, "status") == exitcodes.OK
    assert "(decided since)" in capsys.readouterr().out


def test_decisions_are_checked_when_read(tmp_path):
    from pfwizard.intent import IntentError, parse_text

    bad = (
        f"version: 1\nchains:\n  {RCPT}:\n    operations:\n      - insert: x\n"
        f"        also_remove: {ZEN_V68}\n"
    )
    with pytest.raises(IntentError, match=r"line 6: .*'also_remove' belongs to remove"):
        parse_text(bad)
    other = (
        f"version: 1\nchains:\n  {RCPT}:\n    operations:\n      - remove: {ZEN}\n"
        "        keep: reject_unlisted_recipient\n"
    )
    with pytest.raises(IntentError, match=r"line 6: .*names MiaB's new form"):
        parse_text(other)
    _, model = parse_text(
        f"version: 1\nchains:\n  {RCPT}:\n    operations:\n"
        f"      - remove: {ZEN}\n        also_remove: {ZEN_V68}\n"
    )
    (op,) = model.chains[RCPT].operations
    assert op.also_remove == Item.parse(ZEN_V68) and not model.chains[RCPT].has_base


def test_the_documented_format_reads_as_documented():
    from pathlib import Path

    from pfwizard.intent import parse_text

    doc = (Path(__file__).resolve().parent.parent / "assets" / "customizations.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    _, model = parse_text(example.replace(",...", ""))
    ops = model.chains["smtpd_recipient_restrictions"].operations
    decided = [o for o in ops if o.also_remove is not None]
    assert [str(o.also_remove) for o in decided] == [ZEN_V68]
