"""A week of Mail-in-a-Box mail log, generated: what the impact preview reads in its tests.

    python3 tests/impact_weeklog.py OUT.log [--size-mb 1024] [--seed 0]
        [--hostname box.example.com] [--domain example.com]

``write_week`` writes Postfix 3.6/3.7 lines in the classic syslog format rsyslog uses on
Ubuntu 22.04 (``Dec  3 03:15:15 box postfix/smtpd[1234]: ...``), sessions interleaved as on a
real box, and returns what a correct reader must find (``Week``): every distinct envelope
(the key ``pfwizard.impact.envelope.Envelope.key`` compares) with its verdict and count, and the
counts per kind of traffic. What it holds:

- ordinary mail from outside correspondents: ``connect from``, ``QID: client=``, cleanup,
  qmgr ``from=``, lmtp delivery ``to=`` (with ``orig_to=`` for aliases), ``removed``; some
  messages have several recipients, some are delivered after a deferral;
- authenticated submissions (``postfix/submission/smtpd``, ``client=..., sasl_method=PLAIN,
  sasl_username=user@domain``) to the outside (``postfix/smtp``) and to local users;
- exactly ``ESA_REPORTS`` (116) Cisco ESA DMARC reports rejected by
  ``reject_unknown_sender_domain`` (450 4.1.8, MAILER-DAEMON@esaN.hcNNNN-NN.iphmx.com);
- outsiders sending with the box's own domain as sender (accepted today);
- clients with bad HELO names (accepted today). Postfix logs the HELO only on rejects, so each
  such session also tries one unknown recipient (``550 5.1.1 ... User unknown``) before its
  accepted message: the reader learns the HELO from the same smtpd session (same pid);
- greylisting (450 4.2.0, later retried and accepted), dictionary attacks on unknown users,
  queue ids that never complete (``lost connection after DATA``), pickup mail with no client,
  and noise from other programs (dovecot, opendkim, postgrey) the reader must skip.

Only loopback client addresses (127.0.0.0/8, never 127.0.0.2, which the bench's mynetworks
holds) appear. With ``size_mb`` the ordinary traffic grows until the file has that size; the
special kinds keep their exact counts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ESA_REPORTS = 116
MAILBOXES = ("admin", "alice", "bob", "carol", "dave", "erin", "frank", "grace")
ALIASES = {"postmaster": "admin", "abuse": "admin", "dmarc": "admin", "info": "alice"}
BAD_HELOS = (
    "DESKTOP-4J2K9Q",
    "localhost",
    "mailer_01",
    "WIN-SRV",
    "PC1",
    "ubuntu",
    "smtp_relay",
    "exchange01",
    "user-PC",
    "LOCALDOMAIN",
)
# Outside correspondents: sender domains that resolve on the bench (the replayer's DNS stub
# must answer for them) and the client each one sends from.
N_CORRESPONDENTS = 40

Key = tuple[str, str, "str | None", str, str]


@dataclass
class Expected:
    verdict: str
    count: int = 0
    kind: str = ""
    last: dt.datetime | None = None
    reply: str = ""
    authenticated: bool = False


@dataclass
class Week:
    """What the generated log holds, for tests to compare a reader's result with."""

    hostname: str
    domain: str
    start: dt.datetime
    end: dt.datetime
    envelopes: dict[Key, Expected] = field(default_factory=dict)
    lines: int = 0
    bytes: int = 0

    @property
    def mailboxes(self) -> list[str]:
        return [f"{u}@{self.domain}" for u in MAILBOXES]

    @property
    def aliases(self) -> dict[str, str]:
        return {f"{a}@{self.domain}": f"{t}@{self.domain}" for a, t in ALIASES.items()}

    @property
    def resolvable_domains(self) -> list[str]:
        """Sender domains that exist (the ESA hosts' domains are the ones that do not)."""
        return [self.domain, *(_corr_domain(i) for i in range(N_CORRESPONDENTS))]

    def counts(self, since: dt.datetime | None = None) -> dict[str, int]:
        """Distinct envelopes per kind and verdict (last seen at or after ``since``)."""
        out: dict[str, int] = {
            "envelopes": 0,
            "accepted": 0,
            "rejected": 0,
            "authenticated": 0,
            "occurrences": 0,
        }
        for e in self.envelopes.values():
            if since is not None and e.last is not None and e.last < since:
                continue
            out["envelopes"] += 1
            out[e.verdict] += 1
            out["occurrences"] += e.count
            out["authenticated"] += e.authenticated
            out[e.kind] = out.get(e.kind, 0) + 1
        return out


def _corr_domain(i: int) -> str:
    return f"corr{i}.example.org" if i % 2 else f"partner{i}.example.net"


def _qid(n: int) -> str:
    # Short Postfix queue ids: 10 upper-case hex digits, distinct for the whole week.
    return f"{(0x3A5F00000 + n * 2654435761) & 0xFFFFFFFFFF:010X}"


class _Writer:
    """Turns sessions (lists of (seconds offset, text)) into interleaved, time-ordered lines."""

    def __init__(self, week: Week, seed: int) -> None:
        self.week = week
        self.rng = random.Random(seed)
        self.host = week.hostname.split(".")[0]
        self.n = 0
        self.pid = 1000

    def qid(self) -> str:
        self.n += 1
        return _qid(self.n)

    def newpid(self) -> int:
        self.pid = 1000 + (self.pid * 48271 + 7) % 3_000_000
        return self.pid

    def note(
        self,
        key: Key,
        verdict: str,
        kind: str,
        when: dt.datetime,
        reply: str = "",
        authenticated: bool = False,
    ) -> None:
        e = self.week.envelopes.get(key)
        if e is None:
            e = self.week.envelopes[key] = Expected(verdict, kind=kind)
        # Last verdict wins (a later retry accepted what was refused), as the reader does.
        e.verdict, e.kind, e.reply, e.authenticated = verdict, kind, reply, authenticated
        e.count += 1
        e.last = when


def _stamp(t: dt.datetime) -> str:
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S}"


def _delivery(
    w: _Writer, qid: str, rcpt: str, orig: str | None, t: dt.datetime, outside: bool
) -> str:
    r = w.rng
    if outside:
        dom = rcpt.rsplit("@", 1)[1]
        return (
            f"postfix/smtp[{w.newpid()}]: {qid}: to=<{rcpt}>, relay=mx.{dom}"
            f"[127.0.50.{r.randint(1, 254)}]:25, delay=0.{r.randint(10, 99)}, "
            f"delays=0.05/0.01/0.2/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as "
            f"{_qid(r.randint(1, 10**9))})"
        )
    orig_s = f", orig_to=<{orig}>" if orig else ""
    return (
        f"postfix/lmtp[{w.newpid()}]: {qid}: to=<{rcpt}>{orig_s}, relay=127.0.0.1"
        f"[127.0.0.1]:10025, delay=0.{r.randint(10, 99)}, delays=0.06/0.01/0.01/0.03, "
        f"dsn=2.0.0, status=sent (250 2.0.0 <{rcpt}> {r.getrandbits(64):016x} Saved)"
    )


def _rcpt(domain: str, local: str) -> tuple[str, str | None]:
    """(delivered-to address, orig_to or None) for a local recipient address."""
    if local in ALIASES:
        return f"{ALIASES[local]}@{domain}", f"{local}@{domain}"
    return f"{local}@{domain}", None


def _inbound(
    w: _Writer,
    t: dt.datetime,
    *,
    name: str,
    ip: str,
    sender: str,
    rcpts: list[str],
    kind: str,
    helo: str | None = None,
    bad_rcpt: str | None = None,
    lost: bool = False,
    defer: bool = False,
) -> list[tuple[float, str]]:
    """One smtpd session on port 25 delivering one message (or losing it)."""
    d, r = w.week.domain, w.rng
    pid, cpid, qpid = w.newpid(), w.newpid(), 700 + r.randint(0, 20)
    qid = w.qid()
    out: list[tuple[float, str]] = [
        (0, f"postfix/smtpd[{pid}]: connect from {name}[{ip}]"),
        (
            0.2,
            f"postfix/smtpd[{pid}]: Anonymous TLS connection established from {name}[{ip}]:"
            " TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519"
            " server-signature RSA-PSS (2048 bits) server-digest SHA256",
        ),
    ]
    if bad_rcpt is not None:
        reply = (
            f"550 5.1.1 <{bad_rcpt}>: Recipient address rejected: User unknown in virtual "
            "mailbox table"
        )
        out.append(
            (
                0.4,
                f"postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {name}[{ip}]: "
                f"{reply}; from=<{sender}> to=<{bad_rcpt}> proto=ESMTP helo=<{helo}>",
            )
        )
        w.note(
            (ip, name, helo, sender.lower(), bad_rcpt.lower()), "rejected", "unknown_user", t, reply
        )
    out.append((0.5, f"postfix/smtpd[{pid}]: {qid}: client={name}[{ip}]"))
    out.append(
        (
            0.7,
            f"postfix/cleanup[{cpid}]: {qid}: message-id=<{r.getrandbits(48):x}."
            f"{pid}@{sender.rsplit('@', 1)[-1]}>",
        )
    )
    if lost:
        out.append(
            (0.9, f"postfix/smtpd[{pid}]: lost connection after DATA (0 bytes) from {name}[{ip}]")
        )
        out.append(
            (
                0.9,
                f"postfix/smtpd[{pid}]: disconnect from {name}[{ip}] ehlo=1 mail=1 "
                f"rcpt=1 data=0/1 commands=3/4",
            )
        )
        return out
    out.append((0.8, f"opendkim[{r.randint(500, 600)}]: {qid}: {name} [{ip}] not internal"))
    out.append(
        (
            1.0,
            f"postfix/qmgr[{qpid}]: {qid}: from=<{sender}>, size={r.randint(900, 90000)}"
            f", nrcpt={len(rcpts)} (queue active)",
        )
    )
    out.append(
        (
            1.1,
            f"postfix/smtpd[{pid}]: disconnect from {name}[{ip}] ehlo=2 starttls=1 "
            f"mail=1 rcpt={len(rcpts) + (bad_rcpt is not None)} data=1 quit=1 "
            f"commands={6 + len(rcpts) + (bad_rcpt is not None)}",
        )
    )
    at = 1.3
    for local in rcpts:
        to, orig = _rcpt(d, local)
        if defer:
            out.append(
                (
                    at,
                    f"postfix/lmtp[{w.newpid()}]: {qid}: to=<{to}>"
                    + (f", orig_to=<{orig}>" if orig else "")
                    + ", relay=127.0.0.1[127.0.0.1]:10025, delay=1.2, delays=0.1/0/0/1.1,"
                    " dsn=4.2.0, status=deferred (host 127.0.0.1[127.0.0.1] said: 451 "
                    "4.2.0 Temporary failure (in reply to end of DATA command))",
                )
            )
            at += 300
        out.append((at, _delivery(w, qid, to, orig, t, outside=False)))
        w.note((ip, name, helo, sender.lower(), (orig or to).lower()), "accepted", kind, t)
        at += 0.1
    out.append((at + 0.1, f"postfix/qmgr[{qpid}]: {qid}: removed"))
    return out


def _submission(
    w: _Writer, t: dt.datetime, *, user: str, ip: str, rcpts: list[str]
) -> list[tuple[float, str]]:
    d, r = w.week.domain, w.rng
    pid, qpid, qid = w.newpid(), 700 + r.randint(0, 20), w.qid()
    name = "unknown"
    sender = f"{user}@{d}"
    out: list[tuple[float, str]] = [
        (0, f"postfix/submission/smtpd[{pid}]: connect from {name}[{ip}]"),
        (
            0.3,
            f"postfix/submission/smtpd[{pid}]: {qid}: client={name}[{ip}], sasl_method=PLAIN,"
            f" sasl_username={sender}",
        ),
        (0.5, f"postfix/cleanup[{w.newpid()}]: {qid}: message-id=<{r.getrandbits(48):x}@{d}>"),
        (
            0.6,
            f"opendkim[{r.randint(500, 600)}]: {qid}: DKIM-Signature field added (s=mail, d={d})",
        ),
        (
            0.7,
            f"postfix/qmgr[{qpid}]: {qid}: from=<{sender}>, size={r.randint(900, 90000)}, "
            f"nrcpt={len(rcpts)} (queue active)",
        ),
        (
            0.8,
            f"postfix/submission/smtpd[{pid}]: disconnect from {name}[{ip}] ehlo=2 starttls=1"
            f" auth=1 mail=1 rcpt={len(rcpts)} data=1 quit=1 commands={7 + len(rcpts)}",
        ),
    ]
    at = 1.0
    for rc in rcpts:
        local = rc.endswith("@" + d)
        to, orig = _rcpt(d, rc.split("@")[0]) if local else (rc, None)
        out.append((at, _delivery(w, qid, to, orig, t, outside=not local)))
        w.note(
            (ip, name, None, sender.lower(), rc.lower()),
            "accepted",
            "authenticated",
            t,
            authenticated=True,
        )
        at += 0.2
    out.append((at, f"postfix/qmgr[{qpid}]: {qid}: removed"))
    return out


def _reject(
    w: _Writer,
    t: dt.datetime,
    *,
    name: str,
    ip: str,
    helo: str,
    sender: str,
    rcpt: str,
    reply: str,
    kind: str,
) -> list[tuple[float, str]]:
    pid = w.newpid()
    w.note((ip, name, helo, sender.lower(), rcpt.lower()), "rejected", kind, t, reply)
    return [
        (0, f"postfix/smtpd[{pid}]: connect from {name}[{ip}]"),
        (
            0.3,
            f"postfix/smtpd[{pid}]: NOQUEUE: reject: RCPT from {name}[{ip}]: {reply}; "
            f"from=<{sender}> to=<{rcpt}> proto=ESMTP helo=<{helo}>",
        ),
        (
            0.5,
            f"postfix/smtpd[{pid}]: disconnect from {name}[{ip}] ehlo=1 mail=1 rcpt=0/1 "
            "rset=1 quit=1 commands=4/5",
        ),
    ]


def _noise(w: _Writer, t: dt.datetime) -> list[tuple[float, str]]:
    r, d = w.rng, w.week.domain
    u = r.choice(MAILBOXES)
    if r.random() < 0.5:
        return [
            (
                0,
                f"dovecot: imap-login: Login: user=<{u}@{d}>, method=PLAIN, "
                f"rip=127.0.40.{r.randint(1, 254)}, lip=127.0.0.1, "
                f"mpid={r.randint(1000, 99999)}, TLS, session=<{r.getrandbits(60):x}>",
            )
        ]
    qid, qpid = w.qid(), 700 + r.randint(0, 20)
    # Local mail (cron, status checks): no smtpd client, so not an envelope to replay.
    return [
        (0, f"postfix/pickup[{w.newpid()}]: {qid}: uid=0 from=<root>"),
        (
            0.1,
            f"postfix/cleanup[{w.newpid()}]: {qid}: message-id=<{r.getrandbits(40):x}@"
            f"{w.week.hostname}>",
        ),
        (
            0.2,
            f"postfix/qmgr[{qpid}]: {qid}: from=<root@{w.week.hostname}>, size=1234, nrcpt=1 "
            "(queue active)",
        ),
        (0.4, _delivery(w, qid, f"admin@{d}", None, t, outside=False)),
        (0.5, f"postfix/qmgr[{qpid}]: {qid}: removed"),
    ]


def _events(w: _Writer, size: int | None) -> Iterator[tuple[dt.datetime, list[tuple[float, str]]]]:
    """The week's sessions, in time order: the special ones at fixed counts, the ordinary ones
    filling the week (and, with ``size``, repeated until the file is that big)."""
    r, d, wk = w.rng, w.week.domain, w.week
    span = (wk.end - wk.start).total_seconds()
    specials: list[tuple[float, str, int]] = []
    for i in range(ESA_REPORTS):
        specials.append((r.uniform(0, span), "esa", i))
    for i in range(30):
        specials.append((r.uniform(0, span), "spoof", i))
    for i in range(len(BAD_HELOS) * 2):
        specials.append((r.uniform(0, span), "badhelo", i))
    n_ordinary = 1400 if size is None else max(1400, size // 1090)
    # A bigger box also refuses more: greylisting and dictionary attacks grow with the traffic
    # (about 2 % of sessions), the ESA reports, spoofers and bad-HELO clients stay as they are.
    for i in range(max(25, n_ordinary // 100)):
        specials.append((r.uniform(0, span), "greylist", i))
    for i in range(max(40, n_ordinary // 100)):
        specials.append((r.uniform(0, span), "dictionary", i))
    specials.sort()
    step = span / n_ordinary
    si = 0
    for k in range(n_ordinary):
        at = k * step + r.uniform(0, step)
        while si < len(specials) and specials[si][0] <= at:
            off, kind, i = specials[si]
            si += 1
            yield from _special(w, wk.start + dt.timedelta(seconds=off), kind, i)
        t = wk.start + dt.timedelta(seconds=at)
        x = r.random()
        if x < 0.55:
            c = r.randrange(N_CORRESPONDENTS)
            locs = [r.choice(MAILBOXES + tuple(ALIASES))]
            if r.random() < 0.1:
                locs.append(r.choice([m for m in MAILBOXES if m not in locs]))
            yield (
                t,
                _inbound(
                    w,
                    t,
                    name=f"mail.{_corr_domain(c)}",
                    ip=f"127.0.10.{c + 1}",
                    sender=f"{r.choice(('news', 'info', 'jo', 'billing'))}@{_corr_domain(c)}",
                    rcpts=locs,
                    kind="ordinary",
                    lost=r.random() < 0.01,
                    defer=r.random() < 0.01,
                ),
            )
        elif x < 0.8:
            u = r.choice(MAILBOXES)
            far = _corr_domain(r.randrange(N_CORRESPONDENTS))
            rc = (
                f"{r.choice(MAILBOXES)}@{d}"
                if r.random() < 0.3
                else f"{r.choice(('jo', 'sam', 'office'))}@{far}"
            )
            yield t, _submission(w, t, user=u, ip=f"127.0.40.{MAILBOXES.index(u) + 1}", rcpts=[rc])
        else:
            yield t, _noise(w, t)
    while si < len(specials):
        off, kind, i = specials[si]
        si += 1
        yield from _special(w, wk.start + dt.timedelta(seconds=off), kind, i)


def _special(
    w: _Writer, t: dt.datetime, kind: str, i: int
) -> Iterator[tuple[dt.datetime, list[tuple[float, str]]]]:
    r, d = w.rng, w.week.domain
    if kind == "esa":
        # 29 customers x 4 appliances: 116 distinct senders, clients and recipients.
        cust, esa = i % 29, i // 29 + 1
        region = ".ap" if cust % 7 == 3 else ""
        host = f"esa{esa}.hc{3000 + cust * 17}-{10 + cust * 3 % 89}{region}.iphmx.com"
        sender = f"MAILER-DAEMON@{host}"
        rcpt = f"dmarc@{d}" if i % 3 else f"postmaster@{d}"
        reply = f"450 4.1.8 <{sender}>: Sender address rejected: Domain not found"
        yield (
            t,
            _reject(
                w,
                t,
                name=host,
                ip=f"127.0.{1 + i // 200}.{1 + i % 200}",
                helo=host,
                sender=sender,
                rcpt=rcpt,
                reply=reply,
                kind="esa_dmarc",
            ),
        )
    elif kind == "spoof":
        local = r.choice(("ceo", "admin", "billing", "alice", "payroll"))
        yield (
            t,
            _inbound(
                w,
                t,
                name="unknown",
                ip=f"127.0.20.{i + 1}",
                sender=f"{local}@{d}",
                rcpts=[MAILBOXES[i % len(MAILBOXES)]],
                kind="spoofing",
            ),
        )
    elif kind == "badhelo":
        helo = BAD_HELOS[i % len(BAD_HELOS)]
        c = i % N_CORRESPONDENTS
        yield (
            t,
            _inbound(
                w,
                t,
                name="unknown",
                ip=f"127.0.30.{i + 1}",
                sender=f"sales@{_corr_domain(c)}",
                helo=helo,
                bad_rcpt=f"nosuchuser{i}@{d}",
                rcpts=[MAILBOXES[i % len(MAILBOXES)]],
                kind="bad_helo",
            ),
        )
    elif kind == "greylist":
        c = i % N_CORRESPONDENTS
        name, ip = f"mail.{_corr_domain(c)}", f"127.0.10.{c + 1}"
        sender = f"new{i}@{_corr_domain(c)}"
        rcpt = f"{MAILBOXES[i % len(MAILBOXES)]}@{d}"
        reply = (
            f"450 4.2.0 <{rcpt}>: Recipient address rejected: Greylisted, see "
            f"http://postgrey.schweikert.ch/help/{d}.html"
        )
        yield (
            t,
            _reject(
                w,
                t,
                name=name,
                ip=ip,
                helo=name,
                sender=sender,
                rcpt=rcpt,
                reply=reply,
                kind="greylisted",
            ),
        )
        later = t + dt.timedelta(minutes=6)
        if later < w.week.end:
            yield (
                later,
                _inbound(
                    w,
                    later,
                    name=name,
                    ip=ip,
                    sender=sender,
                    rcpts=[MAILBOXES[i % len(MAILBOXES)]],
                    kind="ordinary",
                ),
            )
    elif kind == "dictionary":
        rcpt = f"{r.choice(('sales', 'hr', 'jobs', 'support', 'test'))}{i}@{d}"
        reply = (
            f"550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table"
        )
        yield (
            t,
            _reject(
                w,
                t,
                name="unknown",
                ip=f"127.0.60.{i % 250 + 1}",
                helo="[127.0.60.1]",
                sender=f"spam{i}@{_corr_domain(i % N_CORRESPONDENTS)}",
                rcpt=rcpt,
                reply=reply,
                kind="unknown_user",
            ),
        )


def write_week(
    path: str | Path,
    *,
    hostname: str = "box.example.com",
    domain: str = "example.com",
    seed: int = 0,
    end: dt.datetime | None = None,
    days: int = 7,
    size_mb: int | None = None,
) -> Week:
    """Write a week (``days``) of mail log ending at ``end`` (default: now, to the second) to
    ``path`` and return what it holds. Sessions overlap by a few lines, as on a live box."""
    end = (end or dt.datetime.now()).replace(microsecond=0)
    week = Week(hostname, domain, end - dt.timedelta(days=days), end)
    w = _Writer(week, seed)
    size = size_mb * 1024 * 1024 if size_mb else None
    host = w.host
    # A small heap of pending lines keeps sessions interleaved yet every stamp in order.
    import heapq

    pending: list[tuple[dt.datetime, int, str]] = []
    seq = 0
    buf: list[str] = []
    written = lines = 0
    last = week.start
    with open(path, "w", encoding="utf-8", newline="\n") as f:

        def flush_until(limit: dt.datetime | None) -> None:
            nonlocal written, lines, last
            while pending and (limit is None or pending[0][0] <= limit):
                when, _, text = heapq.heappop(pending)
                when = max(when, last)
                last = when
                s = f"{_stamp(when)} {host} {text}\n"
                buf.append(s)
                written += len(s)
                lines += 1
            if len(buf) > 4096 or limit is None:
                f.write("".join(buf))
                buf.clear()

        for t, session in _events(w, size):
            flush_until(t)
            for off, text in session:
                when = min(t + dt.timedelta(seconds=off), end)
                seq += 1
                heapq.heappush(pending, (when, seq, text))
        flush_until(None)
    week.lines, week.bytes = lines, written
    return week


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--hostname", default="box.example.com")
    ap.add_argument("--domain", default="example.com")
    args = ap.parse_args(argv)
    week = write_week(
        args.out, hostname=args.hostname, domain=args.domain, seed=args.seed, size_mb=args.size_mb
    )
    print(
        f"{args.out}: {week.lines} lines, {week.bytes / 1e6:.1f} MB, "
        f"{week.start:%Y-%m-%d %H:%M} .. {week.end:%Y-%m-%d %H:%M}",
        file=sys.stderr,
    )
    for k, v in sorted(week.counts().items()):
        print(f"  {k}: {v}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
