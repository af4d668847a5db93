"""After a reload, ask every service the new master.cf added or changed whether it works.

The public smtp service is probed anyway (``Engine._check_serving``).  A changed cleanup
service (MiaB's ``authclean``) must greet on its socket: one that dies as it starts (a bad
``-o`` value passes ``postfix check`` and the reload) defers every mail through it.  A changed
plain-text smtpd (``submission``) gets the same SMTP probe as port 25; smtps (wrapper mode
speaks TLS first) and other kinds of service are named as not probed.  A reload is all a
master.cf change needs: master re-creates each changed service's socket, so the next mail
already meets the new settings (20 of 20 authclean flips on the bench).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pfwizard.engine.errors import StepFailed
from pfwizard.engine.mastercheck import ChangedService
from pfwizard.engine.serving import (
    ListenAddress,
    ProbeFailed,
    cleanup_greets,
    listen_address,
    wait_serving,
)

Progress = Callable[[str, str, str], None]


def smtpd_verdict(addr: ListenAddress, host: str, progress: Progress) -> None:
    """The SMTP probe on ``addr``; StepFailed("serve") with the transcript if it fails."""
    try:
        transcript = wait_serving(addr, host, f"postmaster@{host}")
    except ProbeFailed as exc:
        first, _, rest = str(exc).partition("\n")
        raise StepFailed("serve", f"smtpd is not serving: {first}", rest) from None
    progress("serve", "ok", f"{addr}: {transcript.splitlines()[0]}")


def check_changed(
    services: list[ChangedService],
    queue_dir: Path,
    interfaces: str,
    host: str,
    probed: ListenAddress | None,
    progress: Progress,
) -> None:
    for svc in services:
        sock = svc.cleanup_socket
        if sock is not None:
            progress("serve", "start", f"does the {sock} cleanup service answer?")
            try:
                queue_id = cleanup_greets(queue_dir / sock)
            except ProbeFailed as exc:
                raise StepFailed(
                    "serve", f"the cleanup service {sock} does not answer after the reload: {exc}"
                ) from None
            progress("serve", "ok", f"{sock}: greets (queue ID {queue_id})")
            continue
        addr = listen_address(svc.name, interfaces) if svc.plain_smtpd else None
        if addr is None:
            progress(
                "serve",
                "skipped",
                f"{svc.name}/{svc.type} ({svc.command}) changed: "
                "pfwizard has no probe for this kind of service",
            )
        elif probed is None or (addr.host, addr.port) != (probed.host, probed.port):
            progress("serve", "start", f"is {addr} serving?")
            smtpd_verdict(addr, host, progress)
