"""Is a milter listening? The milter stage's up/down word for each address in
``smtpd_milters`` / ``non_smtpd_milters``, and which addresses the wizard may write.

TCP connects go to loopback only (a milter elsewhere is "not checked"); a unix socket is
looked up relative to Postfix's queue directory, as smtpd would.
"""

from __future__ import annotations

import contextlib
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pfwizard.session import Session


@dataclass(frozen=True)
class MilterState:
    address: str
    state: str
    """``up``, ``down`` or ``not checked`` (a word, never only a colour)."""
    detail: str


LOOPBACK = ("127.", "::1", "localhost", "[::1]")
# What smtpd_milters accepts as one milter: inet:HOST:PORT, unix:PATH or a bare /PATH.
_MILTER_ADDRESS_RE = re.compile(
    r"(inet:[A-Za-z0-9.\-\[\]:]*:\d{1,5}|unix:/?[^\s,{}]+|/[^\s,{}]+)\Z"
)


def is_milter_address(value: str) -> bool:
    """A milter address the wizard may write (one word, no list separators)."""
    return _MILTER_ADDRESS_RE.match(value) is not None


def milter_state(address: str, queue_dir: Path, timeout: float = 0.3) -> MilterState:
    """Is a milter listening? TCP connect on loopback only, or a unix socket present."""
    addr = address.strip()
    if addr.startswith("$"):
        return MilterState(address, "not checked", "a $parameter reference")
    if addr.startswith("inet:"):
        hostport = addr[5:]
        host, _, port = hostport.rpartition(":")
        host = host.strip("[]") or "localhost"
        if not port.isdigit():
            return MilterState(address, "down", f"no port number in {address}")
        if not host.startswith(LOOPBACK):
            return MilterState(address, "not checked", f"{host} is not on this machine")
        try:
            with socket.create_connection((host, int(port)), timeout=timeout):
                return MilterState(address, "up", f"something answers on {host}:{port}")
        except OSError as exc:
            return MilterState(address, "down", f"{host}:{port}: {exc.strerror or exc}")
    path = addr[5:] if addr.startswith("unix:") else addr
    p = Path(path) if path.startswith("/") else queue_dir / path
    with contextlib.suppress(OSError):
        if p.is_socket():
            return MilterState(address, "up", f"socket {p} is present")
    return MilterState(address, "down", f"no socket at {p}")


def queue_directory(session: Session) -> Path:
    """Postfix's queue directory as it will be after apply (unix: milter paths are
    relative to it)."""
    return Path(session.effective_params().get("queue_directory", "/var/spool/postfix"))


def milter_states(session: Session, param: str, timeout: float = 0.3) -> list[MilterState]:
    """Each milter in ``param`` (as edited), up, down or not checked."""
    queue = queue_directory(session)
    return [milter_state(item.name, queue, timeout) for item in session.chain(param)]
