"""A private Postfix instance for tests: its own config, queue and data dirs, loopback only.

``master`` runs in the foreground as our child (no daemonising), inside a private mount
namespace where /etc/resolv.conf is bind-mounted to point at the stub DNS server, so DNS-based
restrictions are deterministic and nothing leaves the machine.  Everything has a timeout and
the instance is stopped by its pid, SIGKILL of its process group as the fallback
(postlogd can wedge on a full log socket: see shared/notes/postfix-facts.md).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

from pfwizard.impact import instance as impact_instance

POSTFIX_SBIN = Path("/usr/lib/postfix/sbin")
COMMAND_TIMEOUT = 30

# Services the bench needs; chroot column "n" everywhere (no chroot in a temp dir).
MASTER_CF = """\
# pfwizard test bench master.cf (generated)
{listen}      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

# MiaB's submission path, made runnable here (see ``PostfixInstance.write_master_cf``): a second
# smtpd whose mail goes through the ``authclean`` cleanup service, which replaces main.cf's
# header_checks with its own ``-o header_checks``.  No TLS or SASL: what matters for header
# checks is which cleanup service the mail goes through, not how the client logged in.
SUBMISSION_CF = """\
{listen}      inet  n       -       n       -       -       smtpd
  -o syslog_name=postfix/submission
  -o cleanup_service_name=authclean
authclean unix  n       -       n       -       0       cleanup
  -o header_checks=pcre:{filters}
  -o nested_header_checks=
"""

# A stand-in for MiaB's conf/postfix_outgoing_mail_header_filters (same kind of rules: hide
# the user's own Received: line and mail client headers).
MIAB_HEADER_FILTERS = """\
# Remove typically private information from mail sent by logged-in users (MiaB stand-in).
/^\\s*Received:[^\\n]*(.*)/\tREPLACE Received: from authenticated-user (box [127.0.0.1])$1
/^\\s*User-Agent:/\tIGNORE
/^\\s*X-Mailer:/\tIGNORE
"""
MIAB_HEADER_FILTERS_NAME = "outgoing_mail_header_filters"

# The queue directories as Postfix's own postfix-files lists them, from the impact preview's
# instances (one list of Postfix's layout), with this machine's mail owner and setgid group.
# Creating them here takes a millisecond; `postfix check` (which also creates them) takes
# 0.6-0.8 s, most of the bench's start-up (tests/test_bench.py measures it).
_OWNERS = {"<mail_owner>": "postfix", "<setgid_group>": "postdrop"}
QUEUE_DIRS = tuple(
    (name, _OWNERS.get(owner, owner), _OWNERS.get(group, group) if group else None, mode)
    for name, owner, group, mode in impact_instance.QUEUE_DIRS
)

# Mailboxes the bench accepts (virtual domain box.example.com, as on MiaB).
MAILBOXES = ("admin@box.example.com", "dmarc@box.example.com", "mick@box.example.com")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def base_main_cf(root: Path, port: int) -> dict[str, str]:
    """Parameters every bench instance has; tests layer MiaB's chains on top."""
    etc = root / "etc"
    return {
        "compatibility_level": "3.6",
        "queue_directory": str(root / "spool"),
        "data_directory": str(root / "lib"),
        "inet_interfaces": "127.0.0.1",
        "inet_protocols": "ipv4",
        "myhostname": "box.example.com",
        "mydomain": "example.com",
        "myorigin": "box.example.com",
        "mydestination": "localhost",
        # 127.0.0.2 is "inside"; 127.0.0.1 and 127.0.0.3 are outside senders.
        "mynetworks": "127.0.0.2/32",
        "virtual_mailbox_domains": "box.example.com",
        "virtual_mailbox_maps": f"texthash:{etc}/virtual_mailboxes",
        "virtual_transport": "discard:",
        "alias_maps": "",
        "alias_database": "",
        "maillog_file": str(root / "maillog"),
        "maillog_file_prefixes": str(root),
        "smtpd_banner": "$myhostname ESMTP bench",
        "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
        # Rejections must not cost a second each in tests.
        "smtpd_error_sleep_time": "0",
        "in_flow_delay": "0",
        "smtpd_client_connection_rate_limit": "0",
    }


class PostfixInstance:
    """One private Postfix. ``start()`` → use → ``stop()``; or use it as a context manager."""

    def __init__(self, dns_ip: str | None = None, port: int | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="pfwizard-bench-", dir="/tmp"))
        # Every parent must be traversable by the postfix user (postfix-facts.md).
        os.chmod(self.root, 0o755)
        self.port = port or free_port()
        self.submission_port = free_port()
        """The "submission" listener's port (only listening after ``write_master_cf(True)``)."""
        self.dns_ip = dns_ip
        self.config_dir = self.root / "etc"
        self.maillog = self.root / "maillog"
        self.proc: subprocess.Popen[bytes] | None = None
        for sub in ("etc", "spool", "lib"):
            (self.root / sub).mkdir(mode=0o755)
        # data_directory belongs to the mail owner (master refuses to start otherwise).
        shutil.chown(self.root / "lib", user="postfix")
        self.params: dict[str, str] = base_main_cf(self.root, self.port)
        (self.config_dir / "virtual_mailboxes").write_text("".join(f"{m} ok\n" for m in MAILBOXES))
        self.write_master_cf()
        self.write_main_cf()
        resolv = f"nameserver {dns_ip}\noptions timeout:1 attempts:1\n" if dns_ip else ""
        (self.root / "resolv.conf").write_text(resolv or "nameserver 127.0.0.254\n")

    # ---- configuration -------------------------------------------------------------------
    @property
    def main_cf(self) -> Path:
        return self.config_dir / "main.cf"

    @property
    def master_cf(self) -> Path:
        return self.config_dir / "master.cf"

    def master_cf_text(self, submission: bool = False) -> str:
        text = MASTER_CF.format(listen=f"127.0.0.1:{self.port}")
        if submission:
            text += SUBMISSION_CF.format(
                listen=f"127.0.0.1:{self.submission_port}",
                filters=self.config_dir / MIAB_HEADER_FILTERS_NAME,
            )
        return text

    def write_master_cf(self, submission: bool = False) -> None:
        """The bench's master.cf; ``submission``: plus MiaB's submission path (a second
        smtpd on ``submission_port`` using the ``authclean`` cleanup, and its filter file)."""
        if submission:
            (self.config_dir / MIAB_HEADER_FILTERS_NAME).write_text(MIAB_HEADER_FILTERS)
        tmp = self.config_dir / ".master.cf.tmp"
        tmp.write_text(self.master_cf_text(submission))
        os.replace(tmp, self.master_cf)
        self.cool_down()

    def write_main_cf(self, extra: Mapping[str, str] | None = None, raw_tail: str = "") -> None:
        """(Re)write main.cf: bench base, then ``extra`` parameters, then raw text."""
        params = dict(self.params)
        if extra:
            params.update(extra)
        text = "".join(f"{k} = {v}\n" for k, v in params.items()) + raw_tail
        # Write aside, backdate, rename: a Postfix process starting meanwhile (qmgr and pickup
        # restart after every reload) must never read a half-written or "hot" main.cf; that
        # left a root smtpd asleep before its greeting in about one run out of three.
        tmp = self.config_dir / ".main.cf.tmp"
        tmp.write_text(text)
        past = time.time() - 10
        os.utime(tmp, (past, past))
        os.replace(tmp, self.main_cf)
        self.cool_down()

    def cool_down(self, *paths: Path) -> None:
        """Backdate mtimes: Postfix re-reads files younger than ~2 s ("cool down")."""
        past = time.time() - 10
        # Every file in the config dir: texthash tables (virtual_mailboxes...) cool down too.
        for p in (*self.config_dir.iterdir(), *paths):
            if p.is_file():
                os.utime(p, (past, past))

    # ---- commands ------------------------------------------------------------------------
    def run(
        self, *argv: str, check: bool = True, timeout: int = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout, check=check
        )

    def postconf(self, *args: str) -> str:
        return self.run("postconf", "-c", str(self.config_dir), *args).stdout

    def postfix(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("postfix", "-c", str(self.config_dir), *args, check=check)

    # ---- lifecycle -----------------------------------------------------------------------
    def make_queue_dirs(self) -> None:
        """What `postfix check` would create, without its 0.7 s of other checks."""
        spool = self.root / "spool"
        for name, owner, group, mode in QUEUE_DIRS:
            path = spool / name
            path.mkdir(exist_ok=True)
            shutil.chown(path, user=owner, group=group)
            os.chmod(path, mode)

    def start(self) -> None:
        mark = self.log_mark()
        self._spawn_master()
        self.wait_greeting(mark)

    def _spawn_master(self) -> None:
        self.make_queue_dirs()
        master = f"{POSTFIX_SBIN}/master -c {self.config_dir} -s"
        script = f"mount --bind {self.root}/resolv.conf /etc/resolv.conf && exec {master}"
        self.proc = subprocess.Popen(
            ["unshare", "-m", "--propagation", "private", "sh", "-c", script],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.wait_listening()

    def probe_banner(self, timeout: float = 0.2) -> str:
        """Connect once: "ok" (a 220 greeting), "closed" (no greeting: smtpd died or the
        connection was reset) or "silent" (connected, but nothing came within ``timeout``)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                data = s.recv(512)
                if data.startswith(b"220"):
                    with contextlib.suppress(OSError):
                        s.sendall(b"QUIT\r\n")
                    return "ok"
                return "closed"
        except TimeoutError:
            return "silent"
        except OSError:
            return "closed"

    def wait_greeting(self, since: int, timeout: float = 1.5) -> bool:
        """Wait until smtpd greets: right after a restart the first connections may be reset.

        Gives up at once when smtpd logged a fatal error since ``since`` (a test may break
        smtpd on purpose: that is its business), else quietly after ``timeout``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.probe_banner() == "ok":
                return True
            if " fatal: " in self.log_text()[since:]:
                return False
            time.sleep(0.02)
        return False

    def wait_listening(self, timeout: float = 10.0, port: int | None = None) -> None:
        port = port or self.port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"bench master exited {self.proc.returncode}: {err}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), timeout=0.5),
            ):
                return
            time.sleep(0.01)
        raise RuntimeError(f"bench Postfix not listening on 127.0.0.1:{port}")

    def reload(self) -> None:
        mark = self.log_mark()
        self.postfix("reload")
        # master re-reads its config asynchronously; give it a moment to re-listen.
        time.sleep(0.05)
        self.wait_listening()
        # No greeting and no fatal error: smtpd is still throttled from an earlier broken
        # config (a reload never revives it) or wedged.  The bench starts afresh, so no test
        # inherits that; a test that breaks smtpd itself sees its fatal error and is left be.
        if not self.wait_greeting(mark, timeout=1.0) and " fatal: " not in (self.log_text()[mark:]):
            self.restart()

    def restart(self) -> None:
        self.stop(cleanup=False)
        self.start()

    def stop(self, cleanup: bool = True) -> None:
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            # Children (smtpd, postlogd, ...) are in the same session; make sure none linger.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None
        if cleanup:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self) -> PostfixInstance:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- the mail log --------------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.maillog.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def noqueue_lines(self, since: int = 0) -> list[str]:
        """NOQUEUE lines in the log, from byte offset ``since`` (see ``log_mark``)."""
        return [ln for ln in self.log_text()[since:].splitlines() if "NOQUEUE:" in ln]

    def log_mark(self) -> int:
        return len(self.log_text())

    def wait_noqueue(self, since: int = 0, timeout: float = 5.0) -> list[str]:
        """``noqueue_lines`` once postlogd has written at least one (it logs asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.noqueue_lines(since)
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.01)


@contextlib.contextmanager
def running_instance(dns_ip: str | None = None) -> Iterator[PostfixInstance]:
    inst = PostfixInstance(dns_ip=dns_ip)
    try:
        inst.start()
        yield inst
    finally:
        inst.stop()
