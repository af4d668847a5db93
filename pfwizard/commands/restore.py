"""`pfwizard restore` (not built yet: see the issue that owns it)."""

from __future__ import annotations

import argparse
import sys

from pfwizard import exitcodes

HELP = "restore (not available yet)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    print("pfwizard restore: not available in this version yet", file=sys.stderr)
    return exitcodes.ERROR
