"""A fake milter for the bench: just enough of the Sendmail milter protocol for Postfix's smtpd.

It stands in for OpenDKIM / OpenDMARC on a loopback TCP port (``inet:127.0.0.1:PORT``) and
records every command smtpd sends, so a test can prove a milter is consulted, and in which
order relative to another one (all fakes share one ``journal``).

Protocol (sendmail's libmilter mfdef.h): every packet is a 4-byte big-endian length, then a
one-byte command, then data. smtpd opens with SMFIC_OPTNEG ('O': version, actions, protocol
flags); we answer with version 6, no actions and no "skip" flags (so smtpd sends every event
and waits for a reply to each). Every command answered with SMFIR_CONTINUE ('c'), except the
ones that expect no reply: SMFIC_MACRO ('D'), SMFIC_ABORT ('A'), SMFIC_QUIT ('Q') and
SMFIC_QUIT_NC ('K': quit, but the connection is kept for the next session). ``at_rcpt`` may
change the RCPT answer to SMFIR_TEMPFAIL ('t') or SMFIR_REJECT ('r').
"""

from __future__ import annotations

import socketserver
import struct
import threading

OPTNEG = b"O"
RCPT = b"R"
NO_REPLY = {b"D", b"A", b"Q", b"K"}
CONTINUE = b"c"
TEMPFAIL = b"t"
REJECT = b"r"
VERSION = 6
NAMES = {
    b"C": "connect",
    b"H": "helo",
    b"M": "mail",
    b"R": "rcpt",
    b"T": "data",
    b"L": "header",
    b"N": "eoh",
    b"B": "body",
    b"E": "eom",
    b"U": "unknown",
    b"A": "abort",
    b"Q": "quit",
    b"K": "quit_nc",
    b"D": "macro",
    b"O": "optneg",
}


def _packet(cmd: bytes, data: bytes = b"") -> bytes:
    return struct.pack("!I", len(cmd) + len(data)) + cmd + data


class FakeMilter:
    """``FakeMilter("opendkim", journal)`` listens on a free loopback port until ``stop()``."""

    def __init__(
        self, name: str, journal: list[tuple[str, str]] | None = None, at_rcpt: bytes = CONTINUE
    ) -> None:
        self.name = name
        self.journal: list[tuple[str, str]] = journal if journal is not None else []
        self.at_rcpt = at_rcpt
        self._lock = threading.Lock()
        self._stopped = False
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                outer._serve(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port: int = self.server.server_address[1]
        self.socket_name = f"inet:127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def seen(self) -> list[str]:
        """The command names this milter received, in order (macros left out)."""
        with self._lock:
            return [c for who, c in self.journal if who == self.name and c != "macro"]

    def _serve(self, sock) -> None:  # type: ignore[no-untyped-def]
        buf = sock.makefile("rb")
        while True:
            head = buf.read(4)
            if len(head) < 4:
                return
            (size,) = struct.unpack("!I", head)
            body = buf.read(size)
            if len(body) < size or size == 0:
                return
            cmd = body[:1]
            with self._lock:
                self.journal.append((self.name, NAMES.get(cmd, cmd.decode("latin-1"))))
            if cmd == OPTNEG:
                # version 6, actions 0 (we never modify mail), protocol flags 0 (send us all).
                sock.sendall(_packet(OPTNEG, struct.pack("!III", VERSION, 0, 0)))
            elif cmd == b"Q":
                return
            elif cmd in NO_REPLY:
                continue
            elif cmd == RCPT:
                sock.sendall(_packet(self.at_rcpt))
            else:
                sock.sendall(_packet(CONTINUE))

    def stop(self) -> None:
        """Stop listening (a stopped milter is what smtpd meets when OpenDMARC is down)."""
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.server_close()
