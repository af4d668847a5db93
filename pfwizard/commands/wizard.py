"""`pfwizard` with no subcommand: the wizard (the TUI arrives with the wizard issue)."""

from __future__ import annotations

import argparse
import sys

from pfwizard import exitcodes

HELP = "open the wizard (default)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    del args
    print("pfwizard: the interactive wizard is not available in this version yet; "
          "try `pfwizard demo`", file=sys.stderr)
    return exitcodes.ERROR
