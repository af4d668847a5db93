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

# Where Postfix's programs live (Debian/Ubuntu: /usr/sbin).  cron runs /etc/cron.d jobs with
# PATH=/usr/bin:/bin, where `postfix` is not found: pfwizard never relies on the caller's PATH
# for them, it looks in the sbin directories first and only then on PATH.
SBIN_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")
PROGRAMS = frozenset(
    {
        "postfix",
        "postconf",
        "postmap",
        "postalias",
        "postsuper",
        "postqueue",
        "postcat",
        "postlog",
        "postmulti",
    }
)
_found: dict[str, str] = {}


def program(name: str) -> str:
    """The full path of Postfix's program ``name`` (``name`` unchanged if not found: running it
    then fails with "not installed", as it should)."""
    if name not in PROGRAMS:
        return name
    if name not in _found:
        for d in SBIN_DIRS:
            candidate = os.path.join(d, name)
            if os.access(candidate, os.X_OK):
                _found[name] = candidate
                break
        else:
            _found[name] = shutil.which(name) or name
    return _found[name]


def resolve(argv: list[str]) -> list[str]:
    """``argv`` with a bare Postfix program name replaced by its full path."""
    return [program(argv[0]), *argv[1:]] if argv else argv


@dataclass(frozen=True)
class Result:
    """What one run of a Postfix program did: its exit status and output."""

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
    return all(os.path.isabs(program(n)) for n in ("postconf", "postmap"))


def run(
    argv: list[str],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    input: str | None = None,
    check: bool = False,
) -> Result:
    """Run a Postfix command; raise PostfixCommandError on timeout, or on failure if ``check``."""
    env = dict(os.environ, LANG="C", LC_ALL="C")
    if any("\0" in a for a in argv) or (input is not None and "\0" in input):
        # No command line (and no Postfix lookup key) can hold one; Python would refuse it.
        raise PostfixCommandError(
            [a.replace("\0", "\\0") for a in argv],
            2,
            "a NUL byte in what was to be passed to Postfix: refused",
        )
    try:
        proc = subprocess.run(
            resolve(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            env=env,
            errors="replace",
        )
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


def postmap(
    config_dir: Path | str, *args: str, input: str | None = None, timeout: float = DEFAULT_TIMEOUT
) -> Result:
    return run(["postmap", "-c", str(config_dir), *args], input=input, timeout=timeout)


def postfix(config_dir: Path | str, *args: str, timeout: float = DEFAULT_TIMEOUT) -> Result:
    return run(["postfix", "-c", str(config_dir), *args], timeout=timeout)


def supported_map_types(config_dir: Path | str) -> set[str]:
    """``postconf -m``: the lookup table types this Postfix supports."""
    res = postconf(config_dir, "-m")
    return set(res.stdout.split()) if res.ok else set()
