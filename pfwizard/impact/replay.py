"""Ask a replay instance's smtpd what it would answer to each envelope, stopping before DATA.

One connection serves many envelopes: XCLIENT (ADDR, NAME, HELO, PROTO=ESMTP) makes the
session that client's and resets it, then MAIL FROM, RCPT TO and RSET go in one write
(PIPELINING) and their replies are read back. DATA is never sent, so nothing is ever queued:
the queue file smtpd opens at the first accepted RCPT is thrown away by RSET.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from pfwizard.impact.envelope import Envelope
from pfwizard.impact.pacing import TokenBucket

CONNECT_TIMEOUT = 10.0
# A reply can wait on today's DNS (resolver timeouts) and on table lookups: generous.
REPLY_TIMEOUT = 120.0
REPLAYER_HELO = "impact-preview.invalid"
GIVE_UP_AFTER = 3


@dataclass(frozen=True, slots=True)
class Answer:
    """What the replay instance answered: to RCPT TO, or to MAIL FROM when that was refused."""

    code: int
    text: str
    stage: str = "rcpt"  # "mail" when MAIL FROM was already refused; "error": no answer

    @property
    def accepted(self) -> bool:
        return 200 <= self.code < 300


class Stopped(Exception):
    """The replay was stopped (Ctrl-C) before it finished."""


def xtext(value: str) -> str:
    """XCLIENT attribute values are xtext (RFC 3461): ``+XX`` for '+', '=' and non-graphic."""
    out = []
    for ch in value:
        o = ord(ch)
        out.append(
            ch if 33 <= o <= 126 and ch not in "+=" else "".join(f"+{b:02X}" for b in ch.encode())
        )
    return "".join(out)


def _addr(address: str) -> str:
    return (
        f"IPV6:{address}" if ":" in address and not address.upper().startswith("IPV6:") else address
    )


def _clean(address: str) -> str:
    # An address from the log is untrusted text: it must stay one SMTP command.
    return "".join(ch for ch in address if ch not in "\r\n<>")


def client_name(env: Envelope) -> str:
    """XCLIENT's NAME: the logged name, or Postfix's own word for "no verified name"."""
    known = env.client_name and env.client_name != "unknown"
    return env.client_name if known else "[UNAVAILABLE]"


def helo_of(env: Envelope) -> str:
    """The logged HELO; without one (accepted mail), the client name stands in for it, or
    the address literal when the name is unknown (a HELO most clients without a name send)."""
    if env.helo is not None:
        return env.helo
    if env.client_name and env.client_name != "unknown":
        return env.client_name
    addr = env.client_address
    return f"[IPv6:{addr}]" if ":" in addr else f"[{addr}]"


class Connection:
    """One SMTP session with a replay instance."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=CONNECT_TIMEOUT)
        self.sock.settimeout(REPLY_TIMEOUT)
        # Small request, wait for reply: without this, Nagle's algorithm and delayed ACKs
        # hold each pipelined write back for tens of milliseconds.
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.expect(self.reply(), "greeting")
        self.send(f"EHLO {REPLAYER_HELO}\r\n")
        self.expect(self.reply(), "EHLO")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.sendall(b"QUIT\r\n")
        with contextlib.suppress(OSError):
            self.sock.close()

    def send(self, text: str) -> None:
        self.sock.sendall(text.encode("utf-8", "surrogateescape"))

    def _line(self) -> bytes:
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("the replay instance closed the connection")
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.rstrip(b"\r")

    def reply(self) -> Answer:
        lines = []
        while True:
            line = self._line()
            lines.append(line[4:].decode("utf-8", "replace"))
            if len(line) < 4 or line[3:4] != b"-":
                break
        code = int(line[:3]) if line[:3].isdigit() else 0
        # The one-line form the log shows: "450 4.1.8 <x>: Sender address rejected: ..."
        return Answer(code, f"{code} " + " ".join(lines))

    @staticmethod
    def expect(ans: Answer, what: str) -> None:
        if not 200 <= ans.code < 300:
            raise ConnectionError(f"{what} refused: {ans.text}")

    def ask(self, env: Envelope) -> Answer:
        self.send(
            f"XCLIENT ADDR={xtext(_addr(env.client_address))} "
            f"NAME={xtext(client_name(env))} HELO={xtext(helo_of(env))} "
            "PROTO=ESMTP\r\n"
        )
        self.expect(self.reply(), "XCLIENT")
        self.send(
            f"MAIL FROM:<{_clean(env.sender)}>\r\nRCPT TO:<{_clean(env.recipient)}>\r\nRSET\r\n"
        )
        mail, rcpt, _rset = self.reply(), self.reply(), self.reply()
        if not mail.accepted:
            return Answer(mail.code, mail.text, "mail")
        return rcpt


Progress = Callable[[int], None]
"""Called with how many envelopes one instance just answered (from worker threads)."""


def replay(
    port: int,
    envelopes: Sequence[Envelope],
    *,
    workers: int = 3,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
    pace: TokenBucket | None = None,
) -> list[Answer]:
    """The instance's answer to every envelope, in order. ``stop`` set: raises Stopped.
    ``pace``: one token per envelope asked (shared with the other instance's replay)."""
    answers: list[Answer | None] = [None] * len(envelopes)
    stop = stop or threading.Event()
    chunks = [range(i, len(envelopes), workers) for i in range(workers)]

    def work(indexes: range) -> None:
        conn: Connection | None = None
        last_error = ""
        failed = 0  # envelopes in a row that got no answer
        try:
            for i in indexes:
                if stop.is_set():
                    raise Stopped
                if failed >= GIVE_UP_AFTER:
                    # smtpd dies on every connection (a broken configuration): say so for
                    # the rest instead of waiting for each to fail.
                    answers[i] = Answer(0, last_error, "error")
                    if progress is not None:
                        progress(1)
                    continue
                if pace is not None and not pace.take(stop):
                    raise Stopped
                for attempt in (1, 2):  # a dropped connection is opened again, once
                    try:
                        if conn is None:
                            conn = Connection(port)
                        answers[i] = conn.ask(envelopes[i])
                        failed = 0
                        break
                    except (OSError, ConnectionError) as exc:
                        if conn is not None:
                            conn.close()
                        conn = None
                        if stop.is_set():
                            raise Stopped from exc
                        if attempt == 2:
                            last_error = f"no answer: {exc}"
                            answers[i] = Answer(0, last_error, "error")
                            failed += 1
                if progress is not None:
                    progress(1)
        finally:
            if conn is not None:
                conn.close()

    # Not a ``with`` block: on Ctrl-C the caller must be free to stop the instances (which
    # ends any reply still awaited) instead of waiting here for the workers.
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="impact-replay")
    futures: list[Future[None]] = [pool.submit(work, c) for c in chunks if c]
    try:
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        for f in [*done, *futures]:
            f.result()
    except BaseException:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return [a if a is not None else Answer(0, "not replayed", "error") for a in answers]
