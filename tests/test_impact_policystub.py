"""The replay's stand-in policy service: answers DUNNO, and stays quiet when a client vanishes."""

from __future__ import annotations

import socket
import struct
import time

from pfwizard.impact.policystub import DunnoPolicy


def test_answers_dunno_and_counts_requests() -> None:
    stub = DunnoPolicy().start()
    try:
        with socket.create_connection(("127.0.0.1", stub.port), timeout=5) as s:
            s.sendall(b"request=smtpd_access_policy\nprotocol_state=RCPT\n\n")
            assert s.recv(100) == b"action=DUNNO\n\n"
        assert stub.requests == 1
        assert stub.address == f"inet:127.0.0.1:{stub.port}"
    finally:
        stub.stop()


def test_a_reset_connection_prints_no_traceback(capfd) -> None:
    # What Ctrl-C during a replay does: smtpd dies with a request half sent, and the kernel
    # resets the connection. Nothing of that may reach the admin's terminal.
    stub = DunnoPolicy().start()
    try:
        for _ in range(5):
            s = socket.create_connection(("127.0.0.1", stub.port), timeout=5)
            s.sendall(b"request=smtpd_access_policy\n")
            # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        time.sleep(0.2)
    finally:
        stub.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err
    assert "Exception occurred" not in err
