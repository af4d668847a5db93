"""Hostile input on every entry point: no traceback, no hang, no change to the configuration.

More than a thousand inputs, generated from a fixed seed (the same inputs on every run), fed to
the commands an admin (or a script, or someone who can drop a file) reaches: a profile for
``apply`` and ``apply --dry-run``; main.cf and master.cf for ``check`` and ``status``;
customizations.yaml for ``status`` and ``restore --dry-run``; journal entries for ``rollback``;
reject lines and logs for ``explain``; table lines through the core API (``pfwizard.tables``).
For each: no traceback, an exit code from the README's table, every file of the configuration
directory byte for byte as before, done within 10 s.

The commands run in-process (``pfwizard.cli.main``) with a 10 s alarm; a few run the installed
``pfwizard`` program in a subprocess, for what only a real process shows (a FIFO that blocks
an ``open``, ``/dev/zero``), killed after 10 s so a hang fails the test instead of CI.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import importlib.util
import io
import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pfwizard.cli import main
from pfwizard.errors import PfwizardError
from tests.conftest import needs_postfix
from tests.miab_setup import box

SEED = 20261202
LIMIT_S = 10.0
EXIT_CODES = {0, 1, 2, 3, 4, 10}
REPO = Path(__file__).resolve().parent.parent

# ---- the inputs ---------------------------------------------------------------------------

PROFILE = """\
# a profile as Ansible pushes it
version: 1
chains:
  smtpd_sender_restrictions:
    operations:
      - insert: check_sender_access hash:{cfg}/pfwizard/allow
        before: reject_unknown_sender_domain
        why: partners
      - remove: reject_rhsbl_sender dbl.spamhaus.org=127.0.1.[2..99]
parameters:
  smtpd_helo_required:
    value: "yes"
services:
  smtp/inet/smtpd_tls_security_level:
    value: may
tables:
  {cfg}/pfwizard/allow:
    type: hash
    content: |
      partner.example OK
      # a comment
      /^x/ REJECT
"""

REJECTS = [
    "Nov 22 03:00:01 box postfix/smtpd[123]: NOQUEUE: reject: RCPT from unknown[127.0.0.3]: "
    "554 5.7.1 <victim@remote.example>: Relay access denied; from=<a@outside.example> "
    "to=<victim@remote.example> proto=ESMTP helo=<outside>",
    "2026-11-22T03:00:02.123456+00:00 box postfix/smtpd[9]: NOQUEUE: reject: RCPT from "
    "mx.example[127.0.0.3]: 450 4.1.8 <bounce@nx.example>: Sender address rejected: Domain "
    "not found; from=<bounce@nx.example> to=<me@box.example.com> proto=ESMTP helo=<mx.example>",
    "Nov 22 03:00:03 box postfix/smtpd[5]: NOQUEUE: reject: RCPT from x[127.0.0.3]: 554 5.7.1 "
    "Service unavailable; Client host [127.0.0.3] blocked using zen.spamhaus.org; "
    "from=<a@b.example> to=<me@box.example.com> proto=ESMTP helo=<x>",
    "Nov 22 03:00:04 box postfix/postscreen[7]: NOQUEUE: reject: RCPT from [127.0.0.3]:4242: "
    "550 5.7.1 Service unavailable; client [127.0.0.3] blocked using zen.spamhaus.org; "
    "from=<a@b.example>, to=<me@box.example.com>, proto=ESMTP, helo=<x>",
    "Nov 22 03:00:05 box postfix/smtpd[8]: NOQUEUE: reject: RCPT from x[127.0.0.3]: 504 5.5.2 "
    "<x>: Helo command rejected: need fully-qualified hostname; from=<a@b.example> "
    "to=<me@box.example.com> proto=ESMTP helo=<x>",
]

NASTY = [
    "\0",
    "\n",
    "\r",
    "\x1b[31m",
    "\x7f",
    "\t",
    "\ufeff",
    "\u202e",
    "\udcff",
    "é",
    "\U0001f4a9",
    "'",
    '"',
    "\\",
    "{",
    "}",
    "[",
    "]",
    ":",
    "- ",
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "%",
    "|",
    ">",
    "#",
    ",",
    "$",
    "${",
    "$(",
    "=",
    "=" * 9,
    "..",
    "/../../",
    "~",
    " " * 50,
    "0" * 400,
    "a" * 300,
    "-1",
    "9" * 50,
    "1e999",
    "nan",
    ".inf",
    "null",
    "~",
    "yes",
    "no",
    "<<: *a",
]


def mutate(text: str, rng: random.Random, rounds: int | None = None) -> str:
    """A few random edits of ``text``: nasty characters, cut or doubled spans, long lines,
    shuffled or re-indented lines."""
    for _ in range(rounds or rng.randint(1, 4)):
        n = len(text)
        pos = rng.randrange(n + 1) if n else 0
        op = rng.randrange(9)
        if op == 0:
            text = text[:pos] + rng.choice(NASTY) + text[pos:]
        elif op == 1 and n:
            end = min(n, pos + rng.randint(1, 40))
            text = text[:pos] + text[end:]
        elif op == 2:
            text = text[:pos]
        elif op == 3 and n:
            end = min(n, pos + rng.randint(1, 200))
            text = text[:end] + text[pos:end] * rng.randint(2, 50) + text[end:]
        elif op == 4:
            text = text[:pos] + rng.choice("xa/ {[") * rng.choice((300, 5000, 70_000)) + text[pos:]
        elif op == 5:
            lines = text.split("\n")
            rng.shuffle(lines)
            text = "\n".join(lines)
        elif op == 6:
            lines = text.split("\n")
            i = rng.randrange(len(lines))
            lines[i] = rng.choice(("", " ", "  ", "\t", "    ", "- ")) + lines[i].lstrip(
                " " if rng.random() < 0.5 else ""
            )
            text = "\n".join(lines)
        elif op == 7:
            text = (
                text[:pos]
                + "".join(chr(rng.randrange(0x20000)) for _ in range(rng.randint(1, 8)))
                + text[pos:]
            )
        else:
            text = text[:pos] + rng.choice(("\r\n", "\n\n", "\n ", "\n#", "\n-")) + text[pos:]
    return text


def to_bytes(text: str, rng: random.Random) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    if rng.random() < 0.1:  # a stray byte that is not UTF-8
        pos = rng.randrange(len(data) + 1)
        data = data[:pos] + bytes([rng.choice((0x80, 0xC3, 0xFF, 0xFE))]) + data[pos:]
    return data


def deep_yaml(depth: int, flow: bool) -> str:
    if flow:
        return "version: 1\nchains: " + "[" * depth + "]" * depth + "\n"
    return "version: 1\nchains:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(depth))


def many_ops(n: int) -> str:
    return (
        "version: 1\nchains:\n  smtpd_helo_restrictions:\n    operations:\n"
        + "      - insert: reject_invalid_helo_hostname\n" * n
    )


CRAFTED_YAML: list[tuple[str, str]] = [
    ("empty", ""),
    ("comments only", "# nothing\n# at all\n"),
    ("a list", "- 1\n- 2\n"),
    ("a scalar", "hello\n"),
    ("version 2", "version: 2\n"),
    ("version text", "version: one\n"),
    ("two documents", "version: 1\n---\nversion: 1\n"),
    ("python tag", "version: 1\nchains: !!python/object/apply:os.system ['true']\n"),
    ("custom tag", "version: !custom 1\n"),
    (
        "billion laughs",
        "version: 1\na: &a [x, x, x, x, x, x, x, x, x]\n"
        + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, "
            f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
            for i in range(8)
        ),
    ),
    (
        "alias ops",
        "version: 1\nchains:\n  smtpd_helo_restrictions: &c\n    operations:\n"
        "      - insert: reject_invalid_helo_hostname\n  smtpd_sender_restrictions: *c\n",
    ),
    ("merge key", "version: 1\nparameters:\n  a: &x {value: b}\n  c:\n    <<: *x\n"),
    ("duplicate key", "version: 1\nversion: 1\n"),
    (
        "nul table",
        'version: 1\ntables:\n  "/etc/postfix/a\\0b":\n    type: hash\n    content: "x OK"\n',
    ),
    (
        "newline table",
        'version: 1\ntables:\n  "/etc/postfix/a\\nb":\n    type: hash\n    content: "x OK"\n',
    ),
    (
        "300-char table",
        "version: 1\ntables:\n  /etc/postfix/"
        + "a" * 300
        + ':\n    type: hash\n    content: "x OK"\n',
    ),
    (
        "5000-char table",
        "version: 1\ntables:\n  /" + "a/" * 2500 + ':\n    type: hash\n    content: "x OK"\n',
    ),
    ("table outside", 'version: 1\ntables:\n  /etc/shadow:\n    type: hash\n    content: "x OK"\n'),
    (
        "table dotdot",
        'version: 1\ntables:\n  {cfg}/../../etc/passwd:\n    type: hash\n    content: "x OK"\n',
    ),
    ("table relative", "version: 1\ntables:\n  allow:\n    type: hash\n    content: x OK\n"),
    (
        "table type bad",
        'version: 1\ntables:\n  {cfg}/t:\n    type: "mysql:/etc/x"\n    content: x OK\n',
    ),
    ("table is dir", "version: 1\ntables:\n  {cfg}:\n    type: hash\n    content: x OK\n"),
    (
        "table bad line",
        'version: 1\ntables:\n  {cfg}/t:\n    type: cidr\n    content: "999.1.1.1/99 OK\\n\\0"\n',
    ),
    ("param nul", 'version: 1\nparameters:\n  smtpd_helo_required:\n    value: "y\\0es"\n'),
    (
        "param newline",
        "version: 1\nparameters:\n  smtpd_helo_required:\n"
        '    value: "yes\\nmynetworks = 0.0.0.0/0"\n',
    ),
    ("param name bad", 'version: 1\nparameters:\n  "a b":\n    value: x\n'),
    ("param 300 name", "version: 1\nparameters:\n  " + "a" * 300 + ":\n    value: x\n"),
    (
        "param huge value",
        "version: 1\nparameters:\n  smtpd_banner:\n    value: " + "x" * 100_000 + "\n",
    ),
    ("service bad key", "version: 1\nservices:\n  smtp/inet:\n    value: x\n"),
    ("service nul", 'version: 1\nservices:\n  "smtp/inet/a\\0":\n    value: x\n'),
    (
        "service newline value",
        "version: 1\nservices:\n  smtp/inet/smtpd_tls_security_level:"
        '\n    value: "may\\nsmtp inet n - y - - smtpd"\n',
    ),
    (
        "op unknown restriction",
        'version: 1\nchains:\n  smtpd_helo_restrictions:\n    operations:\n      - insert: "{x}"\n',
    ),
    ("op not a map", "version: 1\nchains:\n  smtpd_helo_restrictions:\n    operations: [1, 2]\n"),
    (
        "op nul",
        "version: 1\nchains:\n  smtpd_helo_restrictions:\n    operations:\n"
        '      - insert: "reject\\0"\n',
    ),
    (
        "op huge",
        "version: 1\nchains:\n  smtpd_helo_restrictions:\n    operations:\n"
        "      - insert: " + "x" * 200_000 + "\n",
    ),
    (
        "base newline",
        'version: 1\nchains:\n  smtpd_helo_restrictions:\n    base: "a\\nb"\n    operations: []\n',
    ),
    (
        "chain of a milter",
        "version: 1\nchains:\n  header_checks:\n    operations:\n      - insert: permit\n",
    ),
    ("big int", "version: " + "9" * 5000 + "\n"),
    ("deep 30 block", deep_yaml(30, False)),
    ("deep 3000 block", deep_yaml(3000, False)),
    ("deep 25 flow", deep_yaml(25, True)),
    ("deep 100000 flow", deep_yaml(100_000, True)),
    ("deep mapping flow", "version: 1\nchains: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n"),
    ("2,001 operations", many_ops(2001)),
    ("4,000 operations", many_ops(4000)),
    ("200k operations", many_ops(200_000)),
    (
        "6,000 keys",
        "version: 1\nparameters:\n" + "".join(f"  p{i}:\n    value: x\n" for i in range(3000)),
    ),
    ("long line", "version: 1\n# " + "x" * 2_000_000 + "\n"),
    ("just over 1 MiB", "version: 1\n" + "#" * (1024 * 1024) + "\n"),
    ("BOM", "\ufeffversion: 1\n"),
    ("tabs", "version: 1\nchains:\n\tsmtpd_helo_restrictions: {}\n"),
]


# ---- running one input ----------------------------------------------------------------------


def where(exc: BaseException) -> str:
    """The innermost frame of pfwizard's own code an exception came through."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/pfwizard/" in f.filename]
    f = frames[-1] if frames else traceback.extract_tb(exc.__traceback__)[-1]
    return f"{Path(f.filename).name}:{f.lineno}"


class Hung(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hung(f"still running after {LIMIT_S:.0f} s")


@contextlib.contextmanager
def time_limit() -> Iterator[None]:
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, LIMIT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root``: a hash of a regular file, the kind of anything else (a FIFO
    is never opened)."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in sorted(dirnames + filenames):
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(root))
            if stat.S_ISREG(st.st_mode):
                out[rel] = (
                    f"{stat.S_IMODE(st.st_mode):o} " + hashlib.sha256(p.read_bytes()).hexdigest()
                )
            else:
                out[rel] = f"{st.st_mode:o}"
    return out


@dataclass
class Result:
    case: str
    code: int | None
    seconds: float
    changed: list[str]
    problem: str | None
    stderr: str = ""


@dataclass
class Scratch:
    """A MiaB v75 configuration directory, a state directory with a recorded customisation
    and one real journal entry; copied fresh for every input."""

    template: Path
    work: Path
    count: int = 0

    def fresh(self) -> tuple[Path, Path, Path]:
        self.count += 1
        d = self.work / f"i{self.count}"
        shutil.copytree(self.template, d, symlinks=True)
        return d / "etc", d / "state", d


@dataclass
class Case:
    entry: str
    name: str
    argv: Callable[[Path, Path, Path], list[str]]
    setup: Callable[[Path, Path, Path], None] = lambda cfg, state, tmp: None


def run_inprocess(case: Case, scratch: Scratch) -> Result:
    if os.environ.get("HOSTILE_TRACE"):  # which input is running, when one misbehaves
        print(f"{case.entry}: {case.name}", file=sys.__stderr__, flush=True)
    cfg, state, tmp = scratch.fresh()
    case.setup(cfg, state, tmp)
    before = snapshot(cfg)
    argv = [
        "--config-dir",
        str(cfg),
        "--state-dir",
        str(state),
        "--no-reload",
        *case.argv(cfg, state, tmp),
    ]
    out, err = io.StringIO(), io.StringIO()
    problem = None
    code: int | None = None
    start = time.monotonic()
    try:
        with time_limit(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(argv)
            except SystemExit as exc:  # argparse's usage errors
                code = exc.code if isinstance(exc.code, int) else 2
    except Hung as exc:
        problem = str(exc)
    except BaseException as exc:
        problem = f"traceback: {type(exc).__name__}: {str(exc)[:300]} ({where(exc)})"
    seconds = time.monotonic() - start
    stderr = err.getvalue()
    if problem is None:
        if "Traceback" in stderr or "this is a bug" in stderr:
            problem = f"a traceback: {stderr.strip()[-300:]}"
        elif code not in EXIT_CODES:
            problem = f"exit code {code}"
        elif seconds > LIMIT_S:
            problem = f"took {seconds:.1f} s"
    after = snapshot(cfg)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed and problem is None:
        problem = f"changed {', '.join(changed)}"
    shutil.rmtree(tmp, ignore_errors=True)
    return Result(f"{case.entry}: {case.name}", code, seconds, changed, problem, stderr)


# ---- the generators ---------------------------------------------------------------------------


def _write(
    path_of: Callable[[Path, Path, Path], Path], data: bytes | str
) -> Callable[[Path, Path, Path], None]:
    def setup(cfg: Path, state: Path, tmp: Path) -> None:
        p = path_of(cfg, state, tmp)
        raw = data.replace("{cfg}", str(cfg)) if isinstance(data, str) else data
        if p.is_symlink() or p.exists():
            p.unlink()
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)

    return setup


def _special(
    path_of: Callable[[Path, Path, Path], Path], kind: str
) -> Callable[[Path, Path, Path], None]:
    """Replace the file with something that is not a regular file."""

    def setup(cfg: Path, state: Path, tmp: Path) -> None:
        p = path_of(cfg, state, tmp)
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.is_symlink() or p.exists():
            p.unlink()
        if kind == "fifo":
            os.mkfifo(p)
        elif kind == "dir":
            p.mkdir()
        elif kind == "socket":
            s = socket.socket(socket.AF_UNIX)
            s.bind(str(p))
            s.close()
        elif kind == "sparse 50 MB":
            with open(p, "wb") as fh:
                fh.truncate(50 * 1024 * 1024)
        elif kind == "dangling":
            p.symlink_to(tmp / "nowhere")
        elif kind == "loop":
            p.symlink_to(p)
        elif kind == "missing":
            pass
        else:  # a device, by symlink: /dev/zero, /dev/null, /dev/urandom
            p.symlink_to(kind)

    return setup


SPECIALS = [
    "fifo",
    "dir",
    "socket",
    "sparse 50 MB",
    "dangling",
    "loop",
    "missing",
    "/dev/zero",
    "/dev/null",
    "/dev/urandom",
]


REFUSED_WHEN_READ = {
    "a list",
    "a scalar",
    "version 2",
    "version text",
    "two documents",
    "python tag",
    "custom tag",
    "billion laughs",
    "duplicate key",
    "nul table",
    "300-char table",
    "table relative",
    "param name bad",
    "big int",
    "deep 30 block",
    "deep 3000 block",
    "deep 25 flow",
    "deep 100000 flow",
    "deep mapping flow",
    "2,001 operations",
    "200k operations",
    "long line",
    "just over 1 MiB",
    "tabs",
}


def profile_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    prof = lambda cfg, state, tmp: tmp / "profile.yaml"  # noqa: E731
    dry = lambda cfg, state, tmp: ["apply", "--dry-run", str(tmp / "profile.yaml")]  # noqa: E731
    real = lambda cfg, state, tmp: ["apply", str(tmp / "profile.yaml")]  # noqa: E731
    for name, text in CRAFTED_YAML:
        cases.append(Case("profile", f"apply --dry-run, {name}", dry, _write(prof, text)))
    for kind in SPECIALS:
        cases.append(Case("profile", f"apply --dry-run, {kind}", dry, _special(prof, kind)))
        cases.append(Case("profile", f"apply, {kind}", real, _special(prof, kind)))
    for i in range(240):
        text = mutate(PROFILE, rng)
        cases.append(
            Case(
                "profile", f"apply --dry-run, mutation {i}", dry, _write(prof, to_bytes(text, rng))
            )
        )
    # A real apply (no reload) only on inputs refused while reading: a profile that reads
    # fine would be applied, which is not the point here.
    for name, text in CRAFTED_YAML:
        if name in REFUSED_WHEN_READ:
            cases.append(Case("profile", f"apply, {name}", real, _write(prof, text)))
    cases.append(
        Case(
            "profile",
            "apply, a NUL in the file name",
            lambda c, s, t: ["apply", "--dry-run", str(t / "a\0b")],
        )
    )
    cases.append(
        Case(
            "profile",
            "apply, a 5000-character file name",
            lambda c, s, t: ["apply", "--dry-run", "/" + "x" * 5000],
        )
    )
    return cases


def state_yaml_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    cy = lambda cfg, state, tmp: state / "customizations.yaml"  # noqa: E731
    commands = (["status"], ["restore", "--dry-run"])
    for argv in commands:
        words = " ".join(argv)
        for name, text in CRAFTED_YAML:
            cases.append(
                Case(
                    "customizations.yaml",
                    f"{words}, {name}",
                    lambda c, s, t, a=argv: a,
                    _write(cy, text),
                )
            )
        for kind in SPECIALS:
            cases.append(
                Case(
                    "customizations.yaml",
                    f"{words}, {kind}",
                    lambda c, s, t, a=argv: a,
                    _special(cy, kind),
                )
            )
        for kind in ("fifo", "/dev/zero", "dir", "sparse 50 MB"):
            # a recorded table that is not a file any more
            table = lambda cfg, state, tmp: cfg / "pfwizard" / "allow"  # noqa: E731

            def both(
                cfg: Path,
                state: Path,
                tmp: Path,
                k: str = kind,
                t: Callable[[Path, Path, Path], Path] = table,
            ) -> None:
                _write(cy, PROFILE)(cfg, state, tmp)
                _special(t, k)(cfg, state, tmp)

            cases.append(
                Case(
                    "customizations.yaml",
                    f"{words}, its table is {kind}",
                    lambda c, s, t, a=argv: a,
                    both,
                )
            )
        for i in range(90):
            text = mutate(PROFILE, rng)
            cases.append(
                Case(
                    "customizations.yaml",
                    f"{words}, mutation {i}",
                    lambda c, s, t, a=argv: a,
                    _write(cy, to_bytes(text, rng)),
                )
            )
    return cases


MAINCF_CRAFTED = [
    ("recursive $", "a = $b\nb = $a\nsmtpd_helo_restrictions = $a\n"),
    ("self $", "smtpd_helo_restrictions = $smtpd_helo_restrictions, reject\n"),
    ("deep ${", "smtpd_banner = " + "${a?{" * 3000 + "x" + "}}" * 3000 + "\n"),
    (
        "class loop",
        "smtpd_restriction_classes = a\na = a\n"
        "smtpd_recipient_restrictions = a, reject_unauth_destination\n",
    ),
    (
        "class deep",
        "smtpd_restriction_classes = "
        + ",".join(f"c{i}" for i in range(500))
        + "\n"
        + "".join(f"c{i} = c{i + 1}\n" for i in range(500))
        + "smtpd_recipient_restrictions = c0, reject_unauth_destination\n",
    ),
    (
        "300-char table",
        "smtpd_client_restrictions = check_client_access hash:/etc/postfix/" + "a" * 300 + "\n",
    ),
    (
        "5000-char table",
        "smtpd_client_restrictions = check_client_access cidr:/" + "a/" * 2500 + "\n",
    ),
    ("table is a fifo", "smtpd_client_restrictions = check_client_access cidr:{cfg}/fifo\n"),
    ("table is /dev/zero", "smtpd_client_restrictions = check_client_access regexp:/dev/zero\n"),
    ("mynetworks from /dev/zero", "mynetworks = /dev/zero\n"),
    ("mynetworks table fifo", "mynetworks = cidr:{cfg}/fifo\n"),
    ("a lone continuation", "   lone\n"),
    ("no =", "smtpd_helo_restrictions\n"),
    ("CR only", "a = b\rc = d\r"),
    ("64 KiB line", "smtpd_banner = " + "x" * (64 * 1024 - 15) + "\n"),
    ("64 KiB + 1 line", "smtpd_banner = " + "x" * (64 * 1024) + "\n"),
    ("10 MB line", "smtpd_banner = " + "x" * 10_000_000 + "\n"),
    ("100k lines", "".join(f"p{i} = {i}\n" for i in range(100_000))),
    ("10k continuations", "smtpd_helo_restrictions = permit\n" + "  , reject\n" * 10_000),
    (
        "5000 items",
        "smtpd_recipient_restrictions = "
        + ", ".join(f"check_client_access hash:/etc/postfix/t{i}" for i in range(5000))
        + "\n",
    ),
    ("binary", "".join(chr(i) for i in range(256))),
    ("NUL", "a = b\0c\n"),
    ("latin-1", "# caf\xe9\n"),
]
MASTERCF_CRAFTED = [
    ("10 MB line", "smtp inet n - y - - smtpd -o a=" + "x" * 10_000_000 + "\n"),
    ("unbalanced {", "smtp inet n - y - - smtpd -o { a=b\n" + "  -o c=d\n" * 1000),
    ("deep braces", "smtp inet n - y - - smtpd -o " + "{" * 50_000 + "}" * 50_000 + "\n"),
    ("10k -o", "smtp inet n - y - - smtpd" + " -o a=b" * 10_000 + "\n"),
    ("10k entries", "".join(f"s{i} inet n - y - - smtpd\n" for i in range(10_000))),
    ("short entry", "smtp inet\n"),
    ("-o at end", "smtp inet n - y - - smtpd -o\n"),
    ("lone continuation", "  -o a=b\n"),
    ("open relay override", "smtp inet n - y - - smtpd -o mynetworks=0.0.0.0/0\n"),
    ("NUL", "smtp inet n - y - - smtpd\0\n"),
    ("64 KiB + 1 line", "smtp inet n - y - - smtpd -o a=" + "x" * (64 * 1024) + "\n"),
]


def config_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    for fname, crafted, rounds, _fixture in (
        ("main.cf", MAINCF_CRAFTED, 130, "main.cf"),
        ("master.cf", MASTERCF_CRAFTED, 90, "master.cf"),
    ):
        where = lambda cfg, state, tmp, f=fname: cfg / f  # noqa: E731
        original = (
            REPO
            / "tests"
            / "fixtures"
            / "miab"
            / ("main.cf.v75-fresh" if fname == "main.cf" else "master.cf.v75")
        ).read_text()
        for argv in (["check"], ["status"]):
            words = argv[0]

            def fifo_too(
                setup: Callable[[Path, Path, Path], None],
            ) -> Callable[[Path, Path, Path], None]:
                def both(cfg: Path, state: Path, tmp: Path) -> None:
                    os.mkfifo(cfg / "fifo")
                    setup(cfg, state, tmp)

                return both

            for name, text in crafted:
                body = original + text if rng.random() < 0.5 else text
                cases.append(
                    Case(
                        fname,
                        f"{words}, {name}",
                        lambda c, s, t, a=argv: a,
                        fifo_too(_write(where, body)),
                    )
                )
            for kind in SPECIALS:
                cases.append(
                    Case(
                        fname, f"{words}, {kind}", lambda c, s, t, a=argv: a, _special(where, kind)
                    )
                )
            n = rounds if words == "check" else rounds // 2
            for i in range(n):
                text = mutate(original, rng, rng.randint(1, 6))
                cases.append(
                    Case(
                        fname,
                        f"{words}, mutation {i}",
                        lambda c, s, t, a=argv: a,
                        _write(where, to_bytes(text, rng)),
                    )
                )
    return cases


# Journal entries are checked before use by pfwizard.journalcheck (the state directory's
# own work): until it is there, a corrupt entry.json still ends in a traceback, and one that
# is /dev/zero would be read until memory runs out, so they are only fed to a pfwizard that
# checks them.
JOURNAL_CHECKED = importlib.util.find_spec("pfwizard.journalcheck") is not None


def journal_cases(rng: random.Random, valid_entry: dict[str, object]) -> list[Case]:
    cases: list[Case] = []
    entry = lambda cfg, state, tmp: state / "journal" / "9" / "entry.json"  # noqa: E731
    good = json.dumps(valid_entry, indent=2)
    variants: list[tuple[str, str | bytes]] = [
        ("empty", ""),
        ("null", "null"),
        ("a list", "[]"),
        ("a string", '"x"'),
        ("not JSON", "{nope"),
        ("binary", bytes(range(256))),
        ("deep", "[" * 100_000 + "]" * 100_000),
        ("big number", "9" * 100_000),
        ("NaN", '{"id": NaN}'),
    ]
    for key in list(valid_entry):
        for value in (None, 1, "x", [], {}, "../../../../etc/passwd", -1, 1e308, "\0", "a" * 5000):
            broken = dict(valid_entry)
            broken[key] = value
            variants.append((f"{key}={value!r:.20}", json.dumps(broken)))
        broken = dict(valid_entry)
        del broken[key]
        variants.append((f"no {key}", json.dumps(broken)))
    for i in range(40):
        variants.append((f"mutation {i}", to_bytes(mutate(good, rng), rng)))
    for name, data in variants:
        cases.append(
            Case(
                "journal",
                f"rollback --list, {name}",
                lambda c, s, t: ["rollback", "--list"],
                _write(entry, data),
            )
        )
    for name, data in rng.sample(variants, 30):
        cases.append(
            Case(
                "journal",
                f"rollback --show 9, {name}",
                lambda c, s, t: ["rollback", "--show", "9"],
                _write(entry, data),
            )
        )
    for kind in ("fifo", "dir", "/dev/zero", "sparse 50 MB"):
        cases.append(
            Case(
                "journal",
                f"rollback --list, entry.json {kind}",
                lambda c, s, t: ["rollback", "--list"],
                _special(entry, kind),
            )
        )
    diff = lambda cfg, state, tmp: state / "journal" / "9" / "diff.patch"  # noqa: E731
    for kind in ("fifo", "/dev/zero", "dir"):
        cases.append(
            Case(
                "journal",
                f"rollback --show 9, diff.patch {kind}",
                lambda c, s, t: ["rollback", "--show", "9"],
                _special(diff, kind),
            )
        )
    for word in ("../1", "9" * 400, "\0", "-1", "1/../1"):
        cases.append(
            Case(
                "journal",
                f"rollback --show {word!r:.20}",
                lambda c, s, t, w=word: ["rollback", "--show", w],
            )
        )
    return cases


def explain_cases(rng: random.Random) -> list[Case]:
    cases: list[Case] = []
    for i in range(220):
        line = mutate(rng.choice(REJECTS), rng)
        cases.append(Case("explain", f"LINE mutation {i}", lambda c, s, t, x=line: ["explain", x]))
    for i, line in enumerate(
        (
            "",
            " ",
            "reject: ",
            "NOQUEUE: reject: RCPT from [",
            "NOQUEUE: reject: RCPT from " + "x[" * 5000,
            "reject: " * 100_000,
        )
    ):
        cases.append(Case("explain", f"LINE crafted {i}", lambda c, s, t, x=line: ["explain", x]))
    log = lambda cfg, state, tmp: tmp / "mail.log"  # noqa: E731
    gz = lambda cfg, state, tmp: tmp / "mail.log.gz"  # noqa: E731
    for i in range(50):
        lines = [
            mutate(rng.choice(REJECTS), rng) if rng.random() < 0.5 else rng.choice(REJECTS)
            for _ in range(rng.randint(1, 40))
        ]
        data = to_bytes("\n".join(lines), rng)
        cases.append(
            Case(
                "explain",
                f"--log mutation {i}",
                lambda c, s, t: ["explain", "--log", str(t / "mail.log")],
                _write(log, data),
            )
        )
    whole = gzip.compress(("\n".join(REJECTS) + "\n").encode() * 200)
    for name, data in (
        ("truncated .gz", whole[: len(whole) // 2]),
        ("gz header only", whole[:10]),
        ("gz magic only", b"\x1f\x8b"),
        ("gz corrupt body", whole[:20] + bytes(200) + whole[220:]),
        ("gz bad crc", whole[:-8] + b"\0" * 8),
        ("gz trailing junk", whole + b"junk"),
        ("gz of binary", gzip.compress(bytes(range(256)) * 1000)),
    ):
        cases.append(
            Case(
                "explain",
                f"--log {name}",
                lambda c, s, t: ["explain", "--log", str(t / "mail.log.gz")],
                _write(gz, data),
            )
        )
    for kind in SPECIALS:
        cases.append(
            Case(
                "explain",
                f"--log {kind}",
                lambda c, s, t: ["explain", "--log", str(t / "mail.log")],
                _special(log, kind),
            )
        )
    for since in (
        "99999999999d",
        "9" * 5000 + "d",
        "-1d",
        "0d",
        "1x",
        "",
        " ",
        "2026-13-45",
        "0000-01-01",
        "9999-12-31 23:59:59",
        "today yesterday",
        "\0",
        "1e9d",
        "999999999w",
        "٣d",
        "2026-11-22T25:00",
    ):
        cases.append(
            Case(
                "explain",
                f"--since {since!r:.20}",
                lambda c, s, t, x=since: ["explain", "--log", str(t / "mail.log"), "--since", x],
                _write(log, "\n".join(REJECTS) + "\n"),
            )
        )
    return cases


def option_cases() -> list[Case]:
    """--config-dir and --state-dir that are not directories."""
    commands = (
        ["check"],
        ["status"],
        ["restore", "--dry-run"],
        ["rollback", "--list"],
        ["apply", "--dry-run", "{tmp}/profile.yaml"],
        ["explain", REJECTS[0]],
    )
    odd = {
        "missing": "{tmp}/nowhere/at/all",
        "a file": "{tmp}/file",
        "/dev/null": "/dev/null",
        "a FIFO": "{tmp}/fifo",
        "empty": "",
        "a NUL": "{tmp}/a\0b",
    }

    def setup(cfg: Path, state: Path, tmp: Path) -> None:
        (tmp / "file").write_text("not a directory\n")
        os.mkfifo(tmp / "fifo")
        (tmp / "profile.yaml").write_text(PROFILE.replace("{cfg}", str(cfg)))

    cases: list[Case] = []
    for argv in commands:
        for what, value in odd.items():
            for option in ("--config-dir", "--state-dir"):
                if what == "a NUL" and option == "--state-dir":
                    continue  # no command line can carry a NUL byte (execve): in-process only
                cases.append(
                    Case(
                        "options",
                        f"{' '.join(argv[:2])[:30]}, {option} {what}",
                        lambda c, s, t, a=argv, o=option, v=value: [
                            o,
                            v.replace("{tmp}", str(t)),
                            *[w.replace("{tmp}", str(t)) for w in a],
                        ],
                        setup,
                    )
                )
    return cases


# ---- tables through the core API ---------------------------------------------------------

TABLE_SAMPLES = {
    "hash": "partner.example OK\nuser@x.example REJECT no\n# c\n",
    "cidr": "127.0.0.3 REJECT\n127.0.0.0/8 OK\n!127.0.0.2 DUNNO\n::1 OK\n",
    "regexp": "/^x\\.example$/ REJECT\nif /a/\n/b/ OK\nendif\n",
    "pcre": "/^(?:a|b)+$/ REJECT\n/(x)(y)/ PREPEND X-$1: $2\n",
    "texthash": "a OK\n",
}


def table_inputs(rng: random.Random) -> list[tuple[str, str, str]]:
    """(name, type, text) of hostile table sources."""
    out: list[tuple[str, str, str]] = []
    for i in range(160):
        kind = rng.choice(list(TABLE_SAMPLES))
        out.append((f"{kind} mutation {i}", kind, mutate(TABLE_SAMPLES[kind], rng)))
    for kind in TABLE_SAMPLES:
        out += [
            (f"{kind} nested if", kind, "if /a/\n" * 5000 + "/x/ OK\n" + "endif\n" * 5000),
            (f"{kind} catastrophic regex", kind, "/^(a+)+$/ REJECT\n"),
            (f"{kind} 100k-char key", kind, "k" * 100_000 + " OK\n"),
            (f"{kind} $99", kind, "/(a)/ REJECT $99 ${1000000000000}\n"),
        ]
    return out


def run_table(name: str, kind: str, text: str, cfg: Path, rng: random.Random) -> Result:
    """Parse, validate (with Postfix), lint and look up one table: only pfwizard's own
    errors may come out."""
    from pfwizard.tables import Simulator, lint, validate
    from pfwizard.tables.model import Table

    problem = None
    start = time.monotonic()
    try:
        with time_limit():
            try:
                t = Table.parse(text.encode("utf-8", "surrogatepass"), kind, str(cfg / "t"))
                validate.validate(t, cfg, ask_postfix=rng.random() < 0.25)
                lint.lint(t, cfg)
                sim = Simulator(t, cfg, ask_postfix=False)
                for key in ("x.example", "127.0.0.3", "a" * 300, "\0", ""):
                    sim.query(key)
            except PfwizardError:
                pass
    except Hung as exc:
        problem = str(exc)
    except BaseException as exc:
        problem = f"traceback: {type(exc).__name__}: {str(exc)[:300]} ({where(exc)})"
    if problem and os.environ.get("HOSTILE_TRACE"):
        Path(os.environ["HOSTILE_TRACE"]).joinpath(
            f"{kind}-{name}.txt".replace(" ", "_")
        ).write_text(text, errors="replace")
    return Result(f"table: {name}", None, time.monotonic() - start, [], problem)


# ---- the test ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scratch]:
    root = tmp_path_factory.mktemp("hostile")
    template = root / "template"
    template.mkdir()
    cfg, state = box(template, "main.cf.v75-fresh")
    state.mkdir(mode=0o700)
    (state / "customizations.yaml").write_text(
        'version: 1\nparameters:\n  smtpd_helo_required:\n    value: "yes"\n'
    )
    # One real journal entry to corrupt: a change applied (no reload) on a copy.
    profile = root / "one.yaml"
    profile.write_text('version: 1\nparameters:\n  smtpd_helo_required:\n    value: "no"\n')
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(
            [
                "--config-dir",
                str(cfg),
                "--state-dir",
                str(state),
                "--no-reload",
                "apply",
                str(profile),
            ]
        )
    assert code == 10
    ids = sorted((state / "journal").iterdir(), key=lambda p: int(p.name))
    ids[-1].rename(state / "journal" / "9")
    work = root / "work"
    work.mkdir()
    yield Scratch(template, work)


def tally(results: list[Result]) -> str:
    tried = len(results)
    clean = sum(1 for r in results if r.problem is None and r.code in (2, 3, 4))
    accepted = sum(1 for r in results if r.problem is None and r.code in (0, 1, 10))
    api = sum(1 for r in results if r.problem is None and r.code is None)
    unchanged = sum(1 for r in results if not r.changed)
    slowest = max(results, key=lambda r: r.seconds)
    return (
        f"tried {tried}: clean error {clean}, accepted {accepted}, core API calls "
        f"without a stray exception {api}; changed nothing {unchanged}; "
        f"slowest {slowest.seconds:.2f} s ({slowest.case})"
    )


@needs_postfix
def test_a_thousand_hostile_inputs(
    scratch: Scratch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stray exception comes out of main() as itself (and is counted, with where it
    # came from), not as cli's last-resort "this is a bug" line.
    monkeypatch.setenv("PFWIZARD_DEBUG", "1")
    rng = random.Random(SEED)
    valid_entry = json.loads(
        (scratch.template / "state" / "journal" / "9" / "entry.json").read_text()
    )
    cases = (
        profile_cases(rng)
        + state_yaml_cases(rng)
        + config_cases(rng)
        + explain_cases(rng)
        + option_cases()
    )
    if JOURNAL_CHECKED:
        cases += journal_cases(rng, valid_entry)
    start = time.monotonic()
    results = [run_inprocess(c, scratch) for c in cases]
    cfg = tmp_path / "etc"
    shutil.copytree(scratch.template / "etc", cfg)
    before = snapshot(cfg)
    results += [run_table(n, k, t, cfg, rng) for n, k, t in table_inputs(rng)]
    assert snapshot(cfg) == before
    elapsed = time.monotonic() - start
    summary = tally(results) + f"; {elapsed:.0f} s in all"
    print(summary)
    failures = [f"{r.case}: {r.problem}" for r in results if r.problem]
    if os.environ.get("HOSTILE_TRACE"):
        print("\n".join(failures), file=sys.__stderr__)
    assert len(results) >= 1000, summary
    assert not failures, f"{len(failures)} of {len(results)} failed:\n" + "\n".join(failures[:60])
    # A refusal is one line, from pfwizard (argparse's usage errors aside).
    for r in results:
        if r.code == 2 and r.stderr and not r.stderr.startswith("usage:"):
            assert r.stderr.lstrip().startswith("pfwizard"), (r.case, r.stderr[:300])


# ---- through the installed program ------------------------------------------------------------


def _pfwizard() -> list[str]:
    exe = shutil.which("pfwizard")
    return [exe] if exe else [sys.executable, "-m", "pfwizard"]


SUBPROCESS_CASES: list[tuple[str, str, list[str]]] = [
    # (name, what to put where, argv after the global options)
    ("profile is a FIFO", "fifo:profile", ["apply", "--dry-run", "{tmp}/profile"]),
    ("profile is a FIFO (apply)", "fifo:profile", ["apply", "{tmp}/profile"]),
    ("profile is /dev/zero", "", ["apply", "--dry-run", "/dev/zero"]),
    ("profile is /dev/urandom", "", ["apply", "/dev/urandom"]),
    ("profile of 50 MB", "big:profile", ["apply", "--dry-run", "{tmp}/profile"]),
    ("profile of 200k operations", "ops:profile", ["apply", "--dry-run", "{tmp}/profile"]),
    ("customizations.yaml a FIFO", "fifo:state/customizations.yaml", ["status"]),
    (
        "customizations.yaml a FIFO (restore)",
        "fifo:state/customizations.yaml",
        ["restore", "--dry-run"],
    ),
    ("main.cf a FIFO", "fifo:etc/main.cf", ["check"]),
    ("main.cf is /dev/zero", "zero:etc/main.cf", ["status"]),
    ("master.cf a FIFO", "fifo:etc/master.cf", ["check"]),
    ("master.cf is /dev/zero", "zero:etc/master.cf", ["status"]),
    ("master.cf with a 10 MB line", "longline:etc/master.cf", ["check"]),
    ("a table is a FIFO", "fifotable:etc/main.cf", ["check"]),
    ("log is a FIFO", "fifo:mail.log", ["explain", "--log", "{tmp}/mail.log"]),
    ("log is /dev/zero", "", ["explain", "--log", "/dev/zero"]),
    ("--since out of range", "", ["explain", "--log", "/dev/null", "--since", "99999999999d"]),
]


if JOURNAL_CHECKED:
    SUBPROCESS_CASES.append(
        ("entry.json a FIFO", "fifo:state/journal/9/entry.json", ["rollback", "--list"])
    )


@needs_postfix
@pytest.mark.parametrize("name,setup,argv", SUBPROCESS_CASES, ids=[c[0] for c in SUBPROCESS_CASES])
def test_installed_program_never_hangs(
    scratch: Scratch, name: str, setup: str, argv: list[str]
) -> None:
    cfg, state, tmp = scratch.fresh()
    if setup:
        what, _, rel = setup.partition(":")
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.exists():
            p.unlink()
        if what == "fifo":
            os.mkfifo(p)
        elif what == "zero":
            p.symlink_to("/dev/zero")
        elif what == "big":
            p.write_bytes(b"version: 1\n# " + b"x" * (50 * 1024 * 1024) + b"\n")
        elif what == "ops":
            p.write_text(many_ops(200_000))
        elif what == "longline":
            p.write_text("smtp inet n - y - - smtpd -o a=" + "x" * 10_000_000 + "\n")
        elif what == "fifotable":
            os.mkfifo(cfg / "fifo")
            with open(p, "a") as fh:
                fh.write(f"smtpd_client_restrictions = check_client_access cidr:{cfg}/fifo\n")
    before = snapshot(cfg)
    env = dict(os.environ, PYTHONPATH=str(REPO), NO_COLOR="1")
    words = [w.replace("{tmp}", str(tmp)) for w in argv]
    start = time.monotonic()
    try:
        proc = subprocess.run(
            [
                *_pfwizard(),
                "--config-dir",
                str(cfg),
                "--state-dir",
                str(state),
                "--no-reload",
                *words,
            ],
            capture_output=True,
            text=True,
            timeout=LIMIT_S,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"{name}: still running after {LIMIT_S:.0f} s (killed)")
    seconds = time.monotonic() - start
    assert "Traceback" not in proc.stderr and "this is a bug" not in proc.stderr, proc.stderr
    assert proc.returncode in EXIT_CODES, (proc.returncode, proc.stderr)
    assert snapshot(cfg) == before
    assert seconds < LIMIT_S
    shutil.rmtree(tmp, ignore_errors=True)


# ---- the reader itself ---------------------------------------------------------------------


def test_only_regular_files_are_read_and_only_so_much(tmp_path: Path) -> None:
    from pfwizard import inputs
    from pfwizard.errors import ConfigError

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, words in (
        (fifo, "a FIFO"),
        (Path("/dev/zero"), "a character device"),
        (tmp_path, "a directory"),
    ):
        with pytest.raises(ConfigError, match=words):
            inputs.read_bytes(path, 10, what="profile")
    big = tmp_path / "big"
    big.write_bytes(b"x" * 11)
    with pytest.raises(ConfigError, match="larger than"):
        inputs.read_bytes(big, 10)
    assert inputs.read_bytes(big, 11) == b"x" * 11
    assert inputs.read_bytes_or_none(tmp_path / "missing", 10) is None
    with pytest.raises(ConfigError, match="NUL"):
        inputs.read_bytes(str(tmp_path / "a\0b"), 10)


def test_yaml_shape_and_table_paths() -> None:
    from pfwizard import inputs

    assert inputs.yaml_shape_problem(PROFILE) is None
    assert inputs.yaml_shape_problem(deep_yaml(25, True)) == (
        2,
        f"nested more than {inputs.MAX_YAML_DEPTH} levels deep",
    )
    assert inputs.yaml_shape_problem(deep_yaml(30, False)) is not None
    problem = inputs.yaml_shape_problem(many_ops(inputs.MAX_YAML_LINES))
    assert problem is not None and "lines of YAML structure" in problem[1]
    # a table's text does not count, however long
    content = "".join(f"      k{i} OK\n" for i in range(20_000))
    assert (
        inputs.yaml_shape_problem(
            f"version: 1\ntables:\n  /etc/postfix/t:\n    type: hash\n    content: |\n{content}"
        )
        is None
    )
    assert inputs.path_problem("/etc/postfix/sasl_passwd") is None
    assert inputs.path_problem("/etc/postfix/a\0b") is not None
    assert inputs.path_problem("/etc/postfix/" + "a" * 300) is not None
    assert inputs.path_problem("/a" * 600) is not None


def test_a_stray_exception_is_one_line_that_says_it_is_a_bug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pfwizard.commands.check as check

    def boom(args: object) -> int:
        raise ValueError("unexpected")

    monkeypatch.delenv("PFWIZARD_DEBUG", raising=False)
    monkeypatch.setattr(check, "run", boom)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "this is a bug" in err and "ValueError" in err
    monkeypatch.setenv("PFWIZARD_DEBUG", "1")
    with pytest.raises(ValueError):
        main(["check"])
