"""A live SMTP probe: the forum's telnet test, done by pfwizard after Apply or on demand.

EHLO, MAIL FROM, RCPT TO for each sample address, then RSET and QUIT. Never DATA: nothing is
ever delivered. The box's own address is usually in ``mynetworks``, where ``permit_mynetworks``
answers before most checks; to see what an outside sender sees the probe asks the server to
treat the session as coming from another address with XCLIENT (allowed only to clients in
``smtpd_authorized_xclient_hosts``). When the server does not offer XCLIENT, the result says
what the probe could not show instead of pretending.
"""

from __future__ import annotations

import smtplib
import socket
from dataclasses import dataclass, field

OUTSIDE_ADDR = "192.0.2.25"
"""Default address to impersonate with XCLIENT: TEST-NET-1, never in anyone's mynetworks."""


@dataclass(frozen=True)
class Step:
    """One command and the server's reply, as a telnet transcript shows it."""

    command: str
    code: int
    text: str

    @property
    def reply(self) -> str:
        return f"{self.code} {self.text}".strip()

    def __str__(self) -> str:
        return f"{self.command}\n    {self.reply}" if self.command else f"    {self.reply}"


@dataclass
class Verdict:
    recipient: str
    code: int
    text: str

    @property
    def outcome(self) -> str:
        """``accepted``, ``deferred`` (4xx: the sender retries) or ``rejected`` (5xx)."""
        if 200 <= self.code < 300:
            return "accepted"
        return "deferred" if 400 <= self.code < 500 else "rejected"


@dataclass
class ProbeResult:
    host: str
    port: int
    sender: str
    steps: list[Step] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    mail: Step | None = None
    seen_as: str = ""
    """The client address the server evaluated: the XCLIENT address, or the real one."""
    xclient: bool = False
    """True when the server accepted XCLIENT, so the verdicts are an outsider's."""
    limits: list[str] = field(default_factory=list)
    """What this probe could not show, in plain words."""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error

    def log_lines(self) -> list[str]:
        """Each refused RCPT as the NOQUEUE line Postfix logs for it, for ``explain``."""
        helo = next(
            (
                s.command.split(" ", 1)[1]
                for s in reversed(self.steps)
                if s.command.startswith("EHLO ")
            ),
            "",
        )
        return [
            f"NOQUEUE: reject: RCPT from unknown[{self.seen_as}]: {v.code} {v.text}; "
            f"from=<{self.sender}> to=<{v.recipient}> proto=ESMTP helo=<{helo}>"
            for v in self.verdicts
            if v.code >= 400
        ]

    def transcript(self) -> str:
        return "\n".join(str(s) for s in self.steps)

    def summary(self) -> str:
        who = f"as {self.seen_as}" + (" (outside client, via XCLIENT)" if self.xclient else "")
        lines = [f"SMTP probe of {self.host}:{self.port} {who}, MAIL FROM:<{self.sender}>"]
        if self.error:
            lines.append(f"  could not complete: {self.error}")
        if self.mail is not None and self.mail.code >= 400:
            lines.append(f"  MAIL FROM refused: {self.mail.reply}")
        for v in self.verdicts:
            lines.append(f"  RCPT TO:<{v.recipient}>  {v.outcome}: {v.code} {v.text}")
        lines += [f"  not shown: {limit}" for limit in self.limits]
        return "\n".join(lines)


def _text(msg: bytes | str) -> str:
    raw = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else msg
    return " / ".join(line.strip() for line in raw.splitlines())


def probe(
    sender: str,
    recipients: list[str],
    *,
    host: str = "127.0.0.1",
    port: int = 25,
    helo: str | None = None,
    outside: str | None = OUTSIDE_ADDR,
    outside_name: str = "[UNAVAILABLE]",
    source: str | None = None,
    timeout: float = 15.0,
) -> ProbeResult:
    """Probe ``host:port``: would ``sender`` → each of ``recipients`` be accepted?

    ``outside``: the address to impersonate with XCLIENT (None: probe as ourselves).
    ``helo``: the HELO name to use (and to pass in XCLIENT), e.g. the sender's server name.
    ``source``: local address to connect from (tests use 127.0.0.x).
    """
    res = ProbeResult(host, port, sender, seen_as=source or "this machine")
    helo_name = helo or socket.getfqdn() or "localhost"
    try:
        conn = smtplib.SMTP(timeout=timeout, source_address=(source, 0) if source else None)
        code, msg = conn.connect(host, port)
    except OSError as exc:
        res.error = f"cannot connect to {host}:{port}: {exc}"
        return res
    try:
        res.steps.append(Step("", code, _text(msg)))
        if code != 220:
            res.error = f"no greeting: {code} {_text(msg)}"
            return res
        _ehlo(conn, helo_name, res)
        if outside:
            _xclient(conn, outside, outside_name, helo_name, res)
        code, msg = conn.mail(sender)
        res.mail = Step(f"MAIL FROM:<{sender}>", code, _text(msg))
        res.steps.append(res.mail)
        if code < 400:
            for rcpt in recipients:
                code, msg = conn.rcpt(rcpt)
                res.steps.append(Step(f"RCPT TO:<{rcpt}>", code, _text(msg)))
                res.verdicts.append(Verdict(rcpt, code, _text(msg)))
        code, msg = conn.rset()
        res.steps.append(Step("RSET", code, _text(msg)))
        code, msg = conn.docmd("QUIT")
        res.steps.append(Step("QUIT", code, _text(msg)))
    except (OSError, smtplib.SMTPException) as exc:
        res.error = f"connection lost: {exc}"
    finally:
        conn.close()
    return res


def _ehlo(conn: smtplib.SMTP, name: str, res: ProbeResult) -> None:
    code, msg = conn.ehlo(name)
    res.steps.append(Step(f"EHLO {name}", code, _text(msg)))


def _xclient(conn: smtplib.SMTP, addr: str, name: str, helo: str, res: ProbeResult) -> None:
    if not conn.has_extn("xclient"):
        res.limits.append(
            f"what an outside client sees: this server does not offer XCLIENT to "
            f"{res.seen_as}, so the verdicts above are those of a client on this machine, "
            f"which is usually in mynetworks (permit_mynetworks answers before most checks). "
            f"To see an outsider's view, add the probing address to "
            f"smtpd_authorized_xclient_hosts, or test from a host outside mynetworks."
        )
        return
    code, msg = conn.docmd("XCLIENT", f"ADDR={addr} NAME={name} HELO={helo}")
    res.steps.append(Step(f"XCLIENT ADDR={addr} NAME={name} HELO={helo}", code, _text(msg)))
    if code != 220:
        res.limits.append(f"what an outside client sees: XCLIENT was refused ({code} {_text(msg)})")
        return
    res.xclient = True
    res.seen_as = addr
    # XCLIENT restarts the session: a new greeting has been sent, EHLO again.
    _ehlo(conn, helo, res)
