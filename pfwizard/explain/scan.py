"""Read a mail log of any size in constant memory, and group its rejects by cause.

The log is read by ``pfwizard.maillog`` (big binary blocks searched in place); only lines
containing ``reject: `` are decoded and parsed (a mail log is mostly connect/disconnect/delivery
lines). Finding those lines runs at about 1 GB/s; each reject line then costs ~10 µs of parsing
(benchmarks/README.md has the figures). Grouping keeps one explanation per cause and bounded
sample counters, so memory does not grow with the log.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import BinaryIO

from pfwizard.explain.box import BoxConfig
from pfwizard.explain.causes import classify
from pfwizard.explain.explainer import Explanation, explain
from pfwizard.explain.logline import RejectLine, line_time, parse_line
from pfwizard.maillog import BLOCK, marked_lines

_MARK = b"reject: "
MAX_SAMPLES = 200
"""Distinct senders/clients counted per group; the rest are counted as 'others'."""
MAX_GROUPS = 500
"""Distinct causes kept apart; past that (a log full of free-text table answers) the rest
share one group, so memory stays bounded whatever the log holds."""


def reject_lines(stream: BinaryIO, chunk_size: int = BLOCK) -> Iterator[str]:
    """Every line of ``stream`` that contains ``reject: ``, decoded, without its newline."""
    return marked_lines(stream, _MARK, chunk_size)


# ---- --since ---------------------------------------------------------------------------------
_RELATIVE_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """``--since``: ``2026-11-22``, ``2026-11-22 03:00[:00]``, ISO ``T`` form, ``today``,
    ``yesterday``, or a relative age such as ``30m``, ``6h``, ``2d``, ``1w``."""
    now = now or dt.datetime.now()
    t = text.strip().lower()
    if t == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if t == "yesterday":
        return now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=1)
    m = _RELATIVE_RE.match(t)
    if m:
        try:
            return now - dt.timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])
        except (OverflowError, ValueError):
            raise ValueError(f"--since: {text!r} reaches back before year 1") from None
    for fmt in (
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d",
    ):
        try:
            return dt.datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    raise ValueError(f"--since: cannot read {text!r} (use e.g. '2026-11-22 03:00', '6h', '2d')")


def since_filter(
    lines: Iterable[str], since: dt.datetime, now: dt.datetime | None = None
) -> Iterator[str]:
    """Lines stamped at or after ``since``. Classic syslog stamps have no year: a stamp later
    than now is taken as last year's (a log that spans New Year)."""
    now = now or dt.datetime.now()
    floor = since.timetuple()[:6]
    for line in lines:
        stamp = line_time(line, now.year)
        if stamp is None:
            continue
        if stamp[1:] > now.timetuple()[1:6] and not line[:4].isdigit():
            stamp = (now.year - 1, *stamp[1:])
        if stamp >= floor:
            yield line


# ---- grouping --------------------------------------------------------------------------------
@dataclass
class Counter:
    """Counts of distinct values, bounded: past ``limit`` distinct values the rest are others."""

    limit: int = MAX_SAMPLES
    counts: dict[str, int] = field(default_factory=dict)
    others: int = 0

    def add(self, value: str) -> None:
        if value in self.counts:
            self.counts[value] += 1
        elif len(self.counts) < self.limit:
            self.counts[value] = 1
        else:
            self.others += 1

    def top(self, n: int = 5) -> list[tuple[str, int]]:
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


@dataclass
class Tally:
    """Rejects counted together, before they are explained."""

    line: RejectLine
    """The first of them: the one explained for all."""
    count: int = 0
    first: str = ""
    last: str = ""
    senders: Counter = field(default_factory=Counter)
    clients: Counter = field(default_factory=Counter)
    recipients: Counter = field(default_factory=Counter)

    def add(self, line: RejectLine) -> None:
        self.count += 1
        stamp = line.raw[:15] if not line.raw[:4].isdigit() else line.raw[:19]
        self.first = self.first or stamp
        self.last = stamp
        self.senders.add(line.sender or "<>")
        self.clients.add(f"{line.client_name}[{line.client_ip}]")
        self.recipients.add(line.recipient)


@dataclass(kw_only=True)
class Group(Tally):
    """Rejects with the same cause at the same place of the config."""

    explanation: Explanation


@dataclass
class Report:
    groups: list[Group]
    lines: int
    """Reject lines read (after --since)."""
    unparsed: int
    """Lines with 'reject: ' that are not a reject pfwizard knows (e.g. a warning quoting one)."""

    @property
    def unexplained(self) -> int:
        return sum(g.count for g in self.groups if not g.explanation.explained)


def _group_key(line: RejectLine) -> tuple[str, ...]:
    cause, parts = classify(line)
    detail = parts.get("zone", "") or parts.get("table", "") or parts.get("user", "")
    if cause.lookup or cause.id in ("unknown", "milter", "header-checks"):
        # Free text: table answers differ by entry; keep them apart, minus addresses/numbers.
        detail = re.sub(r"<[^>]*>|\[[^\]]*\]|\d+", "", parts.get("reason", line.reason))
    return (line.syslog_name, line.kind, line.stage, cause.id, detail)


def group(lines: Iterable[str], box: BoxConfig | Callable[[], BoxConfig]) -> Report:
    """Parse, count and explain (once per cause) every reject line.

    ``box`` may be a function that returns the config: it is called once the lines are read,
    so asking Postfix about the config (``postconf``, which can take a second) overlaps the
    reading of a big log."""
    tallies: dict[tuple[str, ...], Tally] = {}
    n = unparsed = 0
    for raw in lines:
        line = parse_line(raw)
        if line is None:
            unparsed += 1
            continue
        n += 1
        key = _group_key(line)
        if key not in tallies and len(tallies) >= MAX_GROUPS:
            key = ("", "", "", "overflow", "")
        t = tallies.get(key)
        if t is None:
            t = tallies[key] = Tally(line)
        t.add(line)
    config = box if isinstance(box, BoxConfig) else box()
    groups = [
        Group(
            **{f.name: getattr(t, f.name) for f in fields(Tally)},
            explanation=explain(t.line, config),
        )
        for t in tallies.values()
    ]
    ordered = sorted(groups, key=lambda g: -g.count)
    return Report(ordered, n, unparsed)
