"""Postfix's own tools, run so that their own words reach the admin.

Postfix commands print errors on stderr only when stderr is a terminal (otherwise they go to
the mail log), so every command here runs with stderr on a pseudo-terminal.  ``PostfixTools``
is one object the engine calls for everything Postfix does; tests replace single methods to
inject failures (postmap, postfix check, reload).
"""

from __future__ import annotations

import os
import pty
import selectors
import subprocess
import time
from pathlib import Path

from pfwizard.errors import PostfixCommandError
from pfwizard.postfix import Result, resolve


def run_tty(argv: list[str], timeout: float) -> Result:
    """Run ``argv`` with stderr on a pty; stdout captured apart.  Kills it on timeout."""
    master, slave = pty.openpty()
    env = dict(os.environ, LANG="C", LC_ALL="C")
    try:
        # Same process group as pfwizard: if pfwizard is killed, its Postfix command goes too
        # (a postmap left running could write into the config dir after recovery).
        proc = subprocess.Popen(
            resolve(argv), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env
        )
    except FileNotFoundError as exc:
        os.close(master)
        raise PostfixCommandError(argv, 127, f"{argv[0]}: not installed") from exc
    finally:
        os.close(slave)
    assert proc.stdout is not None
    outfd = proc.stdout.fileno()
    out = {outfd: bytearray(), master: bytearray()}
    sel = selectors.DefaultSelector()
    for fd in out:
        sel.register(fd, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                proc.wait()
                text = (out[master] + out[outfd]).decode(errors="replace")
                raise PostfixCommandError(argv, None, text)
            # Once the command exited, a daemon it started may hold the pty: stop reading.
            events = sel.select(0 if proc.poll() is not None else min(left, 0.5))
            if not events and proc.poll() is not None:
                break
            for key, _ in events:
                fd = key.fd if isinstance(key.fd, int) else key.fd.fileno()
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the pty's other end is closed
                    chunk = b""
                if chunk:
                    out[fd] += chunk
                else:
                    sel.unregister(fd)
        rc = proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
    finally:
        sel.close()
        os.close(master)
        proc.stdout.close()
    stdout = out[outfd].decode(errors="replace")
    stderr = out[master].decode(errors="replace").replace("\r\n", "\n")
    return Result(argv, rc, stdout, stderr)


class PostfixTools:
    """postfix / postconf / postmap for one engine; every call has the engine's timeout."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.timeout = timeout

    def run(self, *argv: str) -> Result:
        return run_tty(list(argv), self.timeout)

    def check(self, config_dir: Path) -> Result:
        return self.run("postfix", "-c", str(config_dir), "check")

    def warnings(self, config_dir: Path) -> Result:
        """``postconf -n``: its warnings (e.g. "unused parameter" for a misspelt name)."""
        return self.run("postconf", "-c", str(config_dir), "-n")

    def overrides(self, config_dir: Path) -> Result:
        """``postconf -P``: master.cf's ``-o`` overrides; a master.cf Postfix cannot parse
        makes it exit 1 with Postfix's own words (master would die on it at reload)."""
        return self.run("postconf", "-c", str(config_dir), "-P")

    def services(self, config_dir: Path) -> Result:
        """``postconf -M``: every master.cf service on one normalised line."""
        return self.run("postconf", "-c", str(config_dir), "-M")

    def postmap(self, config_dir: Path, map_type: str, path: Path) -> Result:
        return self.run("postmap", "-c", str(config_dir), f"{map_type}:{path}")

    def probe(self, config_dir: Path, map_type: str, path: Path) -> Result:
        """One lookup, so Postfix parses every line (regexp/pcre/cidr errors are warnings)."""
        return self.run(
            "postmap", "-c", str(config_dir), "-q", "pfwizard-probe@invalid", f"{map_type}:{path}"
        )

    def params(self, config_dir: Path, *names: str) -> list[str]:
        """Effective values (``postconf -h``), in order; "" for any it cannot tell."""
        res = self.run("postconf", "-c", str(config_dir), "-h", *names)
        values = res.stdout.splitlines() if res.ok else []
        return [v.strip() for v in values] if len(values) == len(names) else [""] * len(names)

    def running(self, config_dir: Path) -> bool:
        return self.run("postfix", "-c", str(config_dir), "status").ok

    def reload(self, config_dir: Path) -> Result:
        return self.run("postfix", "-c", str(config_dir), "reload")

    def restart(self, config_dir: Path) -> Result:
        """stop + start: the only way to revive a smtpd that master throttled."""
        stop = self.run("postfix", "-c", str(config_dir), "stop")
        start = self.run("postfix", "-c", str(config_dir), "start")
        return Result(
            start.argv, start.returncode, stop.stdout + start.stdout, stop.stderr + start.stderr
        )


def warning_lines(res: Result) -> list[str]:
    return [
        ln.strip()
        for ln in res.stderr.splitlines()
        if "warning:" in ln or "fatal:" in ln or "error:" in ln
    ]
