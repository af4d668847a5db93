"""cleanup's content checks (``header_checks``, ``body_checks``, in main.cf or a master.cf
service's ``-o``) with a DISCARD, REDIRECT or HOLD on a line every message matches take all
the mail that passes them, without a word: a danger, accepted only by name, on every path
that writes; narrower lines a caution.  The bench's real cleanup shows what accepting one
means (it logs the redirect of an ordinary message)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pfwizard import cli, exitcodes
from pfwizard.findings import Severity
from pfwizard.session import Session
from pfwizard.tables.lint import lint_content
from pfwizard.tables.model import Table
from tests.conftest import needs_bench, needs_postfix
from tests.miab_setup import box
from tests.test_engine_support import snapshot, state_dir

THIEF = "thief@evil.example"


def found(text: str, what: str = "header", kind: str = "pcre") -> list[tuple[Severity, str]]:
    table = Table.parse(text.encode(), kind, path="/etc/postfix/pfwizard/checks")
    return [(f.severity, f.message) for f in lint_content(table, what)]


@needs_postfix
@pytest.mark.parametrize(
    ("line", "severity"),
    [
        ("/^From:/ DISCARD", Severity.DANGER),
        (f"/^Received:/ REDIRECT {THIEF}", Severity.DANGER),
        ("/^/ HOLD", Severity.DANGER),
        ("/^Subject:.*lottery/ DISCARD", Severity.CAUTION),
        (f"/^X-Spam-Flag: YES/ REDIRECT {THIEF}", Severity.CAUTION),
        ("/^Date:/ BCC archive@box.example.com", Severity.CAUTION),
        ("/^Subject:.*invoice/ FILTER smtp:[127.0.0.1]:10025", Severity.INFO),
        ("/^Subject:.*lottery/ REJECT no thanks", None),
        ("/^Received:/ IGNORE", None),
        ("/^From:.*@box\\.example\\.com/ PREPEND X-Local: yes", None),
    ],
)
def test_a_header_check_that_takes_mail_is_named(line, severity):
    got = found(f"# checks\n{line}\n")
    assert [s for s, _ in got] == ([] if severity is None else [severity])
    if severity is Severity.DANGER:
        assert "every message has" in got[0][1]


@needs_postfix
def test_miabs_own_header_filters_raise_nothing():
    from tests.bench.instance import MIAB_HEADER_FILTERS

    assert found(MIAB_HEADER_FILTERS) == []


@needs_postfix
def test_body_checks_and_regexp_tables_too():
    assert [s for s, _ in found("/./ DISCARD\n", "body")] == [Severity.DANGER]
    assert [s for s, _ in found("/lottery/ DISCARD\n", "body")] == [Severity.CAUTION]
    assert [s for s, _ in found("/^From:/ DISCARD\n", "header", "regexp")] == [Severity.DANGER]
    # A case-sensitive pattern (the i flag toggles) the headers never match: narrow.
    assert [s for s, _ in found("/^FROM:/i DISCARD\n")] == [Severity.CAUTION]


def profile(tmp_path: Path, config_dir: Path, where: str, line: str) -> Path:
    """A profile that puts a pcre table with ``line`` into cleanup's header checks:
    ``main`` (main.cf's header_checks) or ``authclean`` (MiaB's submission cleanup)."""
    table = config_dir / "pfwizard" / "header_divert"
    path = tmp_path / "profile.yaml"
    head = "version: 1\n"
    if where == "main":
        head += f'parameters:\n  header_checks:\n    value: "pcre:{table}"\n'
    else:
        head += (
            "services:\n  authclean/unix/header_checks:\n    operations:\n"
            f"      - insert: pcre:{table}\n        at: end\n"
        )
    path.write_text(head + f"tables:\n  {table}:\n    type: pcre\n    content: |\n      {line}\n")
    return path


@pytest.fixture
def state() -> Iterator[Path]:
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@needs_postfix
@pytest.mark.parametrize("where", ["main", "authclean"])
def test_apply_and_restore_refuse_a_catch_all_redirect_unless_accepted(tmp_path, capsys, where):
    config_dir, state = box(tmp_path, "main.cf.v75-fresh")
    (config_dir / "outgoing_mail_header_filters").write_text("/^X-Mailer:/ IGNORE\n")
    dirs = ["--config-dir", str(config_dir), "--state-dir", str(state)]
    prof = profile(tmp_path, config_dir, where, f"/^Received:/ REDIRECT {THIEF}")
    before = snapshot(config_dir)
    assert cli.main([*dirs, "--no-reload", "apply", str(prof)]) == exitcodes.REFUSED
    said = "".join(capsys.readouterr())
    assert "REDIRECT: this line matches a header line every message has" in said
    assert "--accept-risk diverts-mail" in said
    assert snapshot(config_dir) == before
    # The same recorded by hand in customizations.yaml: restore refuses it too.
    (state / "customizations.yaml").write_text(prof.read_text())
    assert cli.main([*dirs, "--no-reload", "restore"]) == exitcodes.REFUSED
    assert snapshot(config_dir) == before
    accepted = ["--accept-risk", "diverts-mail"]
    assert cli.main([*dirs, "--no-reload", "apply", *accepted, str(prof)]) == exitcodes.CHANGED
    capsys.readouterr()
    assert cli.main([*dirs, "check"]) == exitcodes.FINDINGS
    assert THIEF in capsys.readouterr().out


@needs_postfix
def test_the_wizard_asks_before_it_takes_a_catch_all_discard(tmp_path):
    """The session's gate (and so the answers file): a danger to accept by name."""
    config_dir, state = box(tmp_path, "main.cf.v75-fresh")
    session = Session.open(config_dir, state, reload=False)
    table = session.own_table_path("drop_all")
    session.set_table(str(table), "/^From:/ DISCARD\n", "pcre")
    session.set_value("header_checks", f"pcre:{table}")
    blocking = [f for f in session.blocking() if f.code == "diverts-mail"]
    assert blocking and blocking[0].acceptable
    assert session.accept(blocking[0])
    assert not [f for f in session.blocking() if f.code == "diverts-mail"]


@needs_bench
def test_accepted_by_name_the_real_cleanup_redirects_an_ordinary_message(
    bench, state, tmp_path, capsys
):
    bench.configure_miab("main.cf.v75-fresh")
    cdir = bench.config_dir
    dirs = ["--config-dir", str(cdir), "--state-dir", str(state)]
    prof = profile(tmp_path, cdir, "main", f"/^Received:/ REDIRECT {THIEF}")
    assert cli.main(["apply", str(prof), *dirs]) == exitcodes.REFUSED
    capsys.readouterr()
    accepted = ["--accept-risk", "diverts-mail"]
    assert cli.main(["apply", str(prof), *accepted, *dirs]) == exitcodes.CHANGED
    mark = bench.instance.log_mark()
    message = (
        "Received: from client.example.com by box.example.com\r\n"
        "From: friend@example.com\r\nTo: admin@box.example.com\r\nSubject: hello\r\n\r\nhi\r\n"
    )
    bench.dialogue(mail_from="friend@example.com", rcpt_to="admin@box.example.com", data=message)
    deadline = time.monotonic() + 10
    while "redirect: header Received:" not in bench.instance.log_text()[mark:]:
        assert time.monotonic() < deadline, bench.instance.log_text()[mark:]
        time.sleep(0.05)
    assert THIEF in bench.instance.log_text()[mark:]
