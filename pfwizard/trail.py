"""One line in the system log for what pfwizard did, the way Postfix's own tools leave one:
facility mail, ident ``pfwizard``, so it lands beside Postfix's lines in mail.log / the journal.

Written straight to the log socket (RFC 3164 framing, as glibc's syslog(3) sends it) rather
than through the ``syslog`` module, so a test can point it at a stand-in socket
(``PFWIZARD_LOG_SOCKET``).  Logging never fails a command: no socket, no line.
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

SOCKET_ENV = "PFWIZARD_LOG_SOCKET"
DEFAULT_SOCKET = "/dev/log"
_MAIL = 2 << 3  # LOG_MAIL
_INFO, _WARNING, _ERR = 6, 4, 3
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def line(message: str, *, error: bool = False, warning: bool = False) -> str:
    """The datagram sent for ``message`` (control characters folded: one line, always)."""
    level = _ERR if error else _WARNING if warning else _INFO
    stamp = time.strftime("%b %e %H:%M:%S")
    text = _CONTROL.sub(" ", message).strip()
    return f"<{_MAIL | level}>{stamp} pfwizard[{os.getpid()}]: {text}"


_held: list[str] | None = None


@contextmanager
def held(into: list[str]) -> Iterator[list[str]]:
    """Inside, ``log`` keeps its messages in ``into`` instead of sending them: a run that
    leaves one line of its own (the after-upgrade hook) folds them into that line, so one
    run is one line in the log."""
    global _held
    before, _held = _held, into
    try:
        yield into
    finally:
        _held = before


def log(message: str, *, error: bool = False, warning: bool = False) -> bool:
    """Send one line; True when the log socket took it (or ``held`` kept it)."""
    if _held is not None:
        _held.append(_CONTROL.sub(" ", message).strip())
        return True
    path = os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET
    data = line(message, error=error, warning=warning).encode("utf-8", "replace")[:4096]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(1.0)
            sock.sendto(data, path)
        return True
    except OSError:
        return False


def change_line(
    event: str,
    entry_id: str,
    kind: str,
    files: Sequence[str],
    summary: str,
) -> str:
    """The line for one change: ``event`` is what happened (applied, rolled back...), then
    the journal entry (``pfwizard rollback --show ID``), the files and who asked for it
    (``SUDO_USER``: the admin behind sudo, else the user pfwizard ran as)."""
    sudo = os.environ.get("SUDO_USER")
    who = f"sudo_user={sudo}" if sudo else f"user={_me()}"
    return (
        f"{event}: entry={entry_id} kind={kind} files={','.join(files) or '-'} {who} "
        f"summary={summary}"
    )


def _me() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return str(os.geteuid())
