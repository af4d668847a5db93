"""Every kind of conflict in a restriction list or a whole value, decided once, stays decided.

Each case walks one customisation through successive MiaB releases (MiaB's own setup edits
replayed on main.cf): the release that conflicts with it stops `restore` (exit 4), one
`--on-conflict=keep-miab` decides it, the decision is recorded on the operation and the base
moves forward; every later release, `sudo mailinabox` re-run and the same profile applied
again then go through without asking. A hook run that skipped the open conflict says so, at
every release until it is decided.

Releases after v73 that no longer ship postgrey (``check_policy_service inet:127.0.0.1:10023``)
stand in for MiaB dropping an item: no release up to v75 drops one from these lists, and an
anchor or a moved item that disappears is exactly what such a release does to a customisation.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass

import pytest

from pfwizard import exitcodes, miab
from pfwizard.chain import Chain
from pfwizard.cli import main
from pfwizard.intent.hook import OUTCOME_FILE
from pfwizard.maincf import MainCf
from tests.conftest import needs_postfix
from tests.miab_setup import box, release_values, run_setup_on

RCPT = "smtpd_recipient_restrictions"
SENDER = "smtpd_sender_restrictions"
POSTGREY = "check_policy_service inet:127.0.0.1:10023"
QUOTA = "check_policy_service inet:127.0.0.1:12340"


def pf(config_dir, state_dir, *argv):
    return main(
        ["--config-dir", str(config_dir), "--state-dir", str(state_dir), "--no-reload", *argv]
    )


def setup_release(config_dir, release: str) -> None:
    """MiaB's setup run of ``release``: ``"68"``, ``"73"``, ``"75"``, or ``"75-nopostgrey"``
    (that release with postgrey dropped from the recipient list)."""
    number, _, variant = release.partition("-")
    if number == "75":
        values = release_values()
    else:
        values = release_values("main.cf.v66-fresh")
        values.update(miab.RELEASE_CHAINS[int(number)])
    if number in ("68", "73"):
        values["smtpd_forbid_bare_newline"] = "normalize"  # new in v68
    if variant == "nopostgrey":
        chain = Chain.parse(values[RCPT] or "")
        values[RCPT] = ",".join(i.render() for i in chain.items if i.render() != POSTGREY)
    run_setup_on(config_dir / "main.cf", values)


def chain(config_dir, name: str) -> list[str]:
    return [
        i.render() for i in Chain.parse(MainCf.read(config_dir / "main.cf").get(name) or "").items
    ]


@dataclass(frozen=True)
class Case:
    kind: str
    first: str
    """The release the customisation is made on (``66``: the fresh fixture)."""
    operation: str
    """The profile's one operation (YAML, indented as an item of ``operations:``), or
    its one parameter (indented under ``parameters:``)."""
    parameter: str
    releases: tuple[str, ...]
    conflicts_at: str
    message: str
    """What the conflict says (part of it)."""
    recorded: str
    """What customizations.yaml holds once keep-miab decided it."""
    miab_kept: str
    """An item of MiaB's that stays in the list once decided."""


CASES = [
    Case(
        "miab-ships-item",
        "68",
        f"      - insert: {QUOTA}\n        before: reject_unlisted_recipient\n",
        RCPT,
        ("73", "75", "75"),
        "73",
        f"MiaB now ships '{QUOTA}' itself, but not where you put it",
        "decided: keep-miab",
        QUOTA,
    ),
    Case(
        "anchor-gone",
        "66",
        f"      - insert: reject_unknown_reverse_client_hostname\n        before: {POSTGREY}\n",
        RCPT,
        ("68", "73-nopostgrey", "75-nopostgrey", "75-nopostgrey"),
        "73-nopostgrey",
        f"'{POSTGREY}' is no longer in the list",
        "decided: keep-miab",
        "reject_unlisted_recipient",
    ),
    Case(
        "item-gone",
        "66",
        f"      - move: {POSTGREY}\n        before: reject_unlisted_recipient\n",
        RCPT,
        ("68", "73-nopostgrey", "75-nopostgrey", "75-nopostgrey"),
        "73-nopostgrey",
        f"cannot move {POSTGREY}",
        "decided: keep-miab",
        "reject_unlisted_recipient",
    ),
    Case(
        "changed-changed",
        "66",
        "      - change: reject_rhsbl_sender dbl.spamhaus.org\n"
        "        to: reject_rhsbl_sender dbl.spamhaus.org=127.0.1.2\n",
        SENDER,
        ("68", "73", "75", "75"),
        "68",
        "MiaB now ships 'reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]'",
        "keep: reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]",
        "reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]",
    ),
    Case(
        "parameter-changed",
        "66",
        '  smtpd_forbid_bare_newline:\n    value: "yes"\n    base: null\n',
        "smtpd_forbid_bare_newline",
        ("68", "73", "75", "75"),
        "68",
        "you set it to 'yes' (it was not set); it is now 'normalize'",
        'keep: "normalize"',
        "normalize",
    ),
]


def start(tmp_path, case: Case):
    """A box at ``case.first`` with the customisation applied from a profile."""
    config_dir, state_dir = box(tmp_path, "main.cf.v66-fresh")
    if case.first != "66":
        setup_release(config_dir, case.first)
    profile = tmp_path / "profile.yaml"
    if case.kind == "parameter-changed":
        profile.write_text(f"version: 1\nparameters:\n{case.operation}")
    else:
        profile.write_text(
            f"version: 1\nchains:\n  {case.parameter}:\n    operations:\n{case.operation}"
        )
    assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.CHANGED
    return config_dir, state_dir, profile


@needs_postfix
@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_decided_once_never_asked_again(tmp_path, capsys, case):
    config_dir, state_dir, profile = start(tmp_path, case)
    recorded = state_dir / "customizations.yaml"
    for release in case.releases:
        setup_release(config_dir, release)
        capsys.readouterr()
        if release == case.conflicts_at:
            assert pf(config_dir, state_dir, "restore", "--yes") == exitcodes.REFUSED
            out = capsys.readouterr().out
            assert case.message in out, out
            assert case.recorded not in recorded.read_text()
            # The same profile, applied again, stops at the same conflict.
            assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.REFUSED
            assert (
                pf(config_dir, state_dir, "restore", "--yes", "--on-conflict=keep-miab")
                == exitcodes.OK
            )
            out = capsys.readouterr().out
            if case.kind != "parameter-changed":
                assert "recorded, not asked again" in out, out
            # The customisation stays in the file, with the decision on it.
            assert case.recorded in recorded.read_text()
            assert case.operation.split(":", 1)[1].split("\n")[0].strip() in recorded.read_text()
        else:
            code = pf(config_dir, state_dir, "restore", "--yes")
            out = capsys.readouterr().out
            assert "conflict" not in out, (release, out)
            assert code in (exitcodes.OK, exitcodes.CHANGED), (release, out)
        assert pf(config_dir, state_dir, "status") == exitcodes.OK, release
        capsys.readouterr()
        assert pf(config_dir, state_dir, "apply", str(profile)) == exitcodes.OK, release
        assert "conflict" not in capsys.readouterr().out, release
        assert case.miab_kept in chain(config_dir, case.parameter), release
    assert case.recorded in recorded.read_text()


@needs_postfix
@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_a_hook_run_that_skipped_it_says_so_until_it_is_decided(
    tmp_path, capsys, monkeypatch, case
):
    monkeypatch.setenv("PFWIZARD_LOG_SOCKET", str(tmp_path / "log"))
    config_dir, state_dir, _ = start(tmp_path, case)
    at = case.releases.index(case.conflicts_at)
    for release in case.releases[:at]:
        setup_release(config_dir, release)
        assert pf(config_dir, state_dir, "restore", "--yes") in (exitcodes.OK, exitcodes.CHANGED)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as log:
        log.bind(str(tmp_path / "log"))
        log.settimeout(5)
        for release in case.releases[at : at + 2]:  # still open at the next upgrade too
            setup_release(config_dir, release)
            code = pf(config_dir, state_dir, "restore", "--hook", "--yes", "--on-conflict=skip")
            line = log.recv(8192).decode()
            assert code in (exitcodes.OK, exitcodes.CHANGED), release
            assert line.startswith("<20>") and "left 1 conflict(s) OPEN" in line, line
            outcome = json.loads((state_dir / OUTCOME_FILE).read_text())
            assert outcome["open_conflicts"] == 1 and case.message in outcome["message"]
            capsys.readouterr()
            assert pf(config_dir, state_dir, "status") == exitcodes.FINDINGS, release
            assert "LEFT 1 CONFLICT(S) OPEN" in capsys.readouterr().out
    assert pf(config_dir, state_dir, "restore", "--yes", "--on-conflict=keep-miab") == exitcodes.OK
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as log:
        log.bind(str(tmp_path / "log2"))
        monkeypatch.setenv("PFWIZARD_LOG_SOCKET", str(tmp_path / "log2"))
        log.settimeout(5)
        setup_release(config_dir, case.releases[-1])
        assert pf(config_dir, state_dir, "restore", "--hook", "--yes") in (
            exitcodes.OK,
            exitcodes.CHANGED,
        )
        line = log.recv(8192).decode()
    assert "OPEN" not in line, line
    assert json.loads((state_dir / OUTCOME_FILE).read_text())["open_conflicts"] == 0
    assert pf(config_dir, state_dir, "status") == exitcodes.OK


def test_the_decision_reads_back_and_is_checked():
    from pfwizard.intent import IntentError, parse_text

    head = f"version: 1\nchains:\n  {RCPT}:\n    operations:\n"
    _, model = parse_text(
        head + f"      - insert: {QUOTA}\n        before: "
        "reject_unlisted_recipient\n        decided: keep-miab\n"
    )
    (op,) = model.chains[RCPT].operations
    assert op.kept_miab and op.decided()
    with pytest.raises(IntentError, match=r"line 7: .*'decided' can only be keep-miab"):
        parse_text(
            head + f"      - insert: {QUOTA}\n        at: end\n        decided: remove-new\n"
        )
    with pytest.raises(IntentError, match=r"line 6: .*'decided' belongs to insert, move or"):
        parse_text(head + f"      - remove: {QUOTA}\n        decided: keep-miab\n")


def test_a_kept_whole_value_reads_back_and_a_new_value_drops_it(tmp_path):
    from pfwizard.intent import IntentFile, parse_text
    from pfwizard.intent.model import ParameterIntent

    _, model = parse_text(
        "version: 1\nparameters:\n  smtpd_forbid_bare_newline:\n"
        '    value: "yes"\n    base: normalize\n    keep: normalize\n'
    )
    pi = model.parameters["smtpd_forbid_bare_newline"]
    assert pi.kept("normalize") and not pi.kept(None) and not pi.kept("no")
    store = IntentFile.for_state_dir(tmp_path)
    store.set_parameter(pi)
    assert 'keep: "normalize"' in store.dumps()
    # The admin sets it anew (the wizard): the decision was about the value before.
    store.set_parameter(ParameterIntent(pi.name, "no", "normalize", True))
    assert "keep" not in store.dumps().split("parameters:")[1]
