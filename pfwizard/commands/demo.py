"""`pfwizard demo`: open the wizard on a temporary copy of the bundled MiaB v75 config."""

from __future__ import annotations

import argparse
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from pfwizard import exitcodes, postfix
from pfwizard.chain import Chain
from pfwizard.demo import DEMO_LOG, prepare_demo, remove_demo
from pfwizard.maincf import MainCf

CHAIN_PARAMS = (
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_milters",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--print",
        action="store_true",
        dest="print_only",
        help="print the demo's restriction chains instead of opening the wizard",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary copy when the wizard ends (to look at what "
        "was written); by default it is removed",
    )


def localise(root: Path) -> list[str]:
    """Make the copy usable on this machine; each change is said on the Welcome screen.

    MiaB's ``myorigin = /etc/mailname`` makes every Postfix tool stop with "cannot open file"
    where that file does not exist (any non-Debian box, a container): the demo gets its own.
    """
    said: list[str] = []
    main = root / "etc" / "main.cf"
    cf = MainCf.read(main)
    if cf.get("myorigin") == "/etc/mailname" and not Path("/etc/mailname").exists():
        mailname = root / "etc" / "mailname"
        mailname.write_text((cf.get("myhostname") or "box.example.com") + "\n")
        cf.set("myorigin", str(mailname))
        main.write_bytes(cf.to_bytes())
        said.append(f"demo: /etc/mailname does not exist here, so myorigin points at {mailname}")
    return said


def demo_notes(root: Path) -> tuple[str, ...]:
    """What the demo does and skips, said plainly on the Welcome screen."""
    notes = [
        f"demo: a temporary copy in {root}; the system's Postfix is never touched "
        "or reloaded; the copy is removed when you quit",
        *localise(root),
    ]
    if postfix.available():
        notes.append("demo: postconf, postmap and postfix check run on the copy")
    else:
        notes.append(
            "demo: Postfix is not installed here, so postconf/postmap/postfix "
            "check are skipped; diffs and findings still work"
        )
    return tuple(notes)


def settled(etc: Path) -> None:
    """Date the copy's files a minute back: Postfix's tools wait until a main.cf is about
    2 s old before they read it ("cool down"), which would cost every check on a fresh copy
    those 2 s, and hold back quitting while the Welcome's reader waits on them."""
    old = time.time() - 60
    for f in etc.iterdir():
        if f.is_file():
            os.utime(f, (old, old))


@contextmanager
def removed_on_exit(root: Path, keep: bool = False) -> Iterator[Path]:
    """The copy is removed however the demo ends: a normal exit, Ctrl-C, an error, or the
    terminal closing (SIGHUP) or a kill (SIGTERM), which would otherwise skip ``finally``."""
    if keep:
        yield root
        return

    def on_signal(signum: int, frame: FrameType | None) -> None:
        remove_demo(root)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield root
    finally:
        remove_demo(root)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(args: argparse.Namespace) -> int:
    with removed_on_exit(prepare_demo(), keep=getattr(args, "keep", False)) as root:
        return _run(args, root)


def _run(args: argparse.Namespace, root: Path) -> int:
    if not args.print_only:
        from pfwizard.commands.wizard import open_wizard
        from pfwizard.session import Session

        notes = demo_notes(root)  # localises main.cf: before the session reads it
        settled(root / "etc")
        session = Session.open(
            root / "etc", root / "state", reload=False, demo=True, miab_checkout=root / "mailinabox"
        )
        return open_wizard(session, args, notes, mail_log=str(root / DEMO_LOG))
    cf = MainCf.read(root / "etc" / "main.cf")
    print("pfwizard demo: MiaB v75's configuration, as the wizard's demo copy has it")
    for name in CHAIN_PARAMS:
        value = cf.get(name)
        print(f"\n{name}:" + ("  (not set: Postfix default)" if value is None else ""))
        for n, item in enumerate(Chain.parse(value or ""), 1):
            print(f"  {n:2}. {item}")
    return exitcodes.OK
