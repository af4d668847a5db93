"""`pfwizard impact PROFILE.yaml`: what a change would have done to this box's recent mail.

Also the shared part of ``apply --impact``: its options and ``run_preview``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from pfwizard import exitcodes, jsonout
from pfwizard.errors import PfwizardError
from pfwizard.impact import logscan
from pfwizard.impact.preview import RATE, preview
from pfwizard.impact.proposal import Undecided, plan_change
from pfwizard.impact.report import ImpactReport, render
from pfwizard.intent import Policy
from pfwizard.intent.rebase import policy_help

DEFAULT_LOG = "/var/log/mail.log"

EPILOG = """\
Reads the last days of the mail log (rotations and .gz included, or the journal), takes the
envelopes of the mail this box accepted and rejected (client, HELO where logged, sender,
recipient), and asks two private copies of this box's Postfix, one as it is and one with the
change, what each would answer to every envelope. Nothing is sent past RCPT TO, nothing is
queued or delivered, and the running Postfix and its policy services (postgrey,
quota-status) are never contacted: the copies run on their own loopback port and temporary
directory, removed at the end (also on Ctrl-C). Logged-in users' mail is not replayed;
DNS answers are today's, asked through the box's resolver at a paced rate (--rate).
"""


def add_impact_options(parser: argparse.ArgumentParser) -> None:
    """The options of the preview (for ``impact`` and ``apply --impact``)."""
    parser.add_argument(
        "--log",
        metavar="FILE",
        help=f"the mail log to read (default {DEFAULT_LOG}; its rotations "
        "and .gz files are read too)",
    )
    parser.add_argument(
        "--journal", action="store_true", help="read the systemd journal instead of a log file"
    )
    parser.add_argument(
        "--days",
        metavar="N",
        type=int,
        default=logscan.DAYS,
        help=f"how many days of mail to replay (default {logscan.DAYS})",
    )
    parser.add_argument(
        "--max",
        metavar="N",
        type=int,
        default=logscan.LIMIT,
        dest="max",
        help=f"replay at most N distinct envelopes, chosen in proportion to "
        f"traffic (default {logscan.LIMIT})",
    )
    parser.add_argument(
        "--rate",
        metavar="N",
        type=int,
        default=RATE,
        help=f"replay at most N envelopes per second, so the DNS lookups they cause "
        f"(blocklists, sender domains) do not flood the box's resolver (default {RATE}; "
        "0: no limit)",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{parser.description}.\n\n{EPILOG}"
    parser.add_argument(
        "profile",
        metavar="PROFILE.yaml",
        help="the proposed change, in the format `pfwizard apply` takes",
    )
    add_impact_options(parser)
    parser.add_argument(
        "--on-conflict",
        choices=[p.value for p in Policy],
        help=f"how to plan conflicts, as `apply` would: {policy_help()}",
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the report as one JSON document; progress goes to standard error",
    )


class Bar:
    """A progress bar on standard error (only on a terminal: a log file gets no bar)."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.shown = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.tty or total <= 0:
            return
        pct = done * 100 // total
        if pct == self.shown:
            return
        self.shown = pct
        full = pct * 30 // 100
        self.stream.write(
            f"\rreplaying [{'#' * full}{'.' * (30 - full)}] {pct:3d}% "
            f"({done // 2} of {total // 2} envelopes)"
        )
        self.stream.flush()

    def end(self) -> None:
        if self.tty and self.shown >= 0:
            self.stream.write("\n")
            self.stream.flush()


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM (and SIGHUP) stop the preview as Ctrl-C does: the clean-up still runs."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_preview(
    args: argparse.Namespace, profile: str, policy: Policy | None = None
) -> tuple[ImpactReport, logscan.Scan]:
    """Read the log, plan the change, replay: the report. Undecided when conflicts need
    --on-conflict; KeyboardInterrupt after cleaning up."""
    config_dir, state_dir = Path(args.config_dir), Path(args.state_dir)
    plan = plan_change(config_dir, state_dir, profile, policy)
    source = "the systemd journal" if args.journal else (args.log or DEFAULT_LOG)
    say(f"reading the last {args.days} days of {source}...")
    with interruptible():
        try:
            scan = logscan.extract(
                None if args.journal else (args.log or DEFAULT_LOG),
                journal=args.journal,
                days=args.days,
                limit=args.max,
            )
        except OSError as exc:
            raise PfwizardError(f"cannot read {source}: {exc.strerror or exc}") from exc
        sampled = (
            f", {len(scan.envelopes)} of them chosen in proportion to traffic"
            if scan.sampled
            else ""
        )
        paced = f", at most {args.rate} a second" if args.rate else ""
        say(
            f"{scan.occurrences} envelopes, {scan.distinct} distinct{sampled}; replaying them "
            f"on two private copies of this box's Postfix (current and proposed){paced}..."
        )
        bar = Bar()
        try:
            rep = preview(
                Path(profile).name,
                config_dir,
                plan,
                scan.envelopes,
                progress=bar,
                rate=args.rate,
            )
        finally:
            bar.end()
    return rep, scan


def scan_json(scan: logscan.Scan, days: int) -> dict[str, Any]:
    return {
        "sources": scan.sources,
        "days": days,
        "occurrences": scan.occurrences,
        "distinct": scan.distinct,
        "replayed": len(scan.envelopes),
        "sampled": scan.sampled,
    }


def refuse_options(args: argparse.Namespace, command: str) -> str | None:
    """Why the preview cannot run with these options (None: it can)."""
    if os.geteuid() != 0:
        return (
            f"pfwizard {command}: the impact preview runs private copies of Postfix, "
            "which needs root: run it with sudo"
        )
    if args.log and args.journal:
        return f"pfwizard {command}: give --log FILE or --journal, not both"
    if args.days < 1 or args.max < 1:
        return f"pfwizard {command}: --days and --max must be at least 1"
    if args.rate < 0:
        return f"pfwizard {command}: --rate must be 0 (no limit) or more"
    return None


def run(args: argparse.Namespace) -> int:
    refused = refuse_options(args, "impact")
    if refused:
        say(refused)
        return exitcodes.ERROR
    policy = Policy(args.on_conflict) if args.on_conflict else None
    try:
        rep, scan = run_preview(args, args.profile, policy)
    except Undecided as exc:
        say(f"pfwizard impact: {exc}")
        return exitcodes.REFUSED
    if args.json:
        doc = jsonout.frame("impact", exitcodes.OK, dry_run=True)  # a preview writes nothing
        doc.update(
            {
                "profile": str(Path(args.profile).resolve()),
                "log": scan_json(scan, args.days),
                **rep.to_json(),
            }
        )
        jsonout.emit(doc)
    else:
        for line in render(rep):
            print(line)
        print(f"({rep.seconds:.1f} s)")
    return exitcodes.OK
