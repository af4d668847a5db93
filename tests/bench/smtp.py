"""A tiny SMTP client for test dialogues: EHLO, MAIL FROM, RCPT TO, then RSET/QUIT.

Like seed 000's telnet session, but every reply line is kept.  Never sends DATA unless asked.
The client socket binds to a chosen loopback address so tests see what an outside sender sees
(127.0.0.3) or what a host inside ``mynetworks`` sees (127.0.0.2).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

OUTSIDE = "127.0.0.3"
INSIDE = "127.0.0.2"
# Clients listed in the stub zen.spamhaus.org (tests/bench/dns.py).
LISTED_SBL = "127.0.0.66"
LISTED_REFUSED_CODE = "127.0.0.67"


@dataclass
class Reply:
    command: str
    code: int
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.lines[-1] if self.lines else f"{self.code}"


@dataclass
class Dialogue:
    replies: list[Reply] = field(default_factory=list)

    @property
    def banner(self) -> Reply:
        return self.replies[0]

    def for_command(self, verb: str) -> list[Reply]:
        return [r for r in self.replies if r.command.upper().startswith(verb.upper())]

    @property
    def rcpt(self) -> Reply:
        """The (first) RCPT TO reply: where Postfix's restriction lists answer by default."""
        return self.for_command("RCPT")[0]

    @property
    def mail(self) -> Reply:
        return self.for_command("MAIL")[0]


class SMTPDialogueError(RuntimeError):
    pass


class _Conn:
    def __init__(self, host: str, port: int, source: str | None, timeout: float) -> None:
        self.sock = socket.create_connection(
            (host, port), timeout=timeout, source_address=(source, 0) if source else None
        )
        self.buf = b""

    def read_reply(self, command: str) -> Reply:
        lines: list[str] = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(4096)
                if not chunk:
                    if lines:
                        return Reply(command, int(lines[-1][:3]), lines)
                    raise SMTPDialogueError(f"connection closed before reply to {command!r}")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\r\n", 1)
            line = raw.decode("utf-8", "replace")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return Reply(command, int(line[:3]), lines)

    def send(self, command: str) -> Reply:
        self.sock.sendall(command.encode() + b"\r\n")
        return self.read_reply(command)


def dialogue(
    port: int,
    *,
    helo: str = "client.example.com",
    mail_from: str | None = "sender@example.com",
    rcpt_to: list[str] | str = "admin@box.example.com",
    source: str | None = OUTSIDE,
    host: str = "127.0.0.1",
    data: str | None = None,
    xclient: str | None = None,
    timeout: float = 15.0,
    use_helo: bool = False,
) -> Dialogue:
    """Run one SMTP dialogue and return every reply. Stops early on a 4xx/5xx to MAIL FROM."""
    rcpts = [rcpt_to] if isinstance(rcpt_to, str) else list(rcpt_to)
    d = Dialogue()
    conn = _Conn(host, port, source, timeout)
    try:
        d.replies.append(conn.read_reply("<banner>"))
        if d.banner.code != 220:
            return d
        if xclient:
            d.replies.append(conn.send(f"EHLO {helo}"))
            d.replies.append(conn.send(f"XCLIENT {xclient}"))
            if d.replies[-1].code == 220:
                d.replies.append(Reply("<banner>", 220, d.replies[-1].lines))
        if helo is not None:
            d.replies.append(conn.send(f"{'HELO' if use_helo else 'EHLO'} {helo}"))
        if mail_from is not None:
            r = conn.send(f"MAIL FROM:<{mail_from}>")
            d.replies.append(r)
            if r.code >= 400:
                conn.send("QUIT")
                return d
            for rcpt in rcpts:
                d.replies.append(conn.send(f"RCPT TO:<{rcpt}>"))
            if data is not None and any(r.code < 400 for r in d.for_command("RCPT")):
                r = conn.send("DATA")
                d.replies.append(r)
                if r.code == 354:
                    body = data.replace("\n", "\r\n")
                    if not body.endswith("\r\n"):
                        body += "\r\n"
                    conn.sock.sendall(body.encode() + b".\r\n")
                    d.replies.append(conn.read_reply("<end of data>"))
            else:
                d.replies.append(conn.send("RSET"))
        d.replies.append(conn.send("QUIT"))
    except (OSError, SMTPDialogueError) as exc:
        d.replies.append(Reply(f"<error: {exc}>", 0, [str(exc)]))
    finally:
        conn.sock.close()
    return d
