"""A stand-in for the box's policy services (postgrey, Dovecot quota-status) during a replay.

The staged instances point every ``check_policy_service`` at this server instead of the real
one, so postgrey never records a triplet for mail that was never sent and quota-status is never
asked about a mailbox; it answers ``DUNNO`` (no opinion), so the restriction list goes on.
"""

from __future__ import annotations

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        stub: DunnoPolicy = self.server.stub  # type: ignore[attr-defined]
        try:
            for raw in self.rfile:
                if raw.strip():
                    continue  # one attribute of the request; an empty line ends it
                with stub.lock:
                    stub.requests += 1
                self.wfile.write(b"action=DUNNO\n\n")
                self.wfile.flush()
        except OSError:
            # The staged smtpd went away mid-conversation (the replay was stopped, or the
            # instance was torn down): nothing to answer, and nothing the admin should see.
            return


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        # socketserver prints a traceback to stderr by default; a stub that lost a client
        # while the replay is being stopped must not print one into the admin's terminal.
        return


class DunnoPolicy:
    """Listens on 127.0.0.1 (a free port) until ``stop``; ``address`` is what main.cf names."""

    def __init__(self) -> None:
        self.requests = 0
        self.lock = threading.Lock()
        self._srv = _Server(("127.0.0.1", 0), _Handler)
        self._srv.stub = self  # type: ignore[attr-defined]
        self.port = int(self._srv.server_address[1])
        self._thread = threading.Thread(
            target=self._srv.serve_forever, daemon=True, name="impact-policy-stub"
        )

    @property
    def address(self) -> str:
        return f"inet:127.0.0.1:{self.port}"

    def start(self) -> DunnoPolicy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._srv.shutdown()
        self._srv.server_close()
