"""Shared fixtures: the real-Postfix bench (instance + stub DNS + policy stub), fixture files.

``bench`` gives each test a private Postfix reset to the bench's base configuration; the
instance itself lives for the whole session (start-up is the expensive part).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bench.dns import StubDNS
from tests.bench.instance import PostfixInstance
from tests.bench.miab import FIXTURES, miab_chains
from tests.bench.policy import PolicyServer
from tests.bench.smtp import OUTSIDE, Dialogue, dialogue

HAVE_POSTFIX = (
    shutil.which("postconf") is not None and Path("/usr/lib/postfix/sbin/master").exists()
)
IS_ROOT = os.geteuid() == 0

# Every change the tests make would leave a line in the machine's system log (pfwizard.trail):
# send those nowhere unless a test gives its own stand-in socket.
os.environ.setdefault("PFWIZARD_LOG_SOCKET", "/nonexistent/pfwizard-tests-log")

needs_postfix = pytest.mark.skipif(not HAVE_POSTFIX, reason="Postfix (postconf) not installed")
needs_bench = pytest.mark.skipif(
    not (HAVE_POSTFIX and IS_ROOT), reason="the Postfix bench needs root and Postfix installed"
)


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def stub_dns() -> Iterator[StubDNS]:
    dns = StubDNS()
    dns.start()
    yield dns
    dns.stop()


@pytest.fixture(scope="session")
def policy_stub() -> Iterator[PolicyServer]:
    srv = PolicyServer().start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def postfix_session(stub_dns: StubDNS) -> Iterator[PostfixInstance]:
    if not (HAVE_POSTFIX and IS_ROOT):
        pytest.skip("the Postfix bench needs root and Postfix installed")
    inst = PostfixInstance(dns_ip=stub_dns.ip)
    inst.start()
    yield inst
    inst.stop()


@dataclass
class Bench:
    """What a test holds: the instance plus helpers for the common moves."""

    instance: PostfixInstance
    dns: StubDNS
    policy: PolicyServer

    @property
    def config_dir(self) -> Path:
        return self.instance.config_dir

    @property
    def port(self) -> int:
        return self.instance.port

    def configure(self, params: Mapping[str, str] | None = None, raw_tail: str = "") -> None:
        """Rewrite main.cf as bench base + params, then reload (restart if smtpd was throttled)."""
        self.instance.write_main_cf(params, raw_tail)
        self.reload()

    def configure_miab(
        self, fixture: str = "main.cf.v75-fresh", extra: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        params = miab_chains(fixture, self.policy.address, self.config_dir)
        params.update(extra or {})
        self.configure(params)
        return params

    def reload(self) -> None:
        if self.instance.running:
            self.instance.reload()
        else:
            self.instance.start()

    def restart(self) -> None:
        self.instance.restart()

    def dialogue(self, **kw: object) -> Dialogue:
        kw.setdefault("source", OUTSIDE)
        return dialogue(self.port, **kw)  # type: ignore[arg-type]

    def enable_submission(self) -> int:
        """MiaB's submission path on the bench: a second smtpd (loopback, ``submission_port``)
        whose mail goes through the ``authclean`` cleanup with MiaB's own header_checks.
        Reloads; the bench's master.cf is put back after the test."""
        self.instance.write_master_cf(submission=True)
        self.reload()
        self.instance.wait_listening(port=self.instance.submission_port)
        return self.instance.submission_port

    def submission(self, **kw: object) -> Dialogue:
        """A dialogue with the "submission" listener (see ``enable_submission``)."""
        kw.setdefault("source", OUTSIDE)
        return dialogue(self.instance.submission_port, **kw)  # type: ignore[arg-type]

    def noqueue_since(self, mark: int) -> list[str]:
        return self.instance.noqueue_lines(mark)


@pytest.fixture
def bench(
    postfix_session: PostfixInstance, stub_dns: StubDNS, policy_stub: PolicyServer
) -> Iterator[Bench]:
    b = Bench(postfix_session, stub_dns, policy_stub)
    # A test may have left smtpd throttled (open relay, broken config): start clean each time.
    if not postfix_session.running:
        postfix_session.start()
    postfix_session.write_main_cf()
    yield b
    # A test may have changed master.cf (the submission path, or through the engine).
    if postfix_session.master_cf.read_text() != postfix_session.master_cf_text():
        postfix_session.write_master_cf()
    if postfix_session.running:
        postfix_session.write_main_cf()
        try:
            postfix_session.reload()
        except Exception:
            postfix_session.restart()
    # Tables a test wrote into the config dir don't leak into the next test.
    keep = {"main.cf", "master.cf", "virtual_mailboxes", "sender_login_maps"}
    for p in postfix_session.config_dir.iterdir():
        if p.name not in keep:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
