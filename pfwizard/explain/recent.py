"""The box's recent rejects, grouped by cause: what the wizard's first screen starts from.

``recent_rejects(box, source)`` reads the last seven days of the mail log (or the systemd
journal), explains every reject on the box's own configuration and returns the five causes
seen most, with counts, the senders and recipients refused, and the recipe that fixes each.
``pasted_reject(text, box)`` does the same for one line the admin pasted.
``fix_for(cause)`` turns a cause into what its recipe needs, learned from the log (the
narrow allowlist for the senders refused, a sample sender and recipient for the probe).

A big log is not read from its start: the reader jumps to the first line of the window by
bisection on the file's time stamps (a mail log is written in time order), so the cost is
the window, not the file.
"""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from pfwizard import allowlist
from pfwizard.explain.box import BoxConfig
from pfwizard.explain.causes import RECIPE_ALLOWLIST, RECIPE_TITLES
from pfwizard.explain.explainer import Explanation, explain
from pfwizard.explain.logline import line_time, parse_line
from pfwizard.explain.scan import Group, group, reject_lines, since_filter

DEFAULT_LOG = Path("/var/log/mail.log")
JOURNAL = "journal"
"""``source`` value for the systemd journal (what the wizard reads when there is no log)."""
WINDOW = dt.timedelta(days=7)
TOP = 5
_JOURNAL_UNITS = ("postfix.service", "postfix@*.service")
_SEEK_GRAIN = 64 * 1024
"""Bisection stops when the window's start is known to within this many bytes."""


@dataclass(frozen=True)
class RecentCause:
    """Every recent reject with one cause at one place of the config."""

    cause: str
    """The cause's id (``unknown-sender-domain``): stays an id, never shown as a title."""
    reply: str
    """Postfix's reply text without addresses, e.g. ``Sender address rejected: Domain not
    found``: the words the admin saw in the bounce."""
    count: int
    parameter: str | None
    restriction: str | None
    recipe: str | None
    senders: tuple[str, ...]
    """Distinct senders, most refused first."""
    recipients: tuple[str, ...]
    words: str
    """The explanation in plain words (filled in for this box)."""

    def label(self) -> str:
        """One short line for a list: count and the reply."""
        return f"{self.count:>4} x {self.reply}"

    def where(self) -> str:
        if self.restriction:
            return f"{self.restriction} in {self.parameter}"
        return "no restriction on this box writes it"

    def fix_words(self) -> str:
        if self.recipe:
            return f"recipe '{RECIPE_TITLES[self.recipe]}'"
        if self.parameter:
            return f"the list {self.parameter}"
        return "nothing to open: see the explanation"


@dataclass(frozen=True)
class RecentRejects:
    source: str
    """What was read, in words: ``/var/log/mail.log`` or ``the systemd journal``."""
    since: dt.datetime
    causes: tuple[RecentCause, ...]
    """The top causes, most rejects first."""
    total: int
    """Reject lines in the window."""
    error: str = ""
    """Why nothing could be read (empty when the read worked)."""


@dataclass(frozen=True)
class FixStart:
    """What a cause's recipe starts with, learned from the rejects."""

    recipe: str | None
    parameter: str | None
    """The restriction list concerned (where to go when there is no recipe)."""
    table: str = ""
    """For the allowlist recipe: the learned regexp table."""
    sender: str = ""
    recipients: tuple[str, ...] = ()
    said: str = ""
    """How the inputs were learned, for the admin."""


def log_source(path: str | Path | None) -> str:
    """What to read: ``path`` as given; else the default mail log when it exists, else the
    journal (Ubuntu boxes without rsyslog log only there)."""
    if path is not None:
        return str(path)
    return str(DEFAULT_LOG) if DEFAULT_LOG.exists() else JOURNAL


def _describe(source: str) -> str:
    return "the systemd journal" if source == JOURNAL else source


_ADDR_RE = re.compile(r"<[^>]*>:?\s*")
_URL_RE = re.compile(r",?\s*(see\s+)?https?://\S*")
_IP_RE = re.compile(r"\s*\[[0-9a-fA-F.:]+\]")


def _reply(exp: Explanation) -> str:
    """The reply text as the bounce shows it, without the address it names."""
    text = _ADDR_RE.sub("", exp.line.text or exp.line.reason, count=1)
    parts = [p.strip() for p in text.split(";") if p.strip()]
    # "Service unavailable; Client host [ip] blocked using zen..." says its cause second.
    if len(parts) > 1 and parts[0].lower() == "service unavailable":
        parts = parts[1:]
    reply = _URL_RE.sub("", parts[0] if parts else text).strip().rstrip(",")
    reply = _IP_RE.sub("", reply).replace("  ", " ")
    return reply if len(reply) <= 64 else reply[:61].rstrip() + "..."


def _cause(groups: list[Group]) -> RecentCause:
    exp = groups[0].explanation
    senders: dict[str, int] = {}
    rcpts: dict[str, int] = {}
    for g in groups:
        for s, n in g.senders.counts.items():
            senders[s] = senders.get(s, 0) + n
        for r, n in g.recipients.counts.items():
            rcpts[r] = rcpts.get(r, 0) + n

    def ordered(counts: dict[str, int]) -> tuple[str, ...]:
        return tuple(k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    return RecentCause(
        exp.cause.id,
        _reply(exp),
        sum(g.count for g in groups),
        exp.parameter,
        exp.restriction,
        exp.recipe,
        ordered(senders),
        ordered(rcpts),
        exp.words,
    )


def by_cause(groups: Iterable[Group], top: int = TOP) -> tuple[RecentCause, ...]:
    """Groups with the same cause at the same place of the config merged, most first."""
    merged: dict[tuple[str, str | None, str | None], list[Group]] = {}
    for g in groups:
        e = g.explanation
        merged.setdefault((e.cause.id, e.parameter, e.restriction), []).append(g)
    causes = [_cause(gs) for gs in merged.values()]
    causes.sort(key=lambda c: -c.count)
    return tuple(causes[:top])


def recent_rejects(
    box: BoxConfig,
    source: str | None = None,
    *,
    now: dt.datetime | None = None,
    window: dt.timedelta = WINDOW,
    top: int = TOP,
) -> RecentRejects:
    """The top causes of rejects in the last ``window`` of ``source`` (see ``log_source``).

    Never raises for a log it cannot read: the admin is told why in ``error``.
    """
    now = now or dt.datetime.now()
    since = now - window
    src = log_source(source)
    try:
        with _open(src, since, now) as stream:
            report = group(since_filter(reject_lines(stream), since, now), box)
    except (OSError, EOFError, ValueError) as exc:  # gzip and zlib errors are among these
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return RecentRejects(_describe(src), since, (), 0, f"cannot read it: {reason}")
    return RecentRejects(_describe(src), since, by_cause(report.groups, top), report.lines)


def pasted_reject(text: str, box: BoxConfig) -> RecentCause | None:
    """One pasted reject line as a cause (None: not a Postfix reject line)."""
    line = parse_line(text.strip())
    if line is None:
        return None
    g = Group(line, explanation=explain(line, box))
    g.add(line)
    return _cause([g])


def fix_for(cause: RecentCause) -> FixStart:
    """The recipe's inputs, learned from the rejects of ``cause``."""
    sender = next((s for s in cause.senders if "@" in s), "")
    rcpts = cause.recipients[:1]
    if cause.recipe != RECIPE_ALLOWLIST or not sender:
        return FixStart(cause.recipe, cause.parameter, sender=sender, recipients=rcpts)
    family, left_out = _largest_family([s for s in cause.senders if "@" in s])
    comment = (
        f"# Senders refused because their domain has no DNS record "
        f"({len(family)} seen in the mail log)\n"
    )
    out = (
        f"; left out (another domain): {', '.join(left_out[:3])}"
        + (f" and {len(left_out) - 3} more" if len(left_out) > 3 else "")
        if left_out
        else ""
    )
    try:
        prop = allowlist.propose(family)
    except ValueError:
        # No shared domain: one exact line per sender, never one wide pattern.
        lines = [f"/^{re.escape(s)}$/ PERMIT".replace("\\-", "-") for s in family[:20]]
        return FixStart(
            cause.recipe,
            cause.parameter,
            comment + "\n".join(lines) + "\n",
            family[0],
            rcpts,
            f"one line for each of {len(lines)} sender(s){out}",
        )
    said = (
        f"one pattern for the {len(prop.matched)} sender(s) refused under "
        f"{_domain_of(family[0])}{out}"
        + (
            ""
            if prop.ok
            else "; check it: "
            + "; ".join([*prop.errors, *(f"not matched: {s}" for s in prop.missed)])
        )
    )
    return FixStart(
        cause.recipe, cause.parameter, comment + prop.line + "\n", family[0], rcpts, said
    )


def _domain_of(sender: str) -> str:
    """The last two labels of the sender's domain (``iphmx.com``): what a family shares."""
    return ".".join(sender.rpartition("@")[2].lower().split(".")[-2:])


def _largest_family(senders: list[str]) -> tuple[list[str], list[str]]:
    """The senders under the domain seen most (the first in the list wins a tie; senders
    come most refused first), and the others: one allowlist must not mix unrelated domains
    (a spammer refused alongside the Cisco reporters stays refused)."""
    families: dict[str, list[str]] = {}
    for s in senders:
        families.setdefault(_domain_of(s), []).append(s)
    if not families:
        return [], []
    best = max(families.values(), key=len)
    return best, [s for s in senders if s not in best]


# ---- reading ---------------------------------------------------------------------------------
class _open:
    """The log as a binary stream, positioned near the window's start when it can be."""

    def __init__(self, source: str, since: dt.datetime, now: dt.datetime) -> None:
        self.source, self.since, self.now = source, since, now
        self.proc: subprocess.Popen[bytes] | None = None
        self.file: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if self.source == JOURNAL:
            argv = [
                "journalctl",
                "--no-pager",
                "-o",
                "short-iso",
                "--since",
                f"{self.since:%Y-%m-%d %H:%M:%S}",
            ]
            for unit in _JOURNAL_UNITS:
                argv += ["-u", unit]
            try:
                self.proc = subprocess.Popen(
                    argv,
                    stdout=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            except FileNotFoundError:
                raise OSError(0, "no mail log, and journalctl is not installed") from None
            assert self.proc.stdout is not None
            return cast(BinaryIO, self.proc.stdout)
        path = Path(self.source)
        if not path.is_file():  # a FIFO or a device would hang the reader
            raise OSError(0, "no such file" if not path.exists() else "not a regular file")
        raw = open(path, "rb")  # closed in __exit__
        self.file = raw
        if raw.read(2) == b"\x1f\x8b":
            raw.seek(0)
            self.file = cast(BinaryIO, gzip.open(raw, "rb"))
            return self.file
        seek_window(raw, self.since, self.now)
        return raw

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()
        if self.proc is not None:
            assert self.proc.stdout is not None
            self.proc.stdout.close()
            self.proc.kill()
            self.proc.wait()


def _stamp(line: bytes, now: dt.datetime) -> tuple[int, ...] | None:
    text = line[:40].decode("ascii", "replace")
    stamp = line_time(text, now.year)
    if stamp is None:
        return None
    if stamp[1:] > now.timetuple()[1:6] and not text[:4].isdigit():
        stamp = (now.year - 1, *stamp[1:])  # a classic stamp later than now: last year's
    return stamp


def _stamp_after(stream: BinaryIO, offset: int, now: dt.datetime) -> tuple[int, ...] | None:
    """The time of the first whole line starting after ``offset`` (None: none found)."""
    stream.seek(offset)
    if offset:
        stream.readline()  # the line cut by the offset
    for _ in range(50):  # a few unstamped lines are skipped, not a whole file
        line = stream.readline(4096)
        if not line:
            return None
        stamp = _stamp(line, now)
        if stamp is not None:
            return stamp
    return None


def seek_window(stream: BinaryIO, since: dt.datetime, now: dt.datetime) -> int:
    """Position ``stream`` (a seekable log in time order) a little before the first line
    stamped at or after ``since``; returns that offset. Lines before it are then dropped by
    ``since_filter``, so a rough position is enough."""
    size = os.fstat(stream.fileno()).st_size
    floor = since.timetuple()[:6]
    lo, hi = 0, size
    while hi - lo > _SEEK_GRAIN:
        mid = (lo + hi) // 2
        stamp = _stamp_after(stream, mid, now)
        if stamp is not None and stamp < floor:
            lo = mid
        else:
            hi = mid
    stream.seek(lo)
    if lo:
        stream.readline()
    return lo
