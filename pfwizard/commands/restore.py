"""`pfwizard restore`: put the recorded customisations back after a MiaB upgrade."""

from __future__ import annotations

import argparse
import sys

from pfwizard import exitcodes, jsonout, trail
from pfwizard.commands.risks import accepted_risks, add_accept_risk
from pfwizard.errors import PfwizardError
from pfwizard.intent import Policy
from pfwizard.intent.context import RestoreContext, open_restore
from pfwizard.intent.hook import HookError, install_hook, record_outcome
from pfwizard.intent.rebase import policy_help
from pfwizard.intent.store import ListEditRefused

EPILOG = """\
Every operation recorded in customizations.yaml is replayed onto MiaB's current value: MiaB's
new items stay, yours go back at their anchors, glued continuation lines are repaired, lost
tables are rebuilt. The same for master.cf options (services: in customizations.yaml, e.g.
authclean/unix/header_checks), which MiaB's setup resets whole. With --adopt, customisations
you made by hand before pfwizard, which a MiaB setup run commented out (in main.cf, and -o
options of a master.cf entry), are read back and recorded first; their old lines stay in the
files as comments under a note. Conflicts (anchor gone,
MiaB now ships your item elsewhere, you removed something MiaB changed) are listed and
nothing is written unless --on-conflict is given; the decision is recorded in
customizations.yaml, so the same conflict is not asked again at the next upgrade.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{parser.description}.\n\n{EPILOG}"
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="do not ask (for scripts, cron and the systemd hook)",
    )
    parser.add_argument(
        "--on-conflict",
        choices=[p.value for p in Policy],
        help=f"what to do with conflicts (recorded, so a decided conflict is "
        f"not asked again): {policy_help()}",
    )
    parser.add_argument(
        "--miab-dir", metavar="DIR", help="the Mail-in-a-Box checkout, for its release"
    )
    parser.add_argument(
        "--adopt",
        action="store_true",
        help="first read back customisations made by hand that a MiaB setup "
        "run commented out (main.cf and master.cf), and record them in "
        "customizations.yaml; the old lines stay as comments",
    )
    parser.add_argument(
        "--install-hook",
        choices=("systemd", "cron"),
        help="install a systemd path unit (or a cron entry) that runs "
        "`pfwizard restore --yes --on-conflict=skip` after MiaB "
        "rewrites main.cf or master.cf, then exit",
    )
    parser.add_argument(
        "--hook",
        action="store_true",
        help="this run is the after-upgrade hook: keep its outcome for "
        "`pfwizard status` and in the system log (mail facility)",
    )
    add_accept_risk(parser)
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the result as one JSON document (files before and after, "
        "findings, journal entry) and ask nothing; progress goes to "
        "standard error",
    )
    parser.add_argument(
        "--hook-dir",
        metavar="DIR",
        help="where to install the hook (default /etc/systemd/system or "
        "/etc/cron.d); no systemctl call when given",
    )


def _ask(question: str) -> bool:
    # On a terminal the wizard's restore screen asks (see run); this plain y/N remains for
    # --on-conflict / --adopt runs on a terminal without --yes.
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    if args.install_hook:
        try:
            lines = install_hook(args.install_hook, args.config_dir, args.state_dir, args.hook_dir)
        except HookError as exc:
            print(f"pfwizard: {exc}", file=sys.stderr)
            return exc.code
        if args.json:
            doc = jsonout.frame("restore", exitcodes.OK)
            doc["hook"] = {"kind": args.install_hook, "messages": lines}
            jsonout.emit(doc)
            return exitcodes.OK
        for line in lines:
            print(line)
        return exitcodes.OK
    if not args.hook:
        return _restore(args, [])
    # The hook runs unattended: whatever happens, leave it where status and the log show it.
    # One line in the system log per run: what the engine logs for the change it made is
    # kept and folded into the run's own line.
    ctxs: list[RestoreContext] = []
    changes: list[str] = []
    try:
        with trail.held(changes):
            code = _restore(args, ctxs)
    except PfwizardError as exc:
        record_outcome(args.state_dir, exitcodes.ERROR, str(exc), changes=changes)
        raise
    except Exception as exc:
        record_outcome(
            args.state_dir, exitcodes.ERROR, f"{type(exc).__name__}: {exc}", changes=changes
        )
        raise
    open_conflicts = (
        len(ctxs[0].plan.left_open) if ctxs and code in (exitcodes.OK, exitcodes.CHANGED) else 0
    )
    record_outcome(args.state_dir, code, _hook_summary(code, ctxs), open_conflicts, changes)
    return code


def _hook_summary(code: int, ctxs: list[RestoreContext]) -> str:
    ctx = ctxs[0] if ctxs else None
    words = {
        exitcodes.OK: "nothing to restore",
        exitcodes.CHANGED: "customisations restored",
        exitcodes.FAILED: "restore failed and was rolled back",
        exitcodes.REFUSED: "restore refused, nothing written",
    }
    text = words.get(code, f"restore ended with exit {code}")
    if code == exitcodes.OK and ctx is not None and ctx.plan.left_open:
        text = "nothing else to restore"
    if ctx is not None and ctx.entry_id:
        text += f" (journal entry {ctx.entry_id})"
    if ctx is not None and ctx.error:
        text += f": {ctx.error}"
    if ctx is not None and ctx.plan.decided and ctx.plan.policy is not None:
        text += f"; {len(ctx.plan.decided)} conflict(s) decided ({ctx.plan.policy.value})"
    open_ = ctx.plan.left_open if ctx is not None else []
    if open_:
        text += (
            f"; {len(open_)} conflict(s) left open (not restored; decide with "
            "`pfwizard restore --on-conflict=...`, see `pfwizard status`): "
            + "; ".join(str(c) for c in open_)
        )
    return text


def _restore(args: argparse.Namespace, ctxs: list[RestoreContext]) -> int:
    if (
        not args.yes
        and not args.dry_run
        and not args.adopt
        and not args.on_conflict
        and not args.json
        and sys.stdin.isatty()
        and sys.stdout.isatty()
    ):
        # tuix hook: on a terminal the wizard's restore screen shows the plan
        # side by side and asks; Textual is imported only inside open_wizard.
        from pfwizard.commands.wizard import open_wizard
        from pfwizard.session import Session

        session = Session.open(
            args.config_dir, args.state_dir, reload=not args.no_reload, miab_checkout=args.miab_dir
        )
        return open_wizard(session, args, start="restore")
    try:
        ctx = open_restore(
            args.config_dir,
            args.state_dir,
            policy=Policy(args.on_conflict) if args.on_conflict else None,
            adopt=args.adopt,
            miab_dir=args.miab_dir,
        )
    except ListEditRefused as exc:
        print(f"pfwizard: refused, nothing written: {exc}", file=sys.stderr)
        return exitcodes.REFUSED
    ctxs.append(ctx)
    if args.json:
        return _restore_json(args, ctx)
    for adoption in ctx.adopted:
        print(f"adopted {adoption.describe()}")
    if not args.yes and not args.dry_run and not sys.stdin.isatty():
        code = ctx.run(dry_run=True)
        if code in (exitcodes.OK, exitcodes.CHANGED) and not ctx.plan.in_sync:
            print("not a terminal: run again with --yes to apply", file=sys.stderr)
            return exitcodes.REFUSED
        return code
    confirm = None if args.yes or args.dry_run else _ask
    return ctx.run(
        reload=not args.no_reload,
        dry_run=args.dry_run,
        confirm=confirm,
        accept_risk=accepted_risks(args),
    )


def _restore_json(args: argparse.Namespace, ctx: RestoreContext) -> int:
    """The same restore, asking nothing: without --yes (or --dry-run) it only plans."""
    said: list[str] = []

    def say(line: str) -> None:
        said.append(line)
        jsonout.to_stderr(line)

    for adoption in ctx.adopted:
        say(f"adopted {adoption.describe()}")
    gate = jsonout.RecordingGate(ctx.config_dir)
    ask_first = not args.yes and not args.dry_run
    code = ctx.run(
        reload=not args.no_reload,
        dry_run=args.dry_run or ask_first,
        say=say,
        gate=gate,
        accept_risk=accepted_risks(args),
    )
    if ask_first and code in (exitcodes.OK, exitcodes.CHANGED) and not ctx.plan.in_sync:
        say("--json asks nothing: run again with --yes to apply")
        code = exitcodes.REFUSED
    assert ctx.request is not None
    doc = jsonout.change_document("restore", code, ctx.request, ctx.plan, gate, said)
    doc["adopted"] = [a.describe() for a in ctx.adopted]
    jsonout.emit(doc)
    return code
