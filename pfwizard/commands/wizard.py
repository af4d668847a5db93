"""`pfwizard` with no subcommand: the wizard (Textual is imported only here, when run)."""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from pfwizard import exitcodes
from pfwizard.errors import PfwizardError
from pfwizard.session import Session

if TYPE_CHECKING:
    from pfwizard.wizard.answers import Answer


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def no_color(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "no_color", False)) or "NO_COLOR" in os.environ


def open_wizard(
    session: Session,
    args: argparse.Namespace,
    notes: tuple[str, ...] = (),
    start: str = "welcome",
    *,
    mail_log: str | None = None,
    recover: bool = True,
    answers: Mapping[str, Answer] | None = None,
) -> int:
    """``recover=False``: the caller already ran ``recover_first`` (once is enough)."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        print(
            "pfwizard: the wizard needs a terminal; see `pfwizard --help` for the "
            "non-interactive commands",
            file=sys.stderr,
        )
        return exitcodes.ERROR
    # An apply cut short (SIGKILL, SSH drop) is finished or undone before anything else.
    recovered: list[str] = []
    if recover and (session.state_dir / "journal").is_dir():  # no journal: nothing to undo
        try:
            recovered = session.engine().recover()
        except PfwizardError as exc:
            recovered = [f"could not check for an interrupted apply: {exc}"]
    from pfwizard.tui.app import PfwizardApp  # Textual loads only now

    app = PfwizardApp(
        session,
        start=start,
        no_color=no_color(args),
        notes=(*notes, *recovered),
        mail_log=mail_log,
        ascii=bool(getattr(args, "ascii", False)),
        answers=answers,
    )
    # Everything imported so far (Textual, Rich, pfwizard: ~40,000 objects) lives until exit;
    # frozen, a full garbage collection no longer walks it, and the one that lands on a key
    # press every few dozen moves costs ~10 ms instead of ~35 ms.
    gc.freeze()
    code = app.run()
    if app.answer_refused is not None:
        where = getattr(args, "answers", None) or "the answers"
        print(f"pfwizard: {where}: {app.answer_refused}; nothing was written", file=sys.stderr)
        return exitcodes.ERROR
    if app.return_code:
        # Ended by an error Textual has already printed (a refused op in an answers file, a
        # bug): never exit 0, which automation would read as "done".
        return exitcodes.ERROR
    return int(code or 0)


def recover_first(args: argparse.Namespace) -> tuple[str, ...]:
    """Undo an interrupted change before the wizard reads main.cf (so that it shows the
    configuration really in force); what was done becomes a note on its first screen."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return ()
    from pathlib import Path

    if not (Path(args.state_dir) / "journal").is_dir():
        # Nothing was ever applied from here: nothing to undo (Engine.recover says the
        # same), and the engine's import stays off the way to the first screen.
        return ()
    from pfwizard.engine import Engine

    try:
        return tuple(
            Engine(
                Path(args.config_dir),
                Path(args.state_dir),
                reload=not getattr(args, "no_reload", False),
            ).recover()
        )
    except PfwizardError as exc:
        return (f"could not check for an interrupted apply: {exc}",)


def run(args: argparse.Namespace) -> int:
    # A bad answers file is refused before anything else runs (exit 2, naming the file).
    answers = None
    if getattr(args, "answers", None):
        from pfwizard.errors import ConfigError
        from pfwizard.tui.flow import STEP_IDS  # the screens' ids only: no Textual yet
        from pfwizard.wizard.answers import load_answers

        answers = load_answers(args.answers)
        unknown = sorted(set(answers) - set(STEP_IDS))
        if unknown:
            raise ConfigError(
                args.answers,
                None,
                f"names screens the wizard does not have: {', '.join(unknown)} "
                f"(it has {', '.join(STEP_IDS)})",
            )
    notes = recover_first(args)
    session = Session.open(
        args.config_dir, args.state_dir, reload=not getattr(args, "no_reload", False)
    )
    # "": the default log, else the journal; resolved in the Welcome's worker, so the explain
    # engine is not imported before the first screen.
    return open_wizard(
        session,
        args,
        notes,
        mail_log=getattr(args, "mail_log", None) or "",
        recover=False,
        answers=answers,
    )


def open_rollback(args: argparse.Namespace) -> int:
    """The journal browser (`pfwizard rollback` without --to on a terminal)."""
    notes = recover_first(args)
    session = Session.open(
        args.config_dir, args.state_dir, reload=not getattr(args, "no_reload", False)
    )
    return open_wizard(session, args, notes, start="rollback", recover=False)
