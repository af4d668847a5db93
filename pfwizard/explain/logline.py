"""One Postfix reject log line, taken apart.

Three shapes matter to an admin asking "why was this mail refused?":

- smtpd's restriction rejects::

    Nov 22 03:54:03 box postfix/smtpd[11016]: NOQUEUE: reject: RCPT from unknown[127.0.0.3]:
    450 4.1.8 <a@x.example>: Sender address rejected: Domain not found; from=<a@x.example>
    to=<admin@box.example.com> proto=ESMTP helo=<client.example.com>

- a milter's verdict (``NOQUEUE: milter-reject: RCPT from ...`` or, after queueing,
  ``4F2A1B: milter-reject: END-OF-MESSAGE from ...``);
- cleanup's ``header_checks`` (``4F2A1B: reject: header From: ... from host[ip]; from=<...>
  to=<...> proto=ESMTP helo=<...>: 5.7.1 text``).

Lines pasted from forums are often cut off or lose their angle brackets (as in one forum thread:
``to=<dmarc@``): the parser takes what is there and leaves the rest empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# After "QUEUEID: kind: " (found with str.find: a log scan parses many lines, and an
# unanchored regex search over each is what would make it slow).
_KINDS = ("reject", "milter-reject", "defer", "discard", "hold")
_SMTPD_RE = re.compile(
    r"(?P<stage>[A-Z][A-Z\-]*) from (?P<client>[^\s\[]*)\[(?P<ip>[^\]]*)\](?::\d+)?: "
    r"(?P<rest>.*)$"
)
_HEADER_RE = re.compile(
    r"(?P<stage>header|body) (?P<header>.*?) from (?P<client>[^\s\[]*)\[(?P<ip>[^\]]*)\];"
    r"(?P<attrs>.*?): (?P<reply>\d\.\d+\.\d+ .*|[45]\d\d .*)$"
)
_QUEUE_ID_RE = re.compile(r"NOQUEUE|[0-9A-Za-z]+\Z")
_REPLY_RE = re.compile(
    r"(?P<code>[245]\d\d)(?:[ -](?P<dsn>[245]\.\d{1,3}\.\d{1,3}))?\s*(?P<text>.*)$"
)
_DSN_ONLY_RE = re.compile(r"(?P<dsn>[245]\.\d{1,3}\.\d{1,3})\s*(?P<text>.*)$")
# The attribute tail Postfix appends: "; from=<...> to=<...> proto=ESMTP helo=<...>".
_ATTRS_RE = re.compile(r";\s+from=")
_ATTR_RE = re.compile(r"\b(from|to|proto|helo)=<?([^>\s]*)")

# Postfix puts the object of the check first: "<addr>: Sender address rejected: ...".
_OBJECT_RE = re.compile(r"<(?P<object>[^>]*)>:\s+(?P<text>.*)$")


@dataclass(frozen=True)
class RejectLine:
    """The parts of a reject line that explain it. Empty strings where the line had nothing."""

    raw: str
    kind: str
    """``reject``, ``milter-reject``, ``defer``, ``discard`` (smtpd), or ``header`` (cleanup)."""
    stage: str
    """The SMTP command being answered: ``RCPT``, ``MAIL``, ``DATA``, ``END-OF-MESSAGE``, ..."""
    program: str
    """The syslog tag, e.g. ``postfix/smtpd`` or ``postfix/submission/smtpd``."""
    client_name: str
    client_ip: str
    code: int
    """SMTP reply code (0 when the line carries only an enhanced status code)."""
    dsn: str
    """Enhanced status code, e.g. ``4.1.8``."""
    text: str
    """The reply text after the codes, e.g. ``<a@x>: Sender address rejected: Domain not found``."""
    sender: str
    recipient: str
    helo: str
    proto: str = ""
    queue_id: str = ""
    header: str = ""
    """For header_checks rejects: the header line that matched."""

    @property
    def syslog_name(self) -> str:
        """``postfix`` for ``postfix/smtpd``; ``postfix/submission`` for the submission port."""
        return self.program.rsplit("/", 1)[0] if "/" in self.program else self.program

    @property
    def reply(self) -> str:
        parts = [str(self.code) if self.code else "", self.dsn, self.text]
        return " ".join(p for p in parts if p)

    @property
    def object(self) -> str:
        """The address or name the reply is about (``<...>:`` at the start), if any."""
        m = _OBJECT_RE.match(self.text)
        return m.group("object") if m else ""

    @property
    def reason(self) -> str:
        """The reply text without the leading ``<object>:``."""
        m = _OBJECT_RE.match(self.text)
        return m.group("text") if m else self.text

    @property
    def temporary(self) -> bool:
        return (self.code // 100 == 4) if self.code else self.dsn.startswith("4")


def _attrs(tail: str) -> dict[str, str]:
    return dict(_ATTR_RE.findall(tail))


def _split_reply(reply: str) -> tuple[int, str, str]:
    """(code, DSN, text) of a reply as Postfix logs it: ``450 4.1.8 text``, or a DSN alone
    (``4.7.1 text``, header checks), or bare text (code 0, no DSN)."""
    reply = reply.strip()
    r = _REPLY_RE.match(reply)
    if r:
        return int(r.group("code")), r.group("dsn") or "", r.group("text")
    d = _DSN_ONLY_RE.match(reply)
    if d:
        return 0, d.group("dsn"), d.group("text")
    return 0, "", reply


def _reject(
    line: str,
    kind: str,
    match: re.Match[str],
    program: str,
    reply: str,
    tail: str,
    queue_id: str,
    header: str = "",
) -> RejectLine:
    """The parts of an smtpd or a header-check reject: both patterns name the stage and the
    client the same way, and both lines end with the same attributes."""
    attrs = _attrs(tail)
    code, dsn, text = _split_reply(reply)
    return RejectLine(
        raw=line,
        kind=kind,
        stage=match.group("stage"),
        program=program,
        client_name=match.group("client"),
        client_ip=match.group("ip"),
        code=code,
        dsn=dsn,
        text=text.strip(),
        sender=attrs.get("from", ""),
        recipient=attrs.get("to", ""),
        helo=attrs.get("helo", ""),
        proto=attrs.get("proto", ""),
        queue_id=queue_id,
        header=header,
    )


def parse_line(line: str) -> RejectLine | None:
    """A reject line's parts, or None when the line is not a reject Postfix logs."""
    line = line.rstrip("\r\n")
    found = _locate(line)
    if found is None:
        return None
    at, kind, queue_id, program = found
    body = line[at:]
    m = _SMTPD_RE.match(body) if kind != "hold" else None
    if m:
        rest = m.group("rest")
        cut = _ATTRS_RE.search(rest)
        reply, tail = (rest[: cut.start()], rest[cut.start() + 1 :]) if cut else (rest, "")
        return _reject(
            line,
            kind,
            m,
            program or "postfix/smtpd",
            reply,
            tail,
            "" if queue_id == "NOQUEUE" else queue_id,
        )
    h = _HEADER_RE.match(body) if queue_id != "NOQUEUE" else None
    if h:
        return _reject(
            line,
            "header",
            h,
            program or "postfix/cleanup",
            h.group("reply"),
            h.group("attrs"),
            queue_id,
            h.group("header"),
        )
    return None


def _locate(line: str) -> tuple[int, str, str, str] | None:
    """(index after "QUEUEID: kind: ", kind, queue id, syslog program) of the first marker."""
    best: tuple[int, str] | None = None
    k = line.find("NOQUEUE: reject: ")
    if k >= 0:  # by far the most common shape: skip the search for the other markers
        best = (k + 7, "reject")
    for kind in _KINDS if best is None else ():
        k = line.find(f": {kind}: ")
        if k >= 0 and (best is None or k < best[0]):
            best = (k, kind)
    if best is None:
        return None
    k, kind = best
    qs = line.rfind(" ", 0, k) + 1
    queue_id = line[qs:k]
    if not _QUEUE_ID_RE.match(queue_id):
        return None
    # "... box postfix/submission/smtpd[123]: QUEUEID: ..." -> "postfix/submission/smtpd".
    head = line[:qs].rstrip()
    tag = head[head.rfind(" ") + 1 :] if head.endswith("]:") else ""
    program = tag[: tag.rfind("[")] if "[" in tag else ""
    return k + len(kind) + 4, kind, queue_id, program


# ---- timestamps (for --since) ----------------------------------------------------------------
_ISO_RE = re.compile(r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)")
_BSD_RE = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)")
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


def line_time(line: str, year: int) -> tuple[int, int, int, int, int, int] | None:
    """The line's local timestamp as (Y, M, D, h, m, s), or None.

    Handles the classic syslog stamp (``Nov 22 03:54:03``: no year, so ``year`` is assumed)
    and ISO stamps (rsyslog high precision, ``journalctl -o short-iso``). Time zones are not
    converted: logs and ``--since`` are both taken as the box's local time.
    """
    head = line[:40]
    m = _ISO_RE.match(head)
    if m:
        y, mo, d, hh, mi, ss = (int(g) for g in m.groups())
        return (y, mo, d, hh, mi, ss)
    b = _BSD_RE.match(head)
    if b and b.group(1) in _MONTHS:
        return (
            year,
            _MONTHS[b.group(1)],
            int(b.group(2)),
            int(b.group(3)),
            int(b.group(4)),
            int(b.group(5)),
        )
    return None
