"""One private Postfix for the impact preview: a staged copy of the config directory, its own
queue, data directory and log in a temporary directory, one smtpd on a loopback high port.

``master`` runs as our child in its own session (Ctrl-C in the terminal reaches pfwizard, not
it) and is stopped by process group; the box's running Postfix is never signalled, reloaded or
connected to.  Postfix programs need every parent of the queue to be traversable by the mail
owner, hence the 0755 directories (postfix-facts.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from pfwizard.engine.changeset import Plan, is_indexed
from pfwizard.engine.pftools import PostfixTools
from pfwizard.engine.validate import Stage
from pfwizard.errors import PfwizardError
from pfwizard.impact.stage import ReplayConfig, rewrite

START_TIMEOUT = 15.0
POSTCONF_TIMEOUT = 30

# The queue directories as Postfix's postfix-files lists them: (name, owner, group, mode).
_MAIL = "<mail_owner>"
QUEUE_DIRS = (
    *(
        (name, _MAIL, None, 0o700)
        for name in (
            "active",
            "bounce",
            "corrupt",
            "defer",
            "deferred",
            "flush",
            "hold",
            "incoming",
            "private",
            "saved",
            "trace",
        )
    ),
    ("maildrop", _MAIL, "<setgid_group>", 0o730),
    ("public", _MAIL, "<setgid_group>", 0o710),
    ("pid", "root", None, 0o755),
)


class ReplayError(PfwizardError):
    """A replay instance could not be built or started (with Postfix's own words)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ReplayInstance:
    """``start()`` → ``port`` answers SMTP → ``stop()``; everything lives under ``root``."""

    def __init__(
        self, name: str, plan: Plan, root: Path, stub: str, resolv_conf: Path | None = None
    ) -> None:
        """``plan``: the change to stage (an empty plan: the current configuration);
        ``stub``: the policy stub's address; ``resolv_conf``: a test seam, run master in a
        private mount namespace where this file is /etc/resolv.conf."""
        self.name = name
        self.plan = plan
        self.root = root / name
        self.stub = stub
        self.resolv_conf = resolv_conf
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.config = ReplayConfig()
        self.config_dir = self.root / "etc"

    def _postconf(self, *names: str) -> list[str]:
        out = subprocess.run(
            ["postconf", "-c", str(self.config_dir), "-h", *names],
            capture_output=True,
            text=True,
            timeout=POSTCONF_TIMEOUT,
            check=False,
        )
        values = out.stdout.splitlines()
        if out.returncode != 0 or len(values) != len(names):
            raise ReplayError(
                f"postconf could not read the staged copy of "
                f"{self.plan.config_dir}: {out.stderr.strip()}"
            )
        return values

    def prepare(self) -> None:
        self.root.mkdir(mode=0o755)
        os.chmod(self.root, 0o755)
        stage = Stage(self.plan, self.root)
        stage.dir = self.config_dir  # the instance's own layout: root/etc, root/spool...
        stage.__enter__()  # copied; removed with the whole temporary directory
        self.config = rewrite(self.config_dir, self.root, self.port, self.stub)
        # Our own copy, backdated before any Postfix program reads it: they pause ~2 s
        # ("cool down") for a main.cf younger than that.
        past = time.time() - 10
        for p in self.config_dir.rglob("*"):
            if p.is_file() and not p.is_symlink():
                os.utime(p, (past, past))
        # The change's own indexed tables (hash, lmdb...): their index, as apply would build it.
        tools = PostfixTools(POSTCONF_TIMEOUT)
        for f in self.plan.files:
            if f.after is not None and f.map_type is not None and is_indexed(f.map_type):
                res = tools.postmap(self.config_dir, f.map_type, stage.staged(f.path))
                if not res.ok:
                    raise ReplayError(
                        f"postmap {f.map_type}:{f.path} failed in the staged "
                        f"copy: {stage.unstage(res.output).strip()}"
                    )
        owner, group, daemons = self._postconf("mail_owner", "setgid_group", "daemon_directory")
        self.master_bin = Path(daemons) / "master"
        lib = self.root / "lib"
        lib.mkdir(mode=0o755)
        shutil.chown(lib, user=owner)
        spool = self.root / "spool"
        spool.mkdir(mode=0o755)
        for sub, who, grp, mode in QUEUE_DIRS:
            path = spool / sub
            path.mkdir()
            shutil.chown(path, user=owner if who == _MAIL else who, group=group if grp else None)
            os.chmod(path, mode)

    def start(self) -> None:
        master = [str(self.master_bin), "-c", str(self.config_dir), "-s"]
        if self.resolv_conf is not None:
            script = 'mount --bind "$0" /etc/resolv.conf && exec "$@"'
            argv = [
                "unshare",
                "-m",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                str(self.resolv_conf),
                *master,
            ]
        else:
            argv = master
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise ReplayError(
                    f"the {self.name} configuration's Postfix did not start "
                    f"(exit {self.proc.returncode}): {err.strip() or self.log()}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1) as s,
            ):
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
            time.sleep(0.02)
        raise ReplayError(
            f"the {self.name} configuration's Postfix did not answer on "
            f"127.0.0.1:{self.port}: {self.log()}"
        )

    def log(self, tail: int = 2000) -> str:
        try:
            return (self.root / "maillog").read_text(errors="replace")[-tail:].strip()
        except OSError:
            return ""

    def stop(self) -> None:
        """Stop master and every process it started (its process group), SIGKILL at last."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        # smtpd and the other children share master's process group: none may linger.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.stderr is not None:
            proc.stderr.close()
