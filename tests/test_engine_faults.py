"""Fault injection at every step of the transaction, on the real-Postfix bench.

The standard change touches main.cf, master.cf (recipe 5's authclean header_checks) and three
tables.  After each fault: main.cf, master.cf and every table byte-identical (owner and mode
too), the bench gives the same SMTP verdicts as before on port 25 and on the submission path
(authclean), and the journal says what happened.  Faults Postfix itself
can produce are produced for real (a bad hash line, a bad number, an unknown restriction, an
open relay that kills smtpd); the rest are injected through the engine's seams (the atomic
writer, PostfixTools, the serving probe).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

import pytest

import pfwizard.engine.probe_changed as probe_changed
from pfwizard.engine import AtomicWriter, ChangeSet, Engine, PostfixTools, TableChange
from pfwizard.engine.journal import FAILED, REFUSED
from pfwizard.engine.serving import ProbeFailed
from pfwizard.findings import Finding, Severity
from pfwizard.postfix import Result
from tests.conftest import needs_bench
from tests.test_engine_support import (
    AUTHCLEAN_CHECKS,
    backdate,
    seed000_and_authclean,
    snapshot,
    state_dir,
    submission_verdict,
    verdicts,
)


def no_gate(cf, config_dir):
    return []


class FailingWriter(AtomicWriter):
    """Fails the ``n``-th file write with ``err`` (ENOSPC while writing, EACCES on create)."""

    def __init__(self, n: int, err: int) -> None:
        self.n, self.err, self.calls = n, err, 0

    def _tick(self, where: str) -> None:
        if where == ("open" if self.err == errno.EACCES else "write"):
            self.calls += 1
            if self.calls == self.n:
                raise OSError(self.err, os.strerror(self.err))

    def open_temp(self, directory: Path):
        self._tick("open")
        return super().open_temp(directory)

    def write_data(self, fd: int, data: bytes) -> None:
        self._tick("write")
        super().write_data(fd, data)


class LiveFailTools(PostfixTools):
    """postmap or reload fails on the live config dir (the staged copy passes)."""

    def __init__(self, live: Path, what: str) -> None:
        super().__init__(30)
        self.live, self.what, self.failed = live, what, False

    def _fail(self, argv: list[str]) -> Result:
        self.failed = True
        return Result(argv, 1, "", f"{argv[0]}: fatal: injected {self.what} failure\n")

    def postmap(self, config_dir, map_type, path):
        if self.what == "postmap" and Path(config_dir) == self.live:
            return self._fail(["postmap", f"{map_type}:{path}"])
        return super().postmap(config_dir, map_type, path)

    def reload(self, config_dir):
        if self.what == "reload" and not self.failed:
            return self._fail(["postfix", "reload"])
        return super().reload(config_dir)


@pytest.fixture
def state():
    d = state_dir()
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def miab(bench):
    bench.configure_miab("main.cf.v75-fresh")
    bench.enable_submission()

    # An existing table of the admin's, so a failed apply has a table to put back too.
    own = bench.config_dir / "pfwizard"
    own.mkdir()
    (own / "cisco_dmarc_sender_access").write_text("# admin's first try\n/esa1\\./ PERMIT\n")
    os.chmod(own / "cisco_dmarc_sender_access", 0o640)
    backdate(bench.config_dir)
    return bench


def run_faulty(bench, state: Path, changeset_for, spoil: dict[str, bytes] | None = None, **kw):
    """Apply a change that fails; assert nothing changed; return (result, journal entry).

    ``spoil``: role -> bytes that replace the planned file (a plan no change set produces,
    e.g. a master.cf Postfix cannot parse)."""
    restarts = []

    def restart():
        restarts.append(1)
        bench.restart()

    kw.setdefault("gate", no_gate)
    eng = Engine(bench.config_dir, state, restart=restart, **kw)
    eng.before_reload = lambda: backdate(bench.config_dir)
    before = snapshot(bench.config_dir)
    heard = verdicts(bench), submission_verdict(bench)
    plan = eng.plan(changeset_for(bench.config_dir))
    assert "master.cf" in [f.role for f in plan.files]
    for f in plan.files:
        f.after = (spoil or {}).get(f.role, f.after)
    res = eng.apply(plan)
    assert not res.ok
    assert snapshot(bench.config_dir) == before, "a file differs after the failed apply"
    assert not list(bench.config_dir.rglob(".pfwizard-tmp-*"))
    assert (verdicts(bench), submission_verdict(bench)) == heard
    entry = eng.history()[-1]
    assert entry.id == res.entry_id
    assert entry.error and res.error and res.error in entry.error
    assert entry.steps, "the journal keeps the steps"
    if entry.outcome == FAILED:
        assert "every file was put back" in entry.error
        for rec in entry.files:  # every backup is still there
            if rec.existed:
                assert (state / "journal" / entry.id / "files" / str(rec.backup)).exists()
    return res, entry, restarts


def with_params(**params: str):
    def make(config_dir: Path) -> ChangeSet:
        cs = seed000_and_authclean(config_dir)
        cs.params.update(params)
        return cs

    return make


@needs_bench
@pytest.mark.parametrize(
    ("n", "err"),
    [
        (1, errno.ENOSPC),
        (3, errno.ENOSPC),
        (2, errno.EACCES),
        (3, errno.EACCES),
        # main.cf and master.cf: the last two writes
        (4, errno.ENOSPC),
        (5, errno.ENOSPC),
        (5, errno.EACCES),
    ],
)
def test_write_error(miab, state, n, err):
    res, entry, _ = run_faulty(miab, state, seed000_and_authclean, writer=FailingWriter(n, err))
    assert entry.outcome == FAILED
    assert os.strerror(err) in res.error


@needs_bench
def test_postmap_fails_while_installing(miab, state):
    tools = LiveFailTools(miab.config_dir, "postmap")
    res, entry, _ = run_faulty(miab, state, seed000_and_authclean, tools=tools)
    assert entry.outcome == FAILED and res.error.startswith("postmap failed")
    assert "injected postmap failure" in res.postfix_output


@needs_bench
def test_postmap_rejects_a_bad_hash_line_before_anything_is_written(miab, state):
    def bad(config_dir):
        cs = seed000_and_authclean(config_dir)
        cs.tables[1] = TableChange(cs.tables[1].path, "commscope.com OK\nno_value_here\n", "hash")
        return cs

    res, entry, _ = run_faulty(miab, state, bad)
    assert entry.outcome == REFUSED and entry.files == []
    assert "expected format: key whitespace value" in res.postfix_output
    # Postfix's message names the live path the admin knows, not the staged copy.
    assert str(miab.config_dir / "pfwizard" / "dmarc_sender_domains") in res.postfix_output


@needs_bench
def test_broken_regexp_is_caught(miab, state):
    def bad(config_dir):
        cs = seed000_and_authclean(config_dir)
        cs.tables[0] = TableChange(cs.tables[0].path, "/esa[0-9*\\.iphmx\\.com/ PERMIT\n", "regexp")
        return cs

    res, entry, _ = run_faulty(miab, state, bad)
    assert entry.outcome == REFUSED
    assert "brackets" in res.postfix_output or "regexp map" in res.postfix_output


@needs_bench
def test_postfix_check_failure(miab, state):
    res, entry, _ = run_faulty(miab, state, with_params(default_process_limit="abc"))
    assert entry.outcome == REFUSED
    assert "postfix check failed" in res.error
    assert "bad numerical configuration: default_process_limit = abc" in res.postfix_output


@needs_bench
def test_master_cf_postfix_cannot_parse_is_refused(miab, state):
    # A process limit that is not a number: master would die on it at the reload.
    broken = (
        (miab.config_dir / "master.cf")
        .read_bytes()
        .replace(
            b"authclean unix  n       -       n       -       0       cleanup",
            b"authclean unix  n       -       n       -       cleanup",
        )
    )
    res, entry, _ = run_faulty(miab, state, seed000_and_authclean, spoil={"master.cf": broken})
    assert entry.outcome == REFUSED and entry.files == []
    assert f"cannot parse the new {miab.config_dir / 'master.cf'}" in res.error
    assert 'invalid process_limit field "cleanup"' in res.postfix_output
    assert "stage-" not in res.postfix_output  # the paths the admin knows


@needs_bench
def test_misspelt_master_cf_option_is_caught_by_postconf(miab, state):
    def misspelt(config_dir):
        cs = seed000_and_authclean(config_dir)
        cs.master_params["authclean/unix/nested_header_chex"] = ""
        return cs

    res, entry, _ = run_faulty(miab, state, misspelt)
    assert entry.outcome == REFUSED
    assert "master.cf: unused parameter: nested_header_chex=" in res.postfix_output


@needs_bench
def test_unsupported_map_type_in_a_master_cf_option_is_caught(miab, state):
    # postfix check and reload both pass this; authclean would only log an error per mail.
    def bogus(config_dir):
        cs = seed000_and_authclean(config_dir)
        cs.master_params[AUTHCLEAN_CHECKS] += ",bogus:/etc/postfix/nothing"
        return cs

    res, entry, _ = run_faulty(miab, state, bogus)
    assert entry.outcome == REFUSED and "bogus:/etc/postfix/nothing" in res.error
    assert "unsupported dictionary type: bogus" in res.postfix_output


@needs_bench
def test_misspelt_parameter_is_caught_by_postconf(miab, state):
    res, entry, _ = run_faulty(
        miab, state, with_params(smtpd_sender_restriction="reject_non_fqdn_sender")
    )
    assert entry.outcome == REFUSED
    assert "unused parameter: smtpd_sender_restriction=" in res.postfix_output


@needs_bench
def test_danger_finding_blocks(miab, state):
    def gate(cf, config_dir):
        assert cf.get("smtpd_sender_restrictions")  # the staged main.cf, with the change
        return [
            Finding(
                "open-relay",
                Severity.DANGER,
                "anyone can relay through you",
                parameter="smtpd_relay_restrictions",
                acceptable=False,
            ),
            Finding("note", Severity.INFO, "just so you know"),
        ]

    res, entry, _ = run_faulty(miab, state, seed000_and_authclean, gate=gate)
    assert entry.outcome == REFUSED
    assert "DANGER: smtpd_relay_restrictions: anyone can relay" in res.postfix_output
    assert "danger finding" in res.error


@needs_bench
def test_reload_failure(miab, state):
    tools = LiveFailTools(miab.config_dir, "reload")
    res, entry, _ = run_faulty(miab, state, seed000_and_authclean, tools=tools)
    assert entry.outcome == FAILED and res.error.startswith("reload failed")
    assert "injected reload failure" in res.postfix_output


@needs_bench
def test_smtpd_not_answering_injected(miab, state, monkeypatch):
    calls = []

    def probe(addr, helo, rcpt, within=5.0):
        calls.append(addr)
        if len(calls) == 1:
            raise ProbeFailed(f"{addr}: smtpd answered '451 4.3.5 Server configuration error'")
        return "220 fine"

    monkeypatch.setattr(probe_changed, "wait_serving", probe)
    res, entry, restarts = run_faulty(miab, state, seed000_and_authclean)
    assert entry.outcome == FAILED and "smtpd is not serving" in res.error
    assert restarts == []  # smtpd is alive: the old config comes back with a reload
    assert len(calls) == 2  # probed again on the old configuration


@needs_bench
def test_smtpd_dies_on_an_open_relay_and_a_restart_brings_it_back(miab, state):
    # Neither relay nor recipient list has reject_unauth_destination: postfix check and
    # reload pass, then smtpd dies on every connection and master throttles it.
    res, entry, restarts = run_faulty(
        miab, state, with_params(smtpd_relay_restrictions="permit_mynetworks")
    )
    assert entry.outcome == FAILED and "smtpd is not serving" in res.error
    assert restarts == [1]  # a reload does not revive a throttled smtpd


@needs_bench
def test_cleanup_that_dies_at_start_is_undone(miab, state):
    """A bad number in authclean's -o options passes postfix check, postconf and the reload;
    authclean then dies before its greeting and logged-in users' mail is deferred.  The
    serving check asks the changed cleanup service for its greeting, and undoes."""

    def bad_number(config_dir):
        cs = seed000_and_authclean(config_dir)
        cs.master_params["authclean/unix/header_size_limit"] = "abc"
        return cs

    res, entry, _ = run_faulty(miab, state, bad_number)
    assert entry.outcome == FAILED and "authclean" in res.error
    assert "public/authclean" in res.error


@needs_bench
def test_changed_submission_listener_is_probed_too(miab, state):
    """An unknown restriction only on the submission listener: port 25 still answers, the
    probe of the changed listener gets 451 4.3.5, and the change is undone."""

    def broken_submission(config_dir):
        cs = seed000_and_authclean(config_dir)
        port = miab.instance.submission_port
        cs.master_params[f"127.0.0.1:{port}/inet/smtpd_sender_restrictions"] = "reject_bogus_thing"
        return cs

    res, entry, _ = run_faulty(miab, state, broken_submission)
    assert entry.outcome == FAILED and "451 4.3.5" in res.error
    assert str(miab.instance.submission_port) in res.error


@needs_bench
def test_unknown_restriction_gives_451_and_is_undone(miab, state):
    res, entry, _ = run_faulty(
        miab, state, with_params(smtpd_sender_restrictions="reject_bogus_thing")
    )
    assert entry.outcome == FAILED
    assert "451 4.3.5" in res.error
