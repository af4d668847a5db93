"""Real Postfix as the oracle for main.cf: what ``postconf`` says a main.cf file means.

One ``postconf -c DIR -n`` per file prints every parameter the file sets (known names only:
postconf leaves unknown ones out), so a differential test costs one process per example.

postconf does not print values as stored: it splits a value into words at space, tab, CR and
LF and prints the words joined by one space (VT and FF are kept, leading and trailing
whitespace of any kind is already gone).  Compare through ``fold()``.  That this is postconf's
output and not Postfix's value is shown on the bench by ``smtpd_banner``, whose 220 reply keeps
runs of whitespace (tests/test_bench.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

TIMEOUT = 30
_FOLD_RE = re.compile(r"[ \t\r\n]+")
_FATAL_LINE_RE = re.compile(r"fatal: .*?line (\d+): (.*)")

# String-valued parameters postconf knows (so ``postconf -n`` prints them), MiaB's chains first.
KNOWN_NAMES = (
    "smtpd_sender_restrictions",
    "smtpd_recipient_restrictions",
    "smtpd_relay_restrictions",
    "smtpd_client_restrictions",
    "smtpd_helo_restrictions",
    "smtpd_data_restrictions",
    "smtpd_milters",
    "non_smtpd_milters",
    "smtpd_banner",
    "myhostname",
    "mydomain",
    "myorigin",
    "mydestination",
    "mynetworks",
    "relayhost",
    "alias_maps",
    "virtual_alias_maps",
    "header_checks",
    "smtpd_sender_login_maps",
    "transport_maps",
)


def fold(value: str) -> str:
    """A value as ``postconf -h``/``-n`` prints it (see the module docstring)."""
    return " ".join(w for w in _FOLD_RE.split(value) if w)


@dataclass(frozen=True)
class Rejected:
    """postconf refused the file (a fatal error): the line it named and its message."""

    line: int | None
    message: str


class Postconf:
    """A scratch config directory where postconf reads, edits and judges main.cf files."""

    def __init__(self, directory: Path | None = None) -> None:
        self.dir = directory or Path(tempfile.mkdtemp(prefix="pfwizard-postconf-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.main_cf = self.dir / "main.cf"
        # postconf warns about a missing master.cf on every run; an empty one keeps it quiet.
        (self.dir / "master.cf").write_bytes(b"")
        self._cool_down(self.dir / "master.cf")

    @staticmethod
    def _cool_down(path: Path) -> None:
        # Postfix programs wait ("cool down") while main.cf is younger than ~2 s: backdate it.
        past = time.time() - 10
        os.utime(path, (past, past))

    def _run(self, *args: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            ["postconf", "-c", str(self.dir), *args],
            capture_output=True,
            timeout=TIMEOUT,
            check=False,
        )

    def write(self, data: bytes) -> None:
        self.main_cf.write_bytes(data)
        self._cool_down(self.main_cf)

    def effective(self, data: bytes | None = None) -> dict[str, str] | Rejected:
        """Every parameter main.cf sets, as ``postconf -n`` prints it; or why postconf refused."""
        if data is not None:
            self.write(data)
        res = self._run("-n")
        if res.returncode != 0:
            err = res.stderr.decode("utf-8", "surrogateescape")
            m = _FATAL_LINE_RE.search(err)
            return Rejected(int(m.group(1)) if m else None, m.group(2) if m else err.strip())
        out: dict[str, str] = {}
        for line in res.stdout.decode("utf-8", "surrogateescape").split("\n"):
            if not line:
                continue
            # "name = value", or "name =" for an empty value; names never contain spaces.
            name, _, value = line.partition(" =")
            out[name] = value[1:] if value.startswith(" ") else value
        out.pop("config_directory", None)  # -c DIR makes postconf report it as set
        return out

    def edit(self, data: bytes, *args: str) -> bytes:
        """Run ``postconf -e``/``-X``... on a copy holding ``data``; return the new main.cf."""
        self.write(data)
        res = self._run(*args)
        if res.returncode != 0:
            raise RuntimeError(f"postconf {' '.join(args)} failed: {res.stderr!r}")
        self._cool_down(self.main_cf)
        return self.main_cf.read_bytes()


def effective_many(oracles: list[Postconf], files: list[bytes]) -> list[dict[str, str] | Rejected]:
    """``effective()`` for many files at once, one scratch directory each.

    postconf sleeps one second before exiting on a fatal error (Postfix's msg_fatal()), so
    files postconf rejects are judged in parallel: the processes only sleep.
    """
    if len(oracles) < len(files):
        raise ValueError(f"{len(files)} files need as many oracles, got {len(oracles)}")
    with ThreadPoolExecutor(max_workers=len(files) or 1) as pool:
        return list(pool.map(Postconf.effective, oracles, files))
