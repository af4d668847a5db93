"""`pfwizard status`: are the recorded customisations in force? (for people, cron, monitoring)"""

from __future__ import annotations

import argparse
from pathlib import Path

from pfwizard import exitcodes, miab
from pfwizard.analyser import analyse
from pfwizard.findings import Finding, Severity
from pfwizard.intent import IntentFile, build_plan
from pfwizard.intent.adopt import find_adoptions
from pfwizard.intent.report import describe
from pfwizard.maincf import MainCf

HELP = "report whether your customisations survived the last MiaB upgrade"

EPILOG = """\
status reports: in sync; customisations missing (after an upgrade); MiaB changed the base
under a customisation; glued continuation lines; tables to rebuild; danger findings;
hand-made customisations a MiaB setup run commented out (restore --adopt reads them back).
exit codes: 0 in sync, 1 drift (anything above; run `pfwizard restore`), 2 error.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = f"{HELP}.\n\n{EPILOG}"
    parser.add_argument("--miab-dir", metavar="DIR",
                        help="the Mail-in-a-Box checkout, for its release (default: "
                             f"${miab.CHECKOUT_ENV}, else /root/mailinabox)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print nothing; the exit code says it all")


def danger_findings(cf: MainCf, config_dir: Path) -> list[Finding]:
    """Danger findings from pfwizard's analyser (main.cf, master.cf and the tables)."""
    return [f for f in analyse(cf, config_dir) if f.severity is Severity.DANGER]


def run(args: argparse.Namespace) -> int:
    config_dir = Path(args.config_dir)
    cf = MainCf.read(config_dir / "main.cf")
    store = IntentFile.for_state_dir(args.state_dir)
    plan = build_plan(cf, store.model)
    dangers = danger_findings(cf, config_dir)
    adoptable = find_adoptions(cf, set(store.model.chains))
    release = miab.installed_release(args.miab_dir)
    drift = not plan.in_sync or bool(plan.conflicts) or bool(dangers) or bool(adoptable)
    if args.quiet:
        return exitcodes.FINDINGS if drift else exitcodes.OK
    recorded = store.model.miab_release
    print(f"Mail-in-a-Box: {release or 'release unknown'}"
          + (f"; customisations recorded on {recorded}" if recorded else ""))
    if store.model.is_empty():
        print(f"no customisations recorded ({store.path})")
    for line in describe(plan):
        print(line)
    for f in dangers:
        print(f"{f.severity.symbol} {f}")
    for a in adoptable:
        print(f"commented out by MiaB: {a.describe()}; `pfwizard restore --adopt` puts it back")
    if drift:
        print("=> drift: run `sudo pfwizard restore` (add --dry-run to see the plan)")
        return exitcodes.FINDINGS
    print("=> in sync")
    return exitcodes.OK
