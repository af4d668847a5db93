"""The `pfwizard` command line. Parses arguments and hands off to ``pfwizard.commands.<name>``.

Kept free of Textual: only the commands that open the wizard import it, and only when run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from pfwizard import __version__, exitcodes, memo, preflight
from pfwizard.errors import PfwizardError
from pfwizard.statedir import StateDirError, UnsafeStateDir

DEFAULT_CONFIG_DIR = "/etc/postfix"
DEFAULT_STATE_DIR = "/var/lib/pfwizard"

# Subcommand → one-line help; the code lives in pfwizard.commands.<name> and is imported only
# when that command runs (or its --help is asked for): `pfwizard check` must not pay for the
# wizard, the YAML library or the engine.
COMMANDS: dict[str, str] = {
    "demo": "try pfwizard on a bundled Mail-in-a-Box v75 configuration (no mail server needed)",
    "check": "check the SMTP restriction lists and say what is risky (exit 1 on danger)",
    "status": "report whether your customisations survived the last MiaB upgrade",
    "restore": "re-apply your customisations on top of what a MiaB upgrade wrote",
    "apply": "apply a customisations file (same format as customizations.yaml) without questions",
    "rollback": "list pfwizard's changes, undo one, or confirm a change pending confirmation",
    "explain": "explain why Postfix refused mail: which list and restriction, in plain words",
    "impact": "preview what a change would have done to this box's mail of the last days",
}
# Global options that take a value (skipped when looking for the subcommand name).
_VALUE_OPTIONS = ("-c", "--config-dir", "--state-dir", "--mail-log", "--answers")


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options every subcommand takes, before or after the subcommand name."""
    default = argparse.SUPPRESS if suppress else None
    g = parser.add_argument_group("global options")
    g.add_argument(
        "-c",
        "--config-dir",
        metavar="DIR",
        default=default if suppress else DEFAULT_CONFIG_DIR,
        help=f"Postfix configuration directory, like postconf -c (default {DEFAULT_CONFIG_DIR})",
    )
    g.add_argument(
        "--state-dir",
        metavar="DIR",
        default=default if suppress else DEFAULT_STATE_DIR,
        help=f"where pfwizard keeps backups, journal and customizations.yaml "
        f"(default {DEFAULT_STATE_DIR})",
    )
    g.add_argument(
        "--dry-run",
        action="store_true",
        default=default if suppress else False,
        help="show what would change (diffs) and run the same checks on a staged "
        "copy (exit 4 if the change would be refused), write nothing",
    )
    g.add_argument(
        "--no-reload",
        action="store_true",
        default=default if suppress else False,
        help="write and check, but do not reload Postfix",
    )
    g.add_argument(
        "--no-color",
        action="store_true",
        default=default if suppress else False,
        help="no colours (also honours the NO_COLOR environment variable)",
    )
    g.add_argument(
        "--ascii",
        action="store_true",
        default=default if suppress else False,
        help="draw the wizard with plain ASCII characters only (boxes, scrollbars, "
        "marks), for consoles and fonts without line drawing; TERM=linux "
        "already keeps to the Linux console's font",
    )


def _load(name: str) -> ModuleType:
    return importlib.import_module(f"pfwizard.commands.{name}")


def selected_command(argv: Sequence[str]) -> str | None:
    """The subcommand named on the command line, if any (options may come before it)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _VALUE_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (to add its own options)."""
    parser = argparse.ArgumentParser(
        prog="pfwizard",
        description="Customise Postfix's SMTP restrictions on a Mail-in-a-Box safely, "
        "and get the customisations back after a MiaB upgrade. "
        "With no command, opens the wizard.",
        epilog=exitcodes.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"pfwizard {__version__}")
    _global_options(parser, suppress=False)
    # The wizard's own (no subcommand): its first screen lists this log's recent rejects.
    parser.add_argument(
        "--mail-log",
        metavar="FILE",
        help="the mail log whose last 7 days of rejects the wizard lists "
        "(default /var/log/mail.log, else the systemd journal)",
    )
    # A run decided beforehand (as subiquity's autoinstall): the same file for every box.
    parser.add_argument(
        "--answers",
        metavar="FILE",
        help="a JSON answers file that decides each screen of the wizard beforehand "
        "(screen: edits, inputs, action); nothing asked where it answers",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        mod = _load(name) if name == command else None
        p = sub.add_parser(
            name,
            help=summary,
            description=summary,
            epilog=exitcodes.HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        # Only the command being run parses its options: the others' stay unbuilt (a
        # report run from cron every few minutes should not pay for seven parsers).
        if command is None or name == command:
            _global_options(p, suppress=True)
        if mod is not None:
            mod.add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(selected_command(words)).parse_args(words)
    except SystemExit as exc:
        # A monitoring plugin's misconfigured command line is UNKNOWN (3), never CRITICAL.
        if exc.code == exitcodes.ERROR and "--nagios" in words:
            from pfwizard import nagios

            print(nagios.unknown("bad command line (see pfwizard check --help)")[1])
            return nagios.UNKNOWN
        raise
    # Postfix's -c takes only absolute paths ("-c requires absolute pathname"); an admin's
    # `--config-dir box/etc` means the one below the current directory.  abspath, not
    # realpath: a symlinked state directory must stay visible to the checks that refuse it.
    for attr in ("config_dir", "state_dir"):
        value = getattr(args, attr, None)
        if value:
            # A directory name with a control character (a NUL, a newline) is a typing or
            # quoting accident; no Postfix directory has one.
            if any(ord(c) < 32 or ord(c) == 127 for c in value):
                print(
                    f"pfwizard: --{attr.replace('_', '-')} {value!r}: a control character "
                    "in the path",
                    file=sys.stderr,
                )
                return exitcodes.ERROR
            setattr(args, attr, os.path.abspath(value))
    name = args.command or "wizard"
    if name == "check" and getattr(args, "nagios", False):
        return _as_plugin(name, args)
    # explain's --json is a list of explanations of its own, not a command's result document.
    if not getattr(args, "json", False) or name not in (
        "apply",
        "restore",
        "rollback",
        "check",
        "status",
        "impact",
    ):
        return _run(name, args)
    # --json: standard output holds one JSON document whatever happens, even when the
    # command stops before writing its own (an error reading main.cf, a refused state dir).
    from pfwizard import jsonout

    with jsonout.guarded(name, bool(getattr(args, "dry_run", False))) as code:
        code.append(_run(name, args))
    return code[0]


def _as_plugin(name: str, args: argparse.Namespace) -> int:
    """``check --nagios``: whatever stops the check before it judged anything (a state
    directory refused, an internal error) becomes one UNKNOWN status line, exit 3; what
    went wrong still goes to stderr."""
    from pfwizard import nagios

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _run(name, args)
    sys.stderr.write(err.getvalue())
    text = out.getvalue()
    if text.startswith("PFWIZARD ") and code in nagios.STATES:
        sys.stdout.write(text)
        return code
    reasons = [ln.removeprefix("pfwizard: ") for ln in err.getvalue().splitlines() if ln]
    code, line = nagios.unknown(reasons[0] if reasons else f"the check stopped (exit {code})")
    print(line)
    return code


def _run(name: str, args: argparse.Namespace) -> int:
    try:
        # The state directory is checked (and an interrupted change undone) before a
        # command reads anything: see pfwizard.preflight.
        stop = preflight.before(name, args)
        if stop is not None:
            return stop
        if name in memo.READ_ONLY:
            with memo.kept(getattr(args, "state_dir", None)):
                return int(_load(name).run(args))
        return int(_load(name).run(args))
    except StateDirError as exc:
        print(f"pfwizard: {exc}", file=sys.stderr)
        return exitcodes.FAILED
    except UnsafeStateDir as exc:
        print(f"pfwizard: {exc}", file=sys.stderr)
        return exitcodes.REFUSED
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
    except PermissionError as exc:
        # A file this user may not read (pfwizard run without sudo): a permission problem,
        # exit 2, never 1 (status's "drift"); the commands that write stopped before this.
        where = exc.filename or "a file pfwizard needs"
        print(
            f"pfwizard: cannot read {where}: permission denied; run it with sudo", file=sys.stderr
        )
        return exitcodes.ERROR
    except Exception as exc:
        # Last resort only: bad input is turned into a one-line error where it is read
        # (pfwizard.inputs and the readers); reaching this is a bug, said as one.
        if os.environ.get("PFWIZARD_DEBUG"):
            raise
        print(
            f"pfwizard: internal error ({type(exc).__name__}: {str(exc)[:200]}); this is "
            f"a bug in pfwizard (PFWIZARD_DEBUG=1 shows where)",
            file=sys.stderr,
        )
        return exitcodes.ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
