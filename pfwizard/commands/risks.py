"""``--accept-risk CODE``: how an admin applies a change the gate would refuse, knowingly.

The gate refuses every danger finding. Some of them the admin may know better about (a table
pattern that lets a longer domain in, a risky parameter value); those are accepted one code
at a time, never all at once, and never the ones Postfix cannot live with (an open relay, an
unknown restriction): those stay refused whatever is accepted.
"""

from __future__ import annotations

import argparse


def add_accept_risk(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--accept-risk",
        metavar="CODE",
        action="append",
        default=[],
        help="apply even though the check reports this danger finding (its "
        "code, e.g. unanchored-end); repeat for several. An open relay "
        "or an unknown restriction is never accepted",
    )


def accepted_risks(args: argparse.Namespace) -> frozenset[str]:
    return frozenset(c.strip() for c in getattr(args, "accept_risk", None) or [] if c.strip())
