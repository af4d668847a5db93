"""Recipe 4: the OpenDMARC milter, after OpenDKIM, on a socket Postfix can reach.

OpenDMARC reads the Authentication-Results header OpenDKIM adds, so it must come after it in
``smtpd_milters`` (the seed: "Make sure it's after the OpenDKIM socket"). The socket is tried
the way smtpd would reach it (TCP connect, or the unix socket under the queue directory, as
chrooted smtpd sees it). ``milter_default_action`` decides what happens when a milter is down;
each choice carries its risk.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

from pfwizard.explain.causes import RECIPE_OPENDMARC
from pfwizard.findings import Severity
from pfwizard.maincf import MainCf
from pfwizard.recipes.model import PlacementOption, Proposal

DKIM_RE = re.compile(r"opendkim|:8891\b", re.IGNORECASE)
DMARC_RE = re.compile(r"opendmarc|:8893\b", re.IGNORECASE)
ACTIONS = {
    "accept": (
        "While a milter is down, mail is accepted unchecked (and, for OpenDKIM, "
        "unsigned): mail keeps flowing, spoofed mail too.",
        Severity.CAUTION,
    ),
    "tempfail": (
        "While a milter is down, every message is deferred with 4xx (smtpd answers "
        "MAIL FROM with 451 4.7.1): senders retry, nothing is lost, but nothing "
        "arrives until the milter is back.",
        Severity.CAUTION,
    ),
    "reject": (
        "While a milter is down, every message is refused with 5xx: senders get "
        "bounces and mail is lost.",
        Severity.DANGER,
    ),
    "quarantine": (
        "While a milter is down, mail is accepted into the hold queue: nothing is "
        "delivered until you release it with postsuper -H.",
        Severity.CAUTION,
    ),
}


def reachable(
    milter: str, queue_directory: str = "/var/spool/postfix", timeout: float = 1.0
) -> tuple[bool, str]:
    """Can smtpd reach this milter socket? (inet:host:port, unix:/path or local:path)."""
    kind, _, where = milter.partition(":")
    if kind == "inet":
        host, _, port = where.rpartition(":")
        try:
            with socket.create_connection(
                (host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout
            ):
                return True, f"{milter}: accepting connections"
        except (OSError, ValueError) as exc:
            return False, f"{milter}: cannot connect ({exc})"
    if kind in ("unix", "local"):
        path = Path(where if where.startswith("/") else os.path.join(queue_directory, where))
        if path.is_socket():
            return True, f"{milter}: socket {path} exists"
        return False, (
            f"{milter}: no socket at {path} (a chrooted smtpd resolves it under "
            f"the queue directory {queue_directory})"
        )
    return False, f"{milter}: unknown socket type {kind!r}"


def opendmarc(
    cf: MainCf,
    socket_name: str = "inet:127.0.0.1:8893",
    default_action: str = "accept",
    queue_directory: str | None = None,
    dkim_socket: str | None = None,
) -> Proposal:
    """``dkim_socket`` names the OpenDKIM milter when it is not recognisable by name or by
    its usual port 8891; with no OpenDKIM found, OpenDMARC goes last, after every milter."""
    if default_action not in ACTIONS:
        raise ValueError(f"milter_default_action must be one of {', '.join(ACTIONS)}")
    milters = [m for m in re.split(r"[\s,]+", cf.get("smtpd_milters") or "") if m]
    dmarc = [m for m in milters if DMARC_RE.search(m) or m == socket_name]
    rest = [m for m in milters if m not in dmarc]
    dkim_at = max(
        (
            i
            for i, m in enumerate(rest)
            if m == dkim_socket or (dkim_socket is None and DKIM_RE.search(m))
        ),
        default=-1,
    )
    # No OpenDKIM: last, so whatever milter adds Authentication-Results still runs first.
    cut = dkim_at + 1 if dkim_at >= 0 else len(rest)
    ordered = [*rest[:cut], *(dmarc or [socket_name]), *rest[cut:]]
    params: dict[str, str | None] = {}
    notes: list[str] = []
    if ordered != milters:
        params["smtpd_milters"] = " ".join(ordered)
    if (cf.get("milter_default_action") or "tempfail") != default_action:
        params["milter_default_action"] = default_action
    if dkim_at < 0:
        notes.append("No OpenDKIM milter found: OpenDMARC then only has SPF to go on.")
    qdir = queue_directory or cf.get("queue_directory") or "/var/spool/postfix"
    for m in ordered[cut : cut + len(dmarc or [socket_name])]:
        ok, detail = reachable(m, qdir)
        notes.append(("reachable: " if ok else "NOT reachable: ") + detail)
    notes.append(
        "MiaB's submission and smtps services set -o smtpd_milters to OpenDKIM only, "
        "so mail from logged-in users is signed, not DMARC-checked (as intended)."
    )
    options = [
        PlacementOption(a, f"milter_default_action = {a}", text, level)
        for a, (text, level) in ACTIONS.items()
    ]
    return Proposal(
        RECIPE_OPENDMARC,
        "OpenDMARC milter after OpenDKIM",
        f"OpenDMARC at {socket_name} after OpenDKIM, milter_default_action = {default_action}",
        params=params,
        placements=options,
        placement=default_action,
        notes=notes,
    )
