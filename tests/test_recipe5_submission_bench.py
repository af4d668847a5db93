"""Recipe 5 (seed 004) end to end on the bench's real Postfix, on both of MiaB's paths.

The bench gets MiaB's submission path (``Bench.enable_submission``): a second smtpd on another
loopback port with ``-o cleanup_service_name=authclean``, and an ``authclean`` cleanup whose
``-o header_checks=pcre:.../outgoing_mail_header_filters`` replaces main.cf's header_checks.
That listener does no TLS and no SASL: what decides whether a header check applies is which
cleanup service the mail goes through, not how the client logged in, so a plain DATA on it
is what a logged-in MiaB user's mail meets.

Seed 004's admin saw ``postmap -q`` refuse the forged From: while Postfix let it through: the
main-cf placement reproduces that on the submission path, and the authclean placement fixes it
through the engine (staged ``postfix check``, master.cf written, ``postfix reload``) and is
undone by ``pfwizard rollback --to``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pfwizard import cli, exitcodes
from pfwizard.engine import Engine
from pfwizard.maincf import MainCf
from pfwizard.mastercf import MasterCf
from pfwizard.recipes import forged_local_senders
from tests.bench.instance import MIAB_HEADER_FILTERS_NAME
from tests.bench.smtp import INSIDE
from tests.conftest import needs_bench
from tests.test_engine_support import backdate, snapshot
from tests.test_explain_bench import configure_v75, settle

MAILBOXES = ["admin@box.example.com", "mick@box.example.com"]
BODY = "From: {}\nTo: admin@box.example.com\nSubject: test\n\nhello\n"
FORGED = "nobody@box.example.com"
REAL = '"Mick" <mick@box.example.com>'


def end_of_data(dialogue) -> int:
    """The reply after DATA's final dot: where header_checks answer."""
    found = dialogue.for_command("<end of data>")
    assert found, dialogue.replies
    return found[0].code


def port25(bench, from_header: str) -> int:
    return end_of_data(
        bench.dialogue(mail_from="a@example.org", source=INSIDE, data=BODY.format(from_header))
    )


def submission(bench, from_header: str) -> int:
    return end_of_data(
        bench.submission(mail_from="a@example.org", source=INSIDE, data=BODY.format(from_header))
    )


@pytest.fixture
def miab(bench):
    """MiaB v75's chains, with its submission path and authclean cleanup."""
    configure_v75(bench)
    bench.enable_submission()
    settle(bench)
    return bench


def engine(bench, tmp_path: Path) -> Engine:
    eng = Engine(bench.config_dir, tmp_path / "state", restart=bench.restart)
    eng.before_reload = lambda: backdate(bench.config_dir)
    return eng


def miab_filters(bench) -> str:
    return f"pcre:{bench.config_dir / MIAB_HEADER_FILTERS_NAME}"


@needs_bench
def test_main_cf_placement_leaves_the_submission_path_unfiltered(miab, tmp_path):
    """Seed 004's "worked with postmap but Postfix was not filtering"."""
    assert port25(miab, FORGED) == 250 and submission(miab, FORGED) == 250
    cf = MainCf.read(miab.instance.main_cf)
    prop = forged_local_senders(cf, miab.config_dir, MAILBOXES, hook="main-cf")
    assert prop.master_params == {}
    eng = engine(miab, tmp_path)
    res = eng.apply(eng.plan(prop.changeset()))
    assert res.ok, (res.error, res.postfix_output)
    assert port25(miab, FORGED) == 550
    assert submission(miab, FORGED) == 250  # authclean's own header_checks win


@needs_bench
def test_authclean_placement_filters_submission_and_rolls_back(miab, tmp_path):
    before = snapshot(miab.config_dir)
    assert submission(miab, FORGED) == 250
    cf = MainCf.read(miab.instance.main_cf)
    prop = forged_local_senders(cf, miab.config_dir, MAILBOXES, hook="authclean")
    table = prop.tables[0].path
    want = f"{miab_filters(miab)},pcre:{table}"
    assert prop.master_params == {"authclean/unix/header_checks": want}
    eng = engine(miab, tmp_path)
    plan = eng.plan(prop.changeset())
    assert {f.role for f in plan.files} == {"table", "main.cf", "master.cf"}
    assert (
        f"+  -o header_checks={want}" in plan.unified_diff()
        or f"-o header_checks={want}" in plan.unified_diff()
    )

    res = eng.apply(plan)
    assert res.ok, (res.error, res.postfix_output)
    assert (
        miab.instance.postconf("-P", "authclean/unix/header_checks").strip()
        == f"authclean/unix/header_checks = {want}"
    )
    assert submission(miab, FORGED) == 550
    assert submission(miab, REAL) == 250
    assert port25(miab, FORGED) == 550 and port25(miab, REAL) == 250
    # MiaB's own filter still runs on that path (its table is still named first).
    assert (
        MasterCf.read(miab.instance.master_cf).get_option("authclean", "unix", "header_checks")
        == want
    )

    # Applied again, the recipe changes nothing: the table is not added twice.
    again = forged_local_senders(
        MainCf.read(miab.instance.main_cf), miab.config_dir, MAILBOXES, hook="authclean"
    )
    assert again.master_params == {} and eng.plan(again.changeset()).is_empty

    # Undone the admin's way: master.cf goes back with main.cf and the table.
    assert (
        cli.main(
            [
                "--config-dir",
                str(miab.config_dir),
                "--state-dir",
                str(eng.state_dir),
                "rollback",
                "--to",
                str(res.entry_id),
                "--yes",
            ]
        )
        == exitcodes.CHANGED
    )
    assert snapshot(miab.config_dir) == before
    assert submission(miab, FORGED) == 250 and port25(miab, FORGED) == 250
