"""The envelopes of the last days of mail, taken from the mail log: what the impact preview
replays.

Two kinds of lines make an envelope:

- a reject (``NOQUEUE: reject: RCPT from name[addr]: 450 ...; from=<s> to=<r> proto=ESMTP
  helo=<h>``): one line holds it all;
- accepted mail, spread over three lines joined by the queue id: smtpd's ``QID:
  client=name[addr]`` (with ``sasl_username=`` for a logged-in user), qmgr's ``QID: from=<s>,
  size=N, nrcpt=K`` and one delivery ``QID: to=<r>`` (``orig_to=<alias>`` when an alias was
  expanded: the address the client gave) per recipient.

Postfix logs the HELO only on rejects; when the same smtpd session (same process id, same
client) also logged a reject, its HELO is given to the accepted mail too.

Memory is bounded whatever the log's size: queue ids wait in a table of at most
``max_pending`` entries (a message that never completes, e.g. the client lost the connection
after DATA, is evicted oldest first), and distinct envelopes are kept up to ``max_distinct``
(past that, a fixed hash of each envelope decides which half is kept, so what stays is an
unbiased sample of the distinct envelopes, each with its exact count). The result is sampled,
with a seeded random generator, down to ``limit`` envelopes, each envelope's chance
proportional to how often it occurred.

Rejects are always read in full. Accepted mail is too, up to ``FULL_BYTES`` of log; past that
it is read from evenly spread blocks (``stride_for``), each message found counting for the
ones skipped, so a 1 GB log is read at about a third of grep's speed (benchmarks/README.md).

The window: the log is in time order, so only the block that straddles the start of the last
``days`` days is read line by line; older blocks are skipped whole, and rotations last written
before the window are not opened.
"""

from __future__ import annotations

import datetime as dt
import gzip
import heapq
import os
import random
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from pfwizard import maillog
from pfwizard.explain.logline import line_time, parse_line
from pfwizard.impact.envelope import Envelope, Verdict

DAYS = 7
LIMIT = 10_000
MAX_PENDING = 20_000
MAX_DISTINCT = 200_000
MAX_SESSIONS = 2_000
FULL_BYTES = 32 * 1024 * 1024

# Each pattern starts with a literal, which the regex engine scans for in C at ~1 GB/s.
_CLIENT = re.compile(rb": client=([^\[\n]*)\[([^\]\n]*)\]([^\n]*)")
_FROM = re.compile(rb": from=<([^>\n]*)>, size=\d+, nrcpt=(\d+)")
_TO = re.compile(rb": to=<([^>\n]*)>(?:, orig_to=<([^>\n]*)>)?")
_NOQUEUE_RCPT = re.compile(
    rb"NOQUEUE: reject: RCPT from ([^\[\s]*)\[([^\]\s]*)\](?::\d+)?: ([^\n]*?); "
    rb"from=<([^>\n]*)> to=<([^>\n]*)> proto=[^\s]+ helo=<([^>\n]*)>"
)
_TAG = re.compile(rb"[^\s\[]+\[\d+\]: ")
_SASL = re.compile(rb"sasl_username=([^,\s]+)")
# MiaB's submission ports take mail only from logged-in users.
_SUBMISSION = ("/submission/", "/smtps/")


@dataclass(slots=True)
class _Pending:
    """A queued message while its lines are joined."""

    address: str
    name: str
    authenticated: bool
    session: bytes
    sender: str | None = None
    nrcpt: int = 0
    seen: set[str] = field(default_factory=set)


@dataclass
class Scan:
    """What the log gave: the sampled envelopes and how they were counted."""

    envelopes: list[Envelope]
    distinct: int
    """Distinct envelopes found (an estimate past ``max_distinct``: kept x 2^halvings)."""
    occurrences: int
    """Envelope occurrences in the window (each recipient of each message, each reject)."""
    rejected: int
    accepted: int
    evicted: int
    """Queued messages dropped before their delivery line (never completed, or the table
    was full)."""
    halvings: int = 0
    sources: list[str] = field(default_factory=list)
    stride: int = 1
    """1 when every accepted message was read; N when one stretch in N was (a big log), the
    accepted counts then being estimates (see ``stride_for``)."""

    @property
    def sampled(self) -> bool:
        return len(self.envelopes) < self.distinct


class Extractor:
    """Feed it a log's lines in order (``feed``); ``result`` samples what it found."""

    def __init__(
        self,
        *,
        since: dt.datetime | None = None,
        now: dt.datetime | None = None,
        max_pending: int = MAX_PENDING,
        max_distinct: int = MAX_DISTINCT,
    ) -> None:
        self.now = now or dt.datetime.now()
        self.floor = since.timetuple()[:6] if since is not None else None
        self.max_pending, self.max_distinct = max_pending, max_distinct
        self.pending: dict[bytes, _Pending] = {}  # in arrival order: the oldest goes first
        self.sessions: dict[bytes, tuple[str, str]] = {}  # smtpd "prog[pid]: " -> (addr, helo)
        self.found: dict[tuple[str, str, str | None, str, str], list[object]] = {}
        self.level = 0  # halvings of the distinct table so far
        self.stretch = -1  # the block whose accepted mail is being read (with a stride)
        self.marks = maillog.Literal(b"reject: ")
        self.occurrences = self.rejected = self.accepted = self.evicted = 0

    # ---- the window ------------------------------------------------------------------------
    def _stamp(self, buf: bytes, pos: int) -> tuple[int, ...] | None:
        head = buf[pos : pos + 40].decode("ascii", "replace")
        stamp = line_time(head, self.now.year)
        if stamp is None:
            return None
        if not head[:4].isdigit() and stamp[1:] > self.now.timetuple()[1:6]:
            stamp = (self.now.year - 1, *stamp[1:])  # a classic stamp after now: last year's
        return stamp

    def _window(self, buf: bytes, begin: int, end: int) -> int:
        """Where the lines at or after ``since`` start in ``buf[begin:end]`` (``end`` if none).
        The log is in time order, so only a block that straddles ``since`` is read line by
        line; any other block is kept or skipped whole from its first or last stamp."""
        if self.floor is None:
            return begin
        last = self._stamp(buf, buf.rfind(b"\n", begin, end - 1) + 1 or begin)
        if last is not None and last < self.floor:
            return end
        first = self._stamp(buf, begin)
        if first is not None and first >= self.floor:
            self.floor = None  # everything from here on is in the window
            return begin
        pos = begin
        while pos < end:
            stamp = self._stamp(buf, pos)
            if stamp is not None and stamp >= self.floor:
                self.floor = None
                return pos
            pos = buf.find(b"\n", pos, end) + 1 or end
        return end

    # ---- reading ---------------------------------------------------------------------------
    def feed(self, stream: BinaryIO, block_size: int = maillog.BLOCK, stride: int = 1) -> None:
        """Read ``stream``. With ``stride`` > 1 rejects are still read from every block, but
        accepted mail only from one block of every ``stride`` (each one counting ``stride``
        times): see ``stride_for``."""
        offset = 0
        self.marks = maillog.Literal(b"reject: ")  # tuned again to each file
        for buf, begin, end in maillog.line_blocks(stream, block_size):
            at = offset
            offset += end - begin
            begin = self._window(buf, begin, end)
            if begin >= end:
                continue
            self._rejects(buf, begin, end)
            if stride == 1:
                self._accepted_mail(buf, begin, end, 1)
            elif (at // block_size) % stride == 0:
                if at // block_size != self.stretch:
                    # A stretch of its own: a message cut by its edges is lost, not joined
                    # with another stretch's lines.
                    self.pending.clear()
                    self.stretch = at // block_size
                self._accepted_mail(buf, begin, end, stride)

    def _rejects(self, buf: bytes, begin: int, end: int) -> None:
        fast = _NOQUEUE_RCPT.match
        stop = begin
        for at in self.marks.positions(buf, begin, end):
            if at < stop:  # a second "reject: " on a line already read
                continue
            stop = buf.find(b"\n", at, end)
            if stop < 0:
                stop = end
            q = at - 9  # "NOQUEUE: reject: RCPT from ...": the usual smtpd reject, one regex
            f = fast(buf, q, stop)
            if f is not None:
                tag = bytes(buf[buf.rfind(b" ", begin, q - 1) + 1 : q])
                self._noqueue(tag, *(g.decode("utf-8", "replace") for g in f.groups()))
                continue
            self._reject(buf[buf.rfind(b"\n", begin, at) + 1 or begin : stop])

    def _accepted_mail(self, buf: bytes, begin: int, end: int, weight: int) -> None:
        # Within a block each kind of line is found in its own pass: for one message the
        # order client=, from=, to= still holds, and the block's rejects (read first) give
        # their sessions' HELO before any delivery is read.
        # The hot loops of the scan: locals, queue ids kept as bytes, no method calls for
        # the common case.
        pending = self.pending
        rfind = buf.rfind
        sasl = _SASL.search
        for m in _CLIENT.finditer(buf, begin, end):
            pos = m.start()
            # "... postfix/smtpd[123]: QID": the queue id, and the smtpd process before it.
            sp = rfind(b" ", begin, pos)
            name, addr, rest = m.groups()
            pending[buf[sp + 1 : pos]] = _Pending(
                addr.decode("ascii", "replace"),
                name.decode("utf-8", "replace"),
                rest != b"" and sasl(rest) is not None,
                buf[rfind(b" ", begin, sp) + 1 : sp + 1],
            )
            if len(pending) > self.max_pending:
                del pending[next(iter(pending))]
                self.evicted += 1
        for m in _FROM.finditer(buf, begin, end):
            pos = m.start()
            p = pending.get(buf[rfind(b" ", begin, pos) + 1 : pos])
            if p is not None:
                p.sender = m.group(1).decode("utf-8", "replace")
                p.nrcpt = int(m.group(2))
        sessions = self.sessions
        for m in _TO.finditer(buf, begin, end):
            pos = m.start()
            qid = buf[rfind(b" ", begin, pos) + 1 : pos]
            p = pending.get(qid)
            if p is None or p.sender is None:
                continue
            rcpt = (m.group(2) or m.group(1)).decode("utf-8", "replace")
            low = rcpt.lower()
            if low not in p.seen:  # a deferred recipient is tried again later
                p.seen.add(low)
                sess = sessions.get(p.session)
                helo = sess[1] if sess is not None and sess[0] == p.address else None
                self._accepted(p, helo, rcpt, low, weight)
            if len(p.seen) >= p.nrcpt:
                del pending[qid]

    def _reject(self, raw: bytes) -> None:
        line = parse_line(raw.decode("utf-8", "replace"))
        if line is None or line.kind != "reject" or line.stage != "RCPT" or not line.recipient:
            return
        tag = _TAG.search(raw)
        if tag is not None and line.helo:
            self._session(bytes(tag.group()), line.client_ip, line.helo)
        self._add(
            Envelope(
                line.client_ip,
                line.client_name,
                line.helo or None,
                line.sender,
                line.recipient,
                "rejected",
                reply=line.reply,
                authenticated=any(s in line.program + "/" for s in _SUBMISSION),
            )
        )

    def _noqueue(
        self, tag: bytes, name: str, addr: str, reply: str, sender: str, rcpt: str, helo: str
    ) -> None:
        if helo:
            self._session(tag, addr, helo)
        prog = tag.decode("ascii", "replace")
        self._add(
            Envelope(
                addr,
                name,
                helo or None,
                sender,
                rcpt,
                "rejected",
                reply=reply,
                authenticated=any(s in prog for s in _SUBMISSION),
            )
        )

    def _session(self, tag: bytes, addr: str, helo: str) -> None:
        sessions = self.sessions
        sessions.pop(tag, None)
        sessions[tag] = (addr, helo)
        if len(sessions) > MAX_SESSIONS:
            del sessions[next(iter(sessions))]

    # ---- counting --------------------------------------------------------------------------
    def _accepted(self, p: _Pending, helo: str | None, rcpt: str, low: str, weight: int) -> None:
        # The common case, kept cheap: an envelope already seen only counts more.
        assert p.sender is not None
        known = self.found.get((p.address, p.name, helo, p.sender.lower(), low))
        if known is not None and known[0].verdict == "accepted":  # type: ignore[attr-defined]
            self.occurrences += weight
            self.accepted += weight
            known[1] = int(known[1]) + weight  # type: ignore[call-overload]
            return
        self._add(
            Envelope(
                p.address, p.name, helo, p.sender, rcpt, "accepted", authenticated=p.authenticated
            ),
            weight,
        )

    def _add(self, env: Envelope, weight: int = 1) -> None:
        self.occurrences += weight
        if env.verdict == "rejected":
            self.rejected += weight
        else:
            self.accepted += weight
        key = env.key()
        known = self.found.get(key)
        if known is not None:
            known[0] = env  # the latest verdict wins (a greylisted sender retried, accepted)
            known[1] = int(known[1]) + weight  # type: ignore[call-overload]
            return
        if self.level and _hash(key) & ((1 << self.level) - 1):
            return
        self.found[key] = [env, weight]
        if len(self.found) > self.max_distinct:
            self._halve()

    def _halve(self) -> None:
        self.level += 1
        mask = (1 << self.level) - 1
        self.found = {k: v for k, v in self.found.items() if not _hash(k) & mask}

    def result(self, *, limit: int = LIMIT, seed: int = 0) -> Scan:
        # Envelopes still waiting for a delivery line at the end of the log are not counted:
        # the mail may still be in the queue, or the log was cut.
        self.evicted += len(self.pending)
        self.pending.clear()
        items: list[Envelope] = []
        for env, count in self.found.values():
            assert isinstance(env, Envelope) and isinstance(count, int)
            items.append(_with_count(env, count))
        distinct = len(items) << self.level
        return Scan(
            sample(items, limit, seed),
            distinct,
            self.occurrences,
            self.rejected,
            self.accepted,
            self.evicted,
            self.level,
        )


def _with_count(env: Envelope, count: int) -> Envelope:
    return Envelope(
        env.client_address,
        env.client_name,
        env.helo,
        env.sender,
        env.recipient,
        env.verdict,
        env.reply,
        env.authenticated,
        count,
    )


def _hash(key: tuple[str, str, str | None, str, str]) -> int:
    # A fixed hash (Python's own str hash changes from run to run): the same log keeps the
    # same envelopes.
    return zlib.crc32("\0".join(k or "" for k in key).encode("utf-8", "replace"))


def sample(envelopes: Iterable[Envelope], limit: int, seed: int = 0) -> list[Envelope]:
    """At most ``limit`` envelopes, each one's chance proportional to its count (weighted
    sampling without replacement, Efraimidis-Spirakis), the same every time for one seed.
    The result keeps the input's order."""
    items = list(envelopes)
    if len(items) <= limit:
        return items
    rng = random.Random(seed)
    keyed = ((rng.random() ** (1.0 / max(e.count, 1)), i) for i, e in enumerate(items))
    chosen = sorted(i for _, i in heapq.nlargest(limit, keyed))
    return [items[i] for i in chosen]


def stride_for(size: int, full_bytes: int = FULL_BYTES, block_size: int = maillog.BLOCK) -> int:
    """How sparsely to read accepted mail from a log of ``size`` bytes.

    Joining accepted mail costs three passes over the log and Python work for every message;
    rejects cost one pass. Up to ``full_bytes`` (a busy MiaB box writes far less in a week)
    every message is read. Past it, accepted mail is read from evenly spread stretches of
    ``full_bytes`` in all, each message found counting for the ones skipped: the impact
    preview keeps at most ``limit`` envelopes, chosen in proportion to traffic, so an even
    sample of the traffic gives the same proportions at a fraction of the time. Rejects are
    always read in full.
    """
    if size <= full_bytes:
        return 1
    return max(1, -(-size // max(full_bytes, block_size)))


def extract(
    log: str | None = None,
    *,
    journal: bool = False,
    days: int = DAYS,
    now: dt.datetime | None = None,
    limit: int = LIMIT,
    seed: int = 0,
    max_pending: int = MAX_PENDING,
    max_distinct: int = MAX_DISTINCT,
    rotated: bool = True,
    full_bytes: int = FULL_BYTES,
) -> Scan:
    """The envelopes of the last ``days`` days of ``log`` (and, with ``rotated``, of its
    rotations ``log.1``, ``log.2.gz``, ... that reach into the window), or of the journal."""
    now = now or dt.datetime.now()
    since = now - dt.timedelta(days=days)
    ex = Extractor(since=since, now=now, max_pending=max_pending, max_distinct=max_distinct)
    if journal:
        sources = [maillog.JOURNAL]
    elif log is None:
        raise ValueError("give a mail log or the journal")
    elif rotated and log != "-":
        sources = maillog.rotations(log, since)
    else:
        sources = [log]
    stride = 1
    for src in sources:
        with maillog.open_log(src, since) as stream:
            # Plain files only: a gzip rotation or the journal has no size to go by.
            try:
                plain = src not in ("-", maillog.JOURNAL) and not isinstance(stream, gzip.GzipFile)
                size = os.fstat(stream.fileno()).st_size if plain else 0
            except (OSError, ValueError):
                size = 0
            s = stride_for(size, full_bytes)
            stride = max(stride, s)
            ex.feed(stream, stride=s)
    scan = ex.result(limit=limit, seed=seed)
    scan.stride = stride
    scan.sources = ["the systemd journal" if s == maillog.JOURNAL else s for s in sources]
    return scan


__all__ = ["DAYS", "LIMIT", "Extractor", "Scan", "Verdict", "extract", "sample", "stride_for"]
