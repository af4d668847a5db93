"""`pfwizard check`: every finding about the SMTP restriction lists, on the command line.

Reads main.cf (and master.cf and the referenced tables when present) from --config-dir and
prints each finding with its list, entry and reason; and, first, a change pfwizard was making
when it was interrupted, which may be half-applied (a danger: the files on disk are neither
the old configuration nor the new one).  Exit 0: nothing dangerous; 1: at least one danger
finding; 2: the configuration could not be read (the message names file and line); 4: the
state directory is not root's own.  With ``--nagios``: one status line and the monitoring
plugins' exit codes instead (``pfwizard.nagios``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pfwizard import analyser, exitcodes, journalcheck
from pfwizard.errors import ConfigError
from pfwizard.findings import Finding, Severity, worst

_COLOURS = {Severity.INFO: "36", Severity.CAUTION: "33", Severity.DANGER: "1;31"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-severity",
        choices=[s.value for s in Severity],
        default="info",
        help="hide findings below this severity",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the findings as one JSON document"
    )
    parser.add_argument(
        "--nagios",
        action="store_true",
        help="act as a monitoring plugin (Nagios, Icinga...): one status line "
        "with perfdata danger=N caution=N; exit 0 OK, 1 WARNING (cautions), "
        "2 CRITICAL (dangers), 3 UNKNOWN (configuration unreadable)",
    )


def _use_colour(args: argparse.Namespace) -> bool:
    if getattr(args, "no_color", False) or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def format_finding(f: Finding, colour: bool = False) -> str:
    """One finding as text: severity word (never colour alone), where, reason (the code is
    an id for --json, not a title)."""
    word = f"{f.severity.value.upper():7}"
    if colour:
        word = f"\x1b[{_COLOURS[f.severity]}m{word}\x1b[0m"
    where = f.parameter or "main.cf"
    if f.entry is not None:
        pos = f" #{f.index + 1}" if f.index is not None else ""
        where += f"{pos} [{f.entry}]"
    return f"{f.severity.symbol} {word} {where}\n      {f.message}"


def run(args: argparse.Namespace) -> int:
    config_dir = Path(getattr(args, "config_dir", None) or "/etc/postfix")
    try:
        cf, master = analyser.read_config(config_dir)
    except ConfigError as exc:
        # With --json, jsonout.guarded turns this line into the document's error.
        if getattr(args, "nagios", False):
            from pfwizard import nagios

            code, line = nagios.unknown(f"cannot read the configuration: {exc}")
            print(line)
            return code
        print(f"pfwizard check: cannot read the configuration: {exc}", file=sys.stderr)
        return exitcodes.ERROR
    findings = analyser.analyse(cf, config_dir, master)
    state_dir = getattr(args, "state_dir", None) or "/var/lib/pfwizard"
    try:
        interrupted = journalcheck.interrupted(config_dir, state_dir)
    except OSError:
        interrupted = []  # the journal is root's: without sudo, check the files only
    findings = [
        Finding(
            "interrupted-change",
            Severity.DANGER,
            journalcheck.describe(e, config_dir, state_dir),
            parameter=f"journal entry {e.id}",
        )
        for e in interrupted
    ] + findings
    if getattr(args, "nagios", False):
        from pfwizard import nagios

        code, line = nagios.status(findings, str(config_dir / "main.cf"))
        print(line)
        return code
    floor = Severity(getattr(args, "min_severity", "info")).rank
    shown = [f for f in findings if f.severity.rank >= floor]
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    code = exitcodes.FINDINGS if worst(findings) is Severity.DANGER else exitcodes.OK
    if getattr(args, "json", False):
        from pfwizard import jsonout

        doc = jsonout.frame("check", code)
        doc["findings"] = jsonout.findings(shown)
        doc["counts"] = {s.value: counts[s] for s in reversed(list(Severity))}
        doc["config_file"] = str(config_dir / "main.cf")
        jsonout.emit(doc)
        return code
    colour = _use_colour(args)
    for f in shown:
        print(format_finding(f, colour))
    summary = ", ".join(f"{counts[s]} {s.value}" for s in reversed(list(Severity)))
    print(f"{config_dir / 'main.cf'}: {summary}")
    return code
