"""`pfwizard apply PROFILE.yaml`: apply a customisations file non-interactively."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pfwizard import exitcodes, jsonout, miab
from pfwizard.commands import impact
from pfwizard.commands.risks import accepted_risks, add_accept_risk
from pfwizard.impact.proposal import Undecided
from pfwizard.impact.report import render
from pfwizard.intent import IntentFile, Policy
from pfwizard.intent.context import read_master
from pfwizard.intent.execute import Request, execute
from pfwizard.intent.profile import plan_profile, record_profile
from pfwizard.intent.rebase import policy_help
from pfwizard.intent.store import ListEditRefused
from pfwizard.intent.writer import Writer
from pfwizard.maincf import MainCf

EPILOG = """\
For configuration management: the profile's operations are replayed onto this box's MiaB
values (any release), its tables written, its parameters and master.cf service options
(services:) set, through the safe apply engine;
then it is recorded in this box's customizations.yaml so `pfwizard restore` keeps it after
upgrades. Running it again changes nothing. Conflicts follow restore's rules: a `remove:` of an
item whose form MiaB has changed (v66's `reject_rbl_client zen.spamhaus.org`, v68's
`...zen.spamhaus.org=127.0.0.[2..11]`) stops with exit 4 until --on-conflict decides it; the
decision is recorded on this box, so the same profile is not stopped again.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{parser.description}.\n\n{EPILOG}"
    parser.add_argument("profile", metavar="PROFILE.yaml", help="the customisations file")
    parser.add_argument(
        "--on-conflict",
        choices=[p.value for p in Policy],
        help=f"what to do with conflicts (recorded, so a decided conflict is "
        f"not asked again): {policy_help()}",
    )
    parser.add_argument(
        "--confirm-within",
        metavar="SECONDS",
        type=float,
        help="roll the change back by itself unless confirmed in time with "
        "`pfwizard rollback --confirm ID` (even if the session dies)",
    )
    parser.add_argument(
        "--miab-dir", metavar="DIR", help="the Mail-in-a-Box checkout, for its release"
    )
    add_accept_risk(parser)
    parser.add_argument(
        "--impact",
        action="store_true",
        help="first show what the change would have done to this box's mail "
        "of the last days (see `pfwizard impact`); Ctrl-C during the "
        "preview stops before anything is written",
    )
    impact.add_impact_options(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON document (files before and after, "
        "findings, journal entry); progress goes to standard error",
    )


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ListEditRefused as exc:
        # With --json, jsonout.guarded turns this line into the document's error.
        print(f"pfwizard: refused, nothing written: {exc}", file=sys.stderr)
        return exitcodes.REFUSED


def _preview(args: argparse.Namespace) -> tuple[int | None, dict[str, Any] | None]:
    """``--impact``: the report, before anything is planned for writing (exit code to stop
    with, else None; and the report for --json)."""
    refused = impact.refuse_options(args, "apply --impact")
    if refused:
        print(refused, file=sys.stderr)
        return exitcodes.ERROR, None
    policy = Policy(args.on_conflict) if args.on_conflict else None
    try:
        rep, scan = impact.run_preview(args, args.profile, policy)
    except Undecided:
        return None, None  # the apply below says which conflicts need deciding
    if args.json:
        return None, {"log": impact.scan_json(scan, args.days), **rep.to_json()}
    for line in render(rep):
        print(line)
    print()
    return None, None


def _run(args: argparse.Namespace) -> int:
    preview_doc = None
    if args.impact:
        stop, preview_doc = _preview(args)
        if stop is not None:
            return stop
    profile = IntentFile.load(args.profile).model
    config_dir = Path(args.config_dir)
    cf = MainCf.read(config_dir / "main.cf")
    master = read_master(config_dir)
    state = IntentFile.for_state_dir(args.state_dir)
    policy = Policy(args.on_conflict) if args.on_conflict else None
    plan = plan_profile(cf, state, profile, policy, master)
    release = miab.installed_release(args.miab_dir)
    req = Request(
        f"apply profile {Path(args.profile).name}",
        kind="apply",
        release=release,
        dry_run=args.dry_run,
        confirm_within=args.confirm_within,
        update=lambda s: record_profile(s, cf, plan, profile, release, master),
    )
    if not args.json:
        writer = Writer(
            config_dir, args.state_dir, reload=not args.no_reload, accept_risk=accepted_risks(args)
        )
        return execute(plan, state, writer, req)
    gate = jsonout.RecordingGate(config_dir)
    writer = Writer(
        config_dir,
        args.state_dir,
        reload=not args.no_reload,
        gate=gate,
        accept_risk=accepted_risks(args),
    )
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        jsonout.to_stderr(line)

    code = execute(plan, state, writer, req, say)
    doc = jsonout.change_document("apply", code, req, plan, gate, said)
    doc["profile"] = str(Path(args.profile).resolve())
    if preview_doc is not None:
        doc["impact"] = preview_doc
    jsonout.emit(doc)
    return code
