"""`pfwizard status`: are the recorded customisations in force? (for people, cron, monitoring)"""

from __future__ import annotations

import argparse
from pathlib import Path

from pfwizard import exitcodes, journalcheck, miab, unreverted
from pfwizard.analyser import analyse
from pfwizard.findings import Finding, Severity
from pfwizard.intent.context import open_restore
from pfwizard.intent.hook import last_outcome
from pfwizard.intent.report import describe
from pfwizard.maincf import MainCf

EPILOG = """\
status reports: in sync; customisations missing (after an upgrade), in main.cf or master.cf
(named service/type/option, e.g. master.cf authclean/unix/header_checks); MiaB changed the base
under a customisation; glued continuation lines; tables to rebuild; danger findings;
hand-made customisations a MiaB setup run commented out, in main.cf and master.cf (e.g. a
submission -o option; restore --adopt reads them back);
a failed last run of the after-upgrade hook (restore --install-hook), with its reason, or
one that left a conflict open (--on-conflict=skip);
a change applied with confirm-or-revert, not confirmed in time, whose automatic rollback was
refused (it would have put back an open relay): still in force, with the reason;
a change pfwizard was making when it was interrupted (killed, power cut, disk full), which may
be half-applied: `pfwizard restore` (or any apply) undoes it first.

status and check keep what they worked out (each table's check, customizations.yaml as read)
in the state directory's cache/, keyed by the exact bytes it came from: the next run reads it
back instead of working it out again. Deleting cache/ is always safe.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{parser.description}.\n\n{EPILOG}"
    parser.add_argument(
        "--miab-dir",
        metavar="DIR",
        help="the Mail-in-a-Box checkout, for its release (default: "
        f"${miab.CHECKOUT_ENV}, else /root/mailinabox)",
    )
    out = parser.add_mutually_exclusive_group()
    out.add_argument(
        "-q", "--quiet", action="store_true", help="print nothing; the exit code says it all"
    )
    out.add_argument(
        "--json", action="store_true", help="print the status as one JSON document (docs/json.md)"
    )


def danger_findings(cf: MainCf, config_dir: Path) -> list[Finding]:
    """Danger findings from pfwizard's analyser (main.cf, master.cf and the tables)."""
    return [f for f in analyse(cf, config_dir) if f.severity is Severity.DANGER]


def run(args: argparse.Namespace) -> int:
    ctx = open_restore(args.config_dir, args.state_dir, miab_dir=args.miab_dir)
    plan = ctx.plan
    dangers = danger_findings(ctx.cf, ctx.config_dir)
    hook = last_outcome(ctx.state_dir)
    hook_failed = hook is not None and hook.failed
    # Read-only: an interrupted change is reported here, undone by restore or apply.
    interrupted = journalcheck.interrupted(args.config_dir, args.state_dir)
    not_reverted = unreverted.refused_reverts(args.config_dir, args.state_dir)
    drift = (
        not plan.in_sync
        or bool(plan.conflicts)
        or bool(dangers)
        or bool(ctx.adoptable)
        or hook_failed
        or bool(interrupted)
        or bool(not_reverted)
    )
    code = exitcodes.FINDINGS if drift else exitcodes.OK
    if args.quiet:
        return code
    if args.json:
        from pfwizard import jsonout

        data = jsonout.frame("status", code)
        data.update(ctx.to_dict())
        data["findings"] = jsonout.findings(dangers)
        data["in_sync"] = not drift
        # Each finding's code stays here as its id, for monitoring to match on.
        data["danger"] = [
            {"code": f.code, "parameter": f.parameter, "entry": f.entry, "message": f.message}
            for f in dangers
        ]
        data["hook_last_run"] = (
            None
            if hook is None
            else {
                "time": hook.time,
                "exit_code": hook.exit_code,
                "failed": hook.failed,
                "open_conflicts": hook.open_conflicts,
                "message": hook.message,
            }
        )
        data["interrupted"] = [
            {
                "entry": e.id,
                "summary": e.summary,
                "time": e.time,
                "message": journalcheck.describe(e, args.config_dir, args.state_dir),
            }
            for e in interrupted
        ]
        data["revert_refused"] = [
            {
                "entry": r.entry,
                "summary": r.summary,
                "revert_entry": r.revert_entry,
                "time": r.time,
                "reason": r.reason,
                "message": r.describe(),
            }
            for r in not_reverted
        ]
        jsonout.emit(data)
        return code
    for e in interrupted:
        says = journalcheck.describe(e, args.config_dir, args.state_dir)
        print(f"{Severity.DANGER.symbol} {says}")
    for r in not_reverted:
        print(f"{Severity.DANGER.symbol} {r.describe()}")
    recorded = ctx.store.model.miab_release
    print(
        f"Mail-in-a-Box: {ctx.release or 'release unknown'}"
        + (f"; customisations recorded on {recorded}" if recorded else "")
    )
    if ctx.store.model.is_empty():
        print(f"no customisations recorded ({ctx.store.path})")
    for line in describe(plan):
        print(line)
    for f in dangers:
        print(f"{f.severity.symbol} {f}")
    if hook is not None:
        if hook.failed:
            verdict = f"FAILED (exit {hook.exit_code})"
        elif hook.open_conflicts:
            # It restored what it could and skipped the rest: not a clean success.
            verdict = f"LEFT {hook.open_conflicts} CONFLICT(S) OPEN" + (
                "" if plan.conflicts else " (decided since)"
            )
        else:
            verdict = "ok"
        print(f"after-upgrade hook: last run {hook.when} {verdict}: {hook.message}")
    for a in ctx.adoptable:
        print(f"commented out by MiaB: {a.describe()}; `pfwizard restore --adopt` puts it back")
    print(
        "=> drift: run `sudo pfwizard restore` (add --dry-run to see the plan)"
        if drift
        else "=> in sync"
    )
    return code
