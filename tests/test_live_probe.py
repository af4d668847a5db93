"""pfwizard.live_probe: where the probe talks to (from master.cf / main.cf), and a probe
against a tiny fake SMTP server whose refusal is explained on the box's config."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pfwizard import live_probe
from tests.tui_app import make_config

REFUSAL = "450 4.1.8 <x@nowhere.example>: Sender address rejected: Domain not found"


def test_listen_address_of_a_miab_box(tmp_path):
    etc = make_config(tmp_path)
    assert live_probe.smtp_listen_address(etc) == ("127.0.0.1", 25)


def test_listen_address_host_port_service_and_interfaces(tmp_path):
    etc = make_config(tmp_path)
    (etc / "master.cf").write_text(
        "submission inet n - - - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n"
        "127.0.0.5:2525 inet n - n - - smtpd\n"
    )
    assert live_probe.smtp_listen_address(etc) == ("127.0.0.5", 2525)
    (etc / "master.cf").write_text("smtp inet n - n - - smtpd\n")
    text = (
        (etc / "main.cf")
        .read_text()
        .replace("inet_interfaces = all", "inet_interfaces = 192.0.2.7, 127.0.0.1")
    )
    (etc / "main.cf").write_text(text)
    assert live_probe.smtp_listen_address(etc) == ("192.0.2.7", 25)


class _Smtp(socketserver.StreamRequestHandler):
    """Enough SMTP for the probe: no XCLIENT; refuses one sender's RCPT as Postfix does."""

    def handle(self) -> None:
        self.wfile.write(b"220 fake ESMTP\r\n")
        sender = ""
        for raw in self.rfile:
            line = raw.decode().strip()
            verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-fake\r\n250 PIPELINING\r\n")
            elif verb == "MAIL":
                sender = line
                self.wfile.write(b"250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                reply = REFUSAL if "nowhere.example" in sender else "250 2.1.5 Ok"
                self.wfile.write(reply.encode() + b"\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 2.0.0 Bye\r\n")
                return
            else:
                self.wfile.write(b"250 2.0.0 Ok\r\n")


@pytest.fixture
def fake_smtp() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_check_explains_a_refusal_and_says_what_it_could_not_show(tmp_path: Path, fake_smtp):
    etc = make_config(tmp_path)
    out = live_probe.check(
        etc,
        "x@nowhere.example",
        ["admin@box.example.com"],
        host="127.0.0.1",
        port=fake_smtp,
        timeout=5,
    )
    assert out.result.ok, out.result.error
    [v] = out.result.verdicts
    assert (v.code, v.outcome) == (450, "deferred")
    assert any("XCLIENT" in lim for lim in out.result.limits)
    [exp] = out.explanations
    assert exp.where == "smtpd_sender_restrictions / reject_unknown_sender_domain"
    ok = live_probe.check(
        etc, "a@example.org", ["admin@box.example.com"], host="127.0.0.1", port=fake_smtp, timeout=5
    )
    assert [v.code for v in ok.result.verdicts] == [250] and ok.explanations == []
