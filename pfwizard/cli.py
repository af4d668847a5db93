"""The `pfwizard` command line. Parses arguments and hands off to ``pfwizard.commands.<name>``.

Kept free of Textual: only the commands that open the wizard import it, and only when run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from pfwizard import __version__, exitcodes
from pfwizard.errors import PfwizardError

DEFAULT_CONFIG_DIR = "/etc/postfix"
DEFAULT_STATE_DIR = "/var/lib/pfwizard"

# Subcommand → module in pfwizard.commands (the order is the order of --help).
COMMANDS = ("demo", "check", "status", "restore", "apply", "rollback", "explain")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options every subcommand takes, before or after the subcommand name."""
    default = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("global options")
    g.add_argument("--config-dir", metavar="DIR",
                   default=default if suppress else DEFAULT_CONFIG_DIR,
                   help=f"Postfix configuration directory, like postconf -c "
                        f"(default {DEFAULT_CONFIG_DIR})")
    g.add_argument("--state-dir", metavar="DIR",
                   default=default if suppress else DEFAULT_STATE_DIR,
                   help=f"where pfwizard keeps backups, journal and customizations.yaml "
                        f"(default {DEFAULT_STATE_DIR})")
    g.add_argument("--dry-run", action="store_true",
                   default=default if suppress else False,
                   help="show what would change (diffs), write nothing")
    g.add_argument("--no-reload", action="store_true",
                   default=default if suppress else False,
                   help="write and check, but do not reload Postfix")
    g.add_argument("--no-color", action="store_true",
                   default=default if suppress else False,
                   help="no colours (also honours the NO_COLOR environment variable)")


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"pfwizard.commands.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pfwizard",
        description="Customise Postfix's SMTP restrictions on a Mail-in-a-Box safely, "
                    "and get the customisations back after a MiaB upgrade.",
        epilog=exitcodes.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pfwizard {__version__}")
    _global_options(parser, suppress=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        mod = _load(name)
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP, epilog=exitcodes.HELP,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        _global_options(p, suppress=True)
        mod.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    name = args.command or "wizard"
    try:
        return int(_load(name).run(args))
    except PfwizardError as exc:
        print(f"pfwizard: {exc}", file=sys.stderr)
        return exitcodes.ERROR
    except BrokenPipeError:
        # `pfwizard check | head`: the reader left; not an error worth a traceback.
        sys.stderr.close()
        return exitcodes.OK
    except KeyboardInterrupt:
        print("pfwizard: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
