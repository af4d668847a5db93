"""Is Postfix really serving after a reload?  Ask smtpd itself, the way a client would.

The listen address comes from master.cf's ``smtp`` inet service (``smtp`` = port 25 on
``inet_interfaces``, or ``127.0.0.1:2525`` style).  The probe reads the 220 banner, then EHLO,
MAIL FROM:<> and one RCPT from loopback, and fails on no banner or ``451 4.3.5`` (Postfix's
"Server configuration error": an unknown restriction or map type only shows here).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

SMTPD_COMMANDS = ("smtpd", "postscreen")


@dataclass(frozen=True)
class ListenAddress:
    host: str
    port: int
    service: str

    def __str__(self) -> str:
        return f"{self.host}:{self.port} (master.cf service {self.service!r})"


def _logical_master_lines(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line[0] in " \t" and out:
            out[-1] += " " + line.strip()
        else:
            out.append(line)
    return out


def smtp_service(master_cf: str, inet_interfaces: str) -> ListenAddress | None:
    """The public SMTP service: ``smtp`` (or port 25) first, else the first inet smtpd."""
    found: list[ListenAddress] = []
    for line in _logical_master_lines(master_cf):
        f = line.split()
        if len(f) < 8 or f[1] != "inet" or f[7] not in SMTPD_COMMANDS:
            continue
        addr = listen_address(f[0], inet_interfaces)
        if addr is not None:
            found.append(addr)
    found.sort(key=lambda a: a.port != 25)
    return found[0] if found else None


# When /etc/services lacks them (minimal containers).
_WELL_KNOWN = {"smtp": 25, "submission": 587, "smtps": 465, "submissions": 465}


def listen_address(service: str, inet_interfaces: str) -> ListenAddress | None:
    """Where an inet service listens: ``127.0.0.1:2525``, ``2525`` or ``submission`` (a
    port name, on the loopback address of ``inet_interfaces``)."""
    host, _, port_s = service.rpartition(":")
    if port_s.isdigit():
        port = int(port_s)
    else:
        try:
            port = socket.getservbyname(port_s, "tcp")
        except OSError:
            port = _WELL_KNOWN.get(port_s, 0)
    if not port:
        return None
    return ListenAddress((host or _loopback_for(inet_interfaces)).strip("[]"), port, service)


def _loopback_for(inet_interfaces: str) -> str:
    words = inet_interfaces.replace(",", " ").split()
    if not words or words[0] in ("all", "loopback-only", "localhost"):
        return "127.0.0.1"
    for w in words:
        if w.startswith("127.") or w == "[::1]" or w == "::1":
            return w.strip("[]")
    return words[0].strip("[]")


class ProbeFailed(Exception):
    pass


def _reply(sock: socket.socket) -> str:
    lines: list[str] = []
    buf = b""
    while True:
        while b"\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise ProbeFailed(
                    "connection closed" + (f" after {lines[-1]!r}" if lines else " without a reply")
                )
            buf += chunk
        raw, buf = buf.split(b"\n", 1)
        line = raw.rstrip(b"\r").decode("utf-8", "replace")
        lines.append(line)
        if len(line) < 4 or line[3] != "-":
            if buf:
                raise ProbeFailed(f"unexpected data after reply {line!r}")
            return line


def probe(addr: ListenAddress, helo: str, rcpt: str, timeout: float = 5.0) -> str:
    """One SMTP dialogue; returns the transcript, raises ProbeFailed with it on failure."""
    transcript: list[str] = []

    def step(sock: socket.socket, command: str | None) -> str:
        if command is not None:
            sock.sendall(command.encode() + b"\r\n")
            transcript.append(f">>> {command}")
        line = _reply(sock)
        transcript.append(line)
        if line.startswith("451 4.3.5") or line.startswith("421"):
            raise ProbeFailed(f"smtpd answered {line!r}")
        return line

    try:
        with socket.create_connection((addr.host, addr.port), timeout=timeout) as sock:
            banner = step(sock, None)
            if not banner.startswith("220"):
                raise ProbeFailed(f"no 220 banner: {banner!r}")
            step(sock, f"EHLO {helo}")
            step(sock, "MAIL FROM:<>")
            step(sock, f"RCPT TO:<{rcpt}>")
            step(sock, "RSET")
            with contextlib.suppress(OSError, ProbeFailed):
                step(sock, "QUIT")
    except ProbeFailed as exc:
        raise ProbeFailed(f"{addr}: {exc}\n" + "\n".join(transcript)) from None
    except OSError as exc:
        raise ProbeFailed(f"{addr}: {exc.strerror or exc}\n" + "\n".join(transcript)) from None
    return "\n".join(transcript)


def wait_serving(addr: ListenAddress, helo: str, rcpt: str, within: float = 5.0) -> str:
    """Probe until it passes or ``within`` seconds pass (master re-listens asynchronously).

    Connection refused is retried until ``within`` (master may be re-binding); a banner-less
    close or a ``451 4.3.5`` is a verdict once seen twice in a row, a timeout at once.
    """
    deadline = time.monotonic() + within
    verdicts = 0
    while True:
        try:
            return probe(addr, helo, rcpt)
        except ProbeFailed as exc:
            first = str(exc).splitlines()[0].lower()
            refused = "refused" in first
            verdicts = 0 if refused else verdicts + 1
            # A probe that timed out has waited long enough to be a verdict on its own.
            if verdicts >= 2 or "timed out" in first or time.monotonic() >= deadline:
                raise
        time.sleep(0.1)


def cleanup_greets(socket_path: Path, within: float = 5.0) -> str:
    """Connect to a cleanup service's socket and read its greeting (``protocol`` =
    ``cleanup_protocol``, then a queue ID); return the queue ID.

    A cleanup that dies as it starts (e.g. a bad number in one of its master.cf ``-o``
    options: ``postfix check`` and reload both pass it) sends nothing, and mail through it
    is deferred.  The probe sends nothing back: cleanup drops the empty queue file when the
    connection closes.  A missing or refusing socket is retried until ``within`` (master
    re-creates it at reload).
    """
    deadline = time.monotonic() + within
    while True:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(max(deadline - time.monotonic(), 0.1))
                sock.connect(str(socket_path))
                data = b""
                while b"\0\0" not in data:
                    chunk = sock.recv(512)
                    if not chunk:
                        break
                    data += chunk
            words = data.split(b"\0")
            if b"cleanup_protocol" in words and b"queue_id" in words:
                return words[words.index(b"queue_id") + 1].decode("ascii", "replace")
            raise ProbeFailed(f"{socket_path}: no cleanup greeting (got {data[:60]!r})")
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            if time.monotonic() >= deadline:
                raise ProbeFailed(f"{socket_path}: {exc.strerror or exc}") from None
        except OSError as exc:  # a timeout: the service never answered
            raise ProbeFailed(
                f"{socket_path}: no greeting within {within:g} s ({exc.strerror or exc})"
            ) from None
        time.sleep(0.05)


def smtpd_children(master: int | None) -> set[int]:
    """PIDs of master's smtpd/postscreen children (Linux /proc; empty set elsewhere)."""
    found: set[int] = set()
    if master is None or not os.path.isdir("/proc"):
        return found
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        comm = stat[stat.find("(") + 1 : stat.rfind(")")]
        fields = stat[stat.rfind(")") + 2 :].split()
        if comm in SMTPD_COMMANDS and len(fields) > 1 and fields[1] == str(master):
            found.add(int(name))
    return found


def wait_gone(old: set[int], master: int | None, within: float = 5.0) -> bool:
    """After a reload, wait until the smtpd processes of the old configuration have exited
    (~50 ms): until then one of them may answer the probe with the old configuration."""
    if not old:
        return True
    deadline = time.monotonic() + within
    while old & smtpd_children(master):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


def master_cf_text(config_dir: Path) -> str:
    try:
        return (config_dir / "master.cf").read_text(errors="replace")
    except OSError:
        return ""
