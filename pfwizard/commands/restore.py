"""`pfwizard restore`: put the recorded customisations back after a MiaB upgrade."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pfwizard import exitcodes, miab
from pfwizard.intent import IntentFile, Policy, build_plan
from pfwizard.intent.adopt import find_adoptions
from pfwizard.intent.execute import Request, execute
from pfwizard.intent.hook import install_hook
from pfwizard.intent.writer import Writer
from pfwizard.maincf import MainCf

HELP = "re-apply your customisations on top of what a MiaB upgrade wrote"

EPILOG = """\
Every operation recorded in customizations.yaml is replayed onto MiaB's current value: MiaB's
new items stay, yours go back at their anchors, glued continuation lines are repaired, lost
tables are rebuilt. With --adopt, customisations you made by hand before pfwizard, which a
MiaB setup run commented out, are read back and recorded first. Conflicts (anchor gone,
MiaB now ships your item elsewhere, you removed something MiaB changed) are listed and
nothing is written unless --on-conflict is given.
exit codes: 0 nothing to do (or --dry-run), 10 restored, 2 error, 3 failed and rolled back,
4 conflict / declined / refused (nothing written).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{HELP}.\n\n{EPILOG}"
    parser.add_argument("-y", "--yes", action="store_true",
                        help="do not ask (for scripts, cron and the systemd hook)")
    parser.add_argument("--on-conflict", choices=[p.value for p in Policy],
                        help="keep-miab: MiaB's value wins and the conflicting customisation "
                             "is dropped; skip: apply the rest and keep it recorded")
    parser.add_argument("--miab-dir", metavar="DIR",
                        help="the Mail-in-a-Box checkout, for its release")
    parser.add_argument("--adopt", action="store_true",
                        help="first read back customisations made by hand that a MiaB setup "
                             "run commented out, and record them in customizations.yaml")
    parser.add_argument("--install-hook", choices=("systemd", "cron"),
                        help="install a systemd path unit (or a cron entry) that runs "
                             "`pfwizard restore --yes --on-conflict=skip` after MiaB "
                             "rewrites main.cf, then exit")
    parser.add_argument("--hook-dir", metavar="DIR",
                        help="where to install the hook (default /etc/systemd/system or "
                             "/etc/cron.d); no systemctl call when given")


def _ask(question: str) -> bool:
    # The wizard's restore screen takes over here once it exists; until then, a plain y/N.
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def run(args: argparse.Namespace) -> int:
    if args.install_hook:
        for line in install_hook(args.install_hook, args.config_dir, args.state_dir,
                                 args.hook_dir):
            print(line)
        return exitcodes.OK
    config_dir = Path(args.config_dir)
    cf = MainCf.read(config_dir / "main.cf")
    store = IntentFile.for_state_dir(args.state_dir)
    if args.adopt:
        for adoption in find_adoptions(cf, set(store.model.chains)):
            print(f"adopted {adoption.describe()}")
            store.set_chain(adoption.intent)
    policy = Policy(args.on_conflict) if args.on_conflict else None
    plan = build_plan(cf, store.model, policy)
    release = miab.installed_release(args.miab_dir)
    confirm = None
    if not args.yes and not args.dry_run:
        if not sys.stdin.isatty():
            plan_only = Request("", dry_run=True)
            code = execute(plan, store, Writer(config_dir, args.state_dir), plan_only)
            if code == exitcodes.OK and not plan.in_sync:
                print("not a terminal: run again with --yes to apply", file=sys.stderr)
                return exitcodes.REFUSED
            return code
        confirm = _ask
    req = Request(f"restore customisations (MiaB {release or 'release unknown'})",
                  kind="restore", release=release, dry_run=args.dry_run, confirm=confirm)
    writer = Writer(config_dir, args.state_dir, reload=not args.no_reload)
    return execute(plan, store, writer, req)
