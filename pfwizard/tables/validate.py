"""Validate a table: every line, the way Postfix reads it, with Postfix as the final word.

Our parser predicts Postfix's own warnings (``Line.problems``) and adds what Postfix only finds
out at run time (an unknown action, a FILTER without destination).  Whether a regexp/pcre
pattern compiles, whether a cidr network is acceptable and what postmap says about an indexed
table is asked of Postfix itself: a temporary copy of the table is opened with
``postmap -q`` (or built with ``postmap``) and its warnings are mapped back to the line.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pfwizard import postfix
from pfwizard.indexfiles import INDEXED_TYPES
from pfwizard.tables.actions import classify
from pfwizard.tables.model import Kind, Line, Table, TableError, fold_key

ERROR = "error"
WARNING = "warning"

# Postfix warnings that do not drop the line (everything else about a line means it is ignored).
_KEEPS_LINE = (
    "no replacement text",
    "ignoring extra text after",
    "do not prepend whitespace",
    "IF has no matching ENDIF",
    "ignoring obsolete regexp option",
    'is in "key: value" format',
    "duplicate entry",
    # Run-time (lookup) warnings about the probe key, not about the table:
    "backtracking limit exceeded",
    "bad UTF-8",
    "too many (...)",
    "unknown pcre_exec error",
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int | None
    message: str
    severity: str  # "error" (the line does not do what it says) or "warning"
    source: str  # "postfix" (Postfix said so) or "pfwizard"

    def __str__(self) -> str:
        where = f"{self.path}, line {self.line}" if self.line is not None else self.path
        return f"{where}: {self.severity}: {self.message}"


def drops_line(message: str) -> bool:
    """Whether a Postfix warning about a line means Postfix ignores that line."""
    return not any(k in message for k in _KEEPS_LINE)


@contextmanager
def _scratch(table: Table, config_dir: str | Path | None) -> Iterator[tuple[Path, Path]]:
    """A private directory holding a copy of the table (and a main.cf when none is given)."""
    tmp = Path(tempfile.mkdtemp(prefix="pfwizard-table-"))
    try:
        conf = Path(config_dir) if config_dir is not None else tmp
        if config_dir is None:
            (tmp / "main.cf").write_text("compatibility_level = 3.6\n")
        copy = tmp / "table"
        copy.write_bytes(table.to_bytes())
        # Postfix programs wait for files younger than ~2 s to "cool down".
        past = time.time() - 10
        for p in tmp.iterdir():
            os.utime(p, (past, past))
        yield conf, copy
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_WARN_RE = re.compile(r"^postmap: warning: (?:(?:regexp|pcre|cidr) map )?(.*?), line (\d+): (.*)$")


def postfix_warnings(table: Table, config_dir: str | Path | None = None) -> dict[int, list[str]]:
    """What Postfix says about each line of ``table`` (line number -> warnings).

    Raises TableError when Postfix cannot open the table at all (unsupported type...)."""
    with _scratch(table, config_dir) as (conf, copy):
        if table.type in INDEXED_TYPES:
            res = postfix.postmap(conf, f"{table.type}:{copy}")
        else:
            res = postfix.postmap(conf, "-q", "x", f"{table.type}:{copy}")
        out: dict[int, list[str]] = {}
        fatal: list[str] = []
        for raw in res.stderr.splitlines():
            m = _WARN_RE.match(raw)
            if m and m.group(1).startswith(str(copy)):
                msg = m.group(3).replace(str(copy), table.path)
                out.setdefault(int(m.group(2)), []).append(msg)
            elif "fatal:" in raw or "error:" in raw:
                fatal.append(raw.replace(str(copy), table.path))
        if fatal or res.returncode not in (0, 1):
            detail = fatal[-1] if fatal else res.output
            raise TableError(
                table.path, None, f"Postfix cannot open this {table.type} table: {detail}"
            )
        return out


def postfix_skipped(table: Table, config_dir: str | Path | None = None) -> frozenset[int]:
    """Lines Postfix ignores, by Postfix's own account."""
    return frozenset(
        n
        for n, msgs in postfix_warnings(table, config_dir).items()
        if any(drops_line(m) for m in msgs)
    )


_PREFIX_RE = re.compile(r"[0-9.]+/[0-9]+\Z|[0-9a-fA-F:]+/[0-9]+\Z")


def key_problems(key: str) -> list[str]:
    """Keys of an indexed access table that smtpd never looks up (access(5))."""
    out = []
    if key.startswith("@") and len(key) > 1:
        out.append(
            f"smtpd never looks up {key!r} in an access table: write "
            f"{key[1:]!r} (it also covers subdomains, per "
            "parent_domain_matches_subdomains)"
        )
    if "*" in key:
        out.append(
            f"'*' in {key!r} is not a wildcard in an indexed table: it only matches a "
            "literal '*'. Write the parent domain instead, or use a regexp: table"
        )
    if _PREFIX_RE.match(key):
        out.append(
            f"{key!r}: network/prefix keys only work in a cidr: table; an indexed "
            "table matches whole addresses or 1-3 leading octets ('192.168')"
        )
    return out


def _line_problems(table: Table, line: Line, classes: frozenset[str]) -> list[Problem]:
    out: list[Problem] = []

    def add(msg: str, severity: str = ERROR) -> None:
        out.append(Problem(table.path, line.lineno, msg, severity, "pfwizard"))

    for msg in line.problems:
        add(msg, ERROR if drops_line(msg) or line.skipped else WARNING)
    if line.kind in (Kind.BLANK, Kind.COMMENT):
        return out
    bad = _CONTROL.search(line.text)
    if bad:
        add(f"control character 0x{ord(bad.group()):02x} inside the line")
    try:
        line.text.encode("utf-8")
    except UnicodeEncodeError:
        add("not UTF-8: Postfix (smtputf8_enable = yes) ignores this line")
    if line.kind is Kind.ENTRY and not line.skipped and table.is_fixed:
        for msg in key_problems(line.key):
            add(msg, WARNING)
    if line.kind is Kind.ENTRY and not line.skipped:
        act = classify(line.action, classes)
        if act.error and line.action:
            add(act.error)
        if " #" in line.action or "\t#" in line.action:
            add(
                "a '#' after the value is not a comment: its words become part of the action",
                WARNING,
            )
    return out


def _duplicates(table: Table) -> list[Problem]:
    """postmap keeps the first of two keys that differ only in case (it says so without a
    line number for hash/btree, so we say where)."""
    seen: dict[str, int] = {}
    out = []
    for ln in table.entries:
        if ln.skipped:
            continue
        k = fold_key(ln.key)
        if k in seen:
            out.append(
                Problem(
                    table.path,
                    ln.lineno,
                    f'duplicate entry: "{ln.key}" (line '
                    f"{seen[k]} has it already; Postfix uses that one)",
                    WARNING,
                    "pfwizard",
                )
            )
        else:
            seen[k] = ln.lineno
    return out


def validate(
    table: Table,
    config_dir: str | Path | None = None,
    *,
    ask_postfix: bool = True,
    restriction_classes: frozenset[str] = frozenset(),
) -> list[Problem]:
    """Every problem in ``table``, in line order.  With ``ask_postfix`` (and Postfix installed)
    the patterns, networks and keys are checked by Postfix on a temporary copy."""
    problems: list[Problem] = []
    for line in table.lines:
        problems.extend(_line_problems(table, line, restriction_classes))
    if table.is_fixed:
        problems.extend(_duplicates(table))
    if ask_postfix and postfix.available():
        said = postfix_warnings(table, config_dir)
        # What is already said about each line (ours, then Postfix's as they are added):
        # looked up per line, so a table of 10,000 bad lines is not 10,000 x 10,000 checks.
        by_line: dict[int | None, list[str]] = {}
        for p in problems:
            by_line.setdefault(p.line, []).append(p.message)
        for lineno, msgs in sorted(said.items()):
            for msg in msgs:
                known = by_line.setdefault(lineno, [])
                if any(m in msg or msg in m for m in known):
                    continue
                sev = ERROR if drops_line(msg) else WARNING
                problems.append(Problem(table.path, lineno, msg, sev, "postfix"))
                known.append(msg)
    problems.sort(key=lambda p: p.line or 0)
    return problems


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == ERROR]


def checked_content(
    table: Table,
    config_dir: str | Path | None = None,
    *,
    restriction_classes: frozenset[str] = frozenset(),
) -> bytes:
    """The bytes to install for ``table``, or TableError naming the first bad line.

    This never writes the table: installing it is the apply engine's job."""
    errs = errors(validate(table, config_dir, restriction_classes=restriction_classes))
    if errs:
        first = errs[0]
        more = f" (and {len(errs) - 1} more)" if len(errs) > 1 else ""
        raise TableError(table.path, first.line, first.message + more)
    return table.to_bytes()
