"""`pfwizard rollback` (not built yet: see the issue that owns it)."""

from __future__ import annotations

import argparse
import sys

from pfwizard import exitcodes

HELP = "rollback (not available yet)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    print("pfwizard rollback: not available in this version yet", file=sys.stderr)
    return exitcodes.ERROR
