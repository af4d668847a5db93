"""Running Postfix's own tools (postconf, postmap, postfix): Postfix is the authority wherever
it has an answer, so pfwizard asks it instead of guessing.

Every call has a timeout (postlogd can wedge; a DNS-less box can hang) and keeps Postfix's own
output so errors can be shown to the admin verbatim.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pfwizard.errors import PostfixCommandError

DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def available() -> bool:
    """True when Postfix's tools are installed on this machine."""
    return shutil.which("postconf") is not None and shutil.which("postmap") is not None


def run(argv: list[str], *, timeout: float = DEFAULT_TIMEOUT, input: str | None = None,
        check: bool = False) -> Result:
    """Run a Postfix command; raise PostfixCommandError on timeout, or on failure if ``check``."""
    env = dict(os.environ, LANG="C", LC_ALL="C")
    if any("\0" in a for a in argv) or (input is not None and "\0" in input):
        # No command line (and no Postfix lookup key) can hold one; Python would refuse it.
        raise PostfixCommandError([a.replace("\0", "\\0") for a in argv], 2,
                                  "a NUL byte in what was to be passed to Postfix: refused")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              input=input, env=env, errors="replace")
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        raise PostfixCommandError(argv, None, str(out)) from exc
    except FileNotFoundError as exc:
        raise PostfixCommandError(argv, 127, f"{argv[0]}: not installed") from exc
    res = Result(argv, proc.returncode, proc.stdout, proc.stderr)
    if check and not res.ok:
        raise PostfixCommandError(argv, res.returncode, res.output)
    return res


def postconf(config_dir: Path | str, *args: str, timeout: float = DEFAULT_TIMEOUT) -> Result:
    return run(["postconf", "-c", str(config_dir), *args], timeout=timeout)


def postmap(config_dir: Path | str, *args: str, input: str | None = None,
            timeout: float = DEFAULT_TIMEOUT) -> Result:
    return run(["postmap", "-c", str(config_dir), *args], input=input, timeout=timeout)


def postfix(config_dir: Path | str, *args: str, timeout: float = DEFAULT_TIMEOUT) -> Result:
    return run(["postfix", "-c", str(config_dir), *args], timeout=timeout)


def supported_map_types(config_dir: Path | str) -> set[str]:
    """``postconf -m``: the lookup table types this Postfix supports."""
    res = postconf(config_dir, "-m")
    return set(res.stdout.split()) if res.ok else set()
