"""A master.cf service or option MiaB dropped, decided once with keep-miab, stays decided.

The companion of test_intent_decided_every_kind.py for the master.cf conflicts: the service
the admin's option was on is gone (``service-gone``, a list option and a whole value), or MiaB
no longer sets the list option the admin's operations were made on (``option-gone``). Each case
walks a profile's ``services:`` entry through successive MiaB releases (MiaB's setup run on
master.cf): the release that drops the service or option stops `restore` and the re-applied
profile (exit 4); one `--on-conflict=keep-miab` decides it, and the entry stays in
customizations.yaml marked ``decided: keep-miab``; every later release, `status` and the same
profile applied again then go through without asking. A release that ships the service or
option again gets the customisation back (Postfix's own `postconf -P` reads it), and one that
drops it again is still not asked about.

No MiaB release up to v75 drops authclean or its header_checks; releases that do stand in for
it, as MiaB's setup would leave master.cf (the entry gone, or MiaB's entry without the option).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pfwizard import exitcodes
from pfwizard.cli import main
from pfwizard.intent import ChainIntent, IntentError, IntentFile, ParameterIntent, parse_text
from tests.conftest import needs_postfix
from tests.miab_setup import _entries, box, release_services, run_master_setup
from tests.test_restore_services import postconf_p

HEADER_CHECKS = "authclean/unix/header_checks"
SYSLOG_NAME = "authclean/unix/syslog_name"
MIAB = "pcre:/etc/postfix/outgoing_mail_header_filters"
TABLE = "/^From:.*@box\\.example\\.com/ REJECT forged local sender\n"


def pf(config_dir, state_dir, *argv):
    return main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )


def setup_release(config_dir: Path, release: str) -> None:
    """MiaB's setup run on master.cf: ``75`` as shipped; ``75-noauthclean``: a release
    without the authclean service (its entry gone); ``75-noheaderchecks``: authclean without
    its ``header_checks`` option."""
    master = config_dir / "master.cf"
    services = release_services()
    text = master.read_text()
    if release == "75-noauthclean":
        del services["authclean"]
        text = "".join(e for e in _entries(text) if not e.startswith("authclean "))
    elif release == "75-noheaderchecks":
        services["authclean"] = services["authclean"].replace(f"\n\t  -o header_checks={MIAB}", "")
    else:
        assert release == "75", release
    master.write_text(run_master_setup(text, services))


@dataclass(frozen=True)
class Case:
    kind: str
    key: str
    entry: str
    """The profile's ``services:`` entry for ``key`` (indented under it)."""
    yours: str
    """What ``postconf -P KEY`` reads while the customisation is in force."""
    gone: str
    """The release that drops the service or option."""
    message: str


def _cases(table: str) -> list[Case]:
    ours = f"pcre:{table}"
    ops = f"    base: {MIAB}\n    operations:\n      - insert: {ours}\n        after: {MIAB}\n"
    return [
        Case(
            "service-gone",
            HEADER_CHECKS,
            ops,
            f"{MIAB},{ours}",
            "75-noauthclean",
            "master.cf has no authclean unix service any more",
        ),
        Case(
            "option-gone",
            HEADER_CHECKS,
            ops,
            f"{MIAB},{ours}",
            "75-noheaderchecks",
            "MiaB no longer sets it",
        ),
        # A hand-written profile (no base): the box's recorded base tells the option is gone,
        # rather than the profile's table alone replacing main.cf's header_checks.
        Case(
            "option-gone-profile-without-base",
            HEADER_CHECKS,
            f"    operations:\n      - insert: {ours}\n        at: end\n",
            f"{MIAB},{ours}",
            "75-noheaderchecks",
            "MiaB no longer sets it",
        ),
        Case(
            "service-gone-whole-value",
            SYSLOG_NAME,
            '    value: "postfix/authclean"\n',
            "postfix/authclean",
            "75-noauthclean",
            "master.cf has no authclean unix service any more",
        ),
    ]


KINDS = [
    "service-gone",
    "option-gone",
    "option-gone-profile-without-base",
    "service-gone-whole-value",
]


def start(tmp_path: Path, kind: str) -> tuple[Path, Path, Path, Case]:
    """A v75 box with the case's customisation applied from a profile."""
    config_dir, state_dir = box(tmp_path, "main.cf.v75-fresh")
    table = config_dir / "pfwizard" / "forged_local_senders"
    case = next(c for c in _cases(str(table)) if c.kind == kind)
    profile = tmp_path / "profile.yaml"
    profile.write_text(
        f"version: 1\nservices:\n  {case.key}:\n{case.entry}"
        f"tables:\n  {table}:\n    type: pcre\n    content: |\n"
        f"      {TABLE}"
    )
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    assert postconf_p(config_dir, case.key) == case.yours
    return config_dir, state_dir, profile, case


@needs_postfix
@pytest.mark.parametrize("kind", KINDS)
def test_decided_once_never_asked_again(tmp_path, capsys, kind):
    config_dir, state_dir, profile, case = start(tmp_path, kind)
    recorded = state_dir / "customizations.yaml"
    master = config_dir / "master.cf"
    # Shipped, dropped (asked once), dropped still, shipped again (yours is back), dropped
    # again (the decision stands: not asked).
    releases = ["75", case.gone, case.gone, "75", case.gone]
    decided = False
    for release in releases:
        setup_release(config_dir, release)
        capsys.readouterr()
        if release == case.gone and not decided:
            assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
            assert case.message in capsys.readouterr().out
            assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.REFUSED
            assert case.message in capsys.readouterr().out
            assert "decided: keep-miab" not in recorded.read_text()
            # The same profile, applied again, stops at the same conflict.
            assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.REFUSED
            assert case.message in capsys.readouterr().out
            before = master.read_bytes()
            assert (
                pf(config_dir, state_dir, "restore", "--yes", "--on-conflict=keep-miab")
                == exitcodes.OK
            )
            out = capsys.readouterr().out
            if case.key == HEADER_CHECKS:
                assert "recorded, not asked again" in out, out
            assert master.read_bytes() == before  # master.cf stays as MiaB ships it
            # The customisation stays in the file, with the decision on it.
            text = recorded.read_text()
            assert f"  {case.key}:\n" in text and "decided: keep-miab" in text, text
            decided = True
        else:
            code = pf(config_dir, state_dir, "restore", "--yes")
            out = capsys.readouterr().out
            assert "conflict" not in out, (release, out)
            if release == "75":  # MiaB ships it (again): yours goes back on it
                assert code == exitcodes.CHANGED, (release, out)
                assert postconf_p(config_dir, case.key) == case.yours, release
            else:
                assert code == exitcodes.OK, (release, out)
                assert "decided" in out or "in sync" in out, out
        assert pf(config_dir, state_dir, "status") == exitcodes.OK, release
        capsys.readouterr()
        assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.OK, release
        assert "conflict" not in capsys.readouterr().out, release
        assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.OK, release
        capsys.readouterr()
        if release == case.gone:
            assert postconf_p(config_dir, case.key) != case.yours, release
    model = IntentFile.for_state_dir(state_dir).model.services[case.key]
    assert model.kept_miab
    if isinstance(model, ChainIntent):  # the base is the value the operations were made on
        assert model.base is not None and model.base.render() == MIAB


@needs_postfix
def test_skip_leaves_it_open_until_decided(tmp_path, capsys):
    config_dir, state_dir, _, case = start(tmp_path, "option-gone")
    setup_release(config_dir, case.gone)
    for _ in range(2):  # skipped: asked again at the next run
        assert pf(config_dir, state_dir, "restore", "--yes", "--on-conflict=skip") == exitcodes.OK
        assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
        assert case.message in capsys.readouterr().out
    assert "decided: keep-miab" not in (state_dir / "customizations.yaml").read_text()


def test_the_decision_reads_back_and_is_checked(tmp_path):
    text = (
        f"version: 1\nservices:\n  {HEADER_CHECKS}:\n    base: {MIAB}\n"
        "    decided: keep-miab\n    operations:\n      - insert: pcre:/x\n"
        "        at: end\n  authclean/unix/syslog_name:\n    value: x\n"
        "    decided: keep-miab\n"
    )
    _, model = parse_text(text)
    ci, pi = model.services[HEADER_CHECKS], model.services["authclean/unix/syslog_name"]
    assert isinstance(ci, ChainIntent) and ci.kept_miab
    assert isinstance(pi, ParameterIntent) and pi.kept_miab
    store = IntentFile.for_state_dir(tmp_path)
    store.set_chain(ci, "services")
    store.set_parameter(pi, "services")
    back = parse_text(store.dumps())[1].services
    assert all(back[k].kept_miab for k in (HEADER_CHECKS, "authclean/unix/syslog_name"))
    assert store.dumps().index("decided: keep-miab") < store.dumps().index("operations:")
    with pytest.raises(IntentError, match=r"line 5: .*'decided' can only be keep-miab"):
        parse_text(text.replace("decided: keep-miab", "decided: skip", 1))
    # main.cf's lists and values record decisions on their operations or as keep: VALUE.
    with pytest.raises(IntentError, match=r"line 5: .*unknown key 'decided'"):
        parse_text(
            "version: 1\nchains:\n  smtpd_sender_restrictions:\n    base: x\n"
            "    decided: keep-miab\n    operations: []\n"
        )
    with pytest.raises(IntentError, match=r"line 4: .*unknown key 'decided'"):
        parse_text(
            "version: 1\nparameters:\n  smtpd_helo_required:\n"
            "    decided: keep-miab\n    value: 'yes'\n"
        )


def test_the_documented_entry_reads_as_documented():
    doc = (Path(__file__).resolve().parent.parent / "assets" / "customizations.md").read_text()
    example = next(
        b.split("```", 1)[0]
        for b in doc.split("```yaml\n")[1:]
        if "decided: keep-miab" in b.split("```", 1)[0]
    )
    _, model = parse_text(f"version: 1\nservices:\n{example}")
    ci = model.services[HEADER_CHECKS]
    assert isinstance(ci, ChainIntent) and ci.kept_miab and len(ci.operations) == 1


@needs_postfix
def test_the_restore_screen_names_the_decision(tmp_path):
    import io

    from rich.console import Console

    from pfwizard.intent import Policy
    from pfwizard.intent.context import open_restore
    from pfwizard.screens.restore import plan_view

    config_dir, state_dir, _, case = start(tmp_path, "service-gone")
    setup_release(config_dir, case.gone)
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(plan_view(open_restore(config_dir, state_dir, policy=Policy.KEEP_MIAB), 400))
    text = console.export_text()
    assert (
        f"decided (keep-miab): {HEADER_CHECKS}: the service is gone from master.cf; "
        "yours goes back once MiaB ships it again"
    ) in text, text


@needs_postfix
def test_a_hook_run_that_skipped_it_says_so_until_it_is_decided(tmp_path, capsys, monkeypatch):
    import json

    from pfwizard.intent.hook import OUTCOME_FILE

    monkeypatch.setenv("PFWIZARD_LOG_SOCKET", str(tmp_path / "no-log"))  # no system log here
    config_dir, state_dir, _, case = start(tmp_path, "service-gone")
    for _ in range(2):  # open at this upgrade, and still at the next one
        setup_release(config_dir, case.gone)
        assert (
            pf(config_dir, state_dir, "restore", "--hook", "--yes", "--on-conflict=skip")
            == exitcodes.OK
        )
        outcome = json.loads((state_dir / OUTCOME_FILE).read_text())
        assert outcome["open_conflicts"] == 1 and case.message in outcome["message"]
        capsys.readouterr()
        assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS
        assert "LEFT 1 CONFLICT(S) OPEN" in capsys.readouterr().out
    assert pf(config_dir, state_dir, "restore", "--yes", "--on-conflict=keep-miab") == exitcodes.OK
    setup_release(config_dir, case.gone)
    assert (
        pf(config_dir, state_dir, "restore", "--hook", "--yes", "--on-conflict=skip")
        == exitcodes.OK
    )
    assert json.loads((state_dir / OUTCOME_FILE).read_text())["open_conflicts"] == 0
    assert pf(config_dir, state_dir, "status") == exitcodes.OK
