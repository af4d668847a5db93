"""A stand-in for postgrey / Dovecot quota-status: a Postfix policy service on loopback.

It answers every request with one fixed action (``DUNNO`` by default), so MiaB's chains that
end in ``check_policy_service inet:127.0.0.1:10023`` can run on the bench unchanged except for
the port (the bench picks a free one so parallel sessions never collide).
"""

from __future__ import annotations

import socketserver
import threading


class _Handler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: PolicyServer = self.server.owner  # type: ignore[attr-defined]
        attrs: dict[str, str] = {}
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line:
                k, _, v = line.partition("=")
                attrs[k] = v
                continue
            server.requests.append(attrs)
            self.wfile.write(f"action={server.action}\n\n".encode())
            self.wfile.flush()
            attrs = {}


class _TCP(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


class PolicyServer:
    def __init__(self, action: str = "DUNNO", host: str = "127.0.0.1") -> None:
        self.action = action
        self.requests: list[dict[str, str]] = []
        self._srv = _TCP((host, 0), _Handler)
        self._srv.owner = self  # type: ignore[attr-defined]
        self.host = host
        self.port = int(self._srv.server_address[1])
        self._thread = threading.Thread(target=self._srv.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        return f"inet:{self.host}:{self.port}"

    def start(self) -> PolicyServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._srv.shutdown()
        self._srv.server_close()
