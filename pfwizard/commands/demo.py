"""`pfwizard demo`: open the wizard on a temporary copy of the bundled MiaB v75 config."""

from __future__ import annotations

import argparse
from pathlib import Path

from pfwizard import exitcodes, postfix
from pfwizard.chain import Chain
from pfwizard.demo import prepare_demo
from pfwizard.maincf import MainCf

CHAIN_PARAMS = (
    "smtpd_helo_restrictions",
    "smtpd_sender_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_milters",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--print", action="store_true", dest="print_only",
                        help="print the demo's restriction chains instead of opening the wizard")


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
        said.append(f"demo: /etc/mailname does not exist here, so myorigin points at "
                    f"{mailname}")
    return said


def demo_notes(root: Path) -> tuple[str, ...]:
    """What the demo does and skips, said plainly on the Welcome screen."""
    notes = [f"demo: a temporary copy in {root}; the system's Postfix is never touched "
             "or reloaded", *localise(root)]
    if postfix.available():
        notes.append("demo: postconf, postmap and postfix check run on the copy")
    else:
        notes.append("demo: Postfix is not installed here, so postconf/postmap/postfix "
                     "check are skipped; diffs and findings still work")
    return tuple(notes)


def run(args: argparse.Namespace) -> int:
    root = prepare_demo()
    if not args.print_only:
        from pfwizard.commands.wizard import open_wizard
        from pfwizard.session import Session

        session = Session.open(root / "etc", root / "state", reload=False, demo=True,
                               miab_checkout=root / "mailinabox")
        return open_wizard(session, args, demo_notes(root))
    cf = MainCf.read(root / "etc" / "main.cf")
    print(f"pfwizard demo: a copy of MiaB v75's configuration in {root}/etc")
    for name in CHAIN_PARAMS:
        value = cf.get(name)
        print(f"\n{name}:" + ("  (not set: Postfix default)" if value is None else ""))
        for n, item in enumerate(Chain.parse(value or ""), 1):
            print(f"  {n:2}. {item}")
    return exitcodes.OK
