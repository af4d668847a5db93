"""A learned allowlist: from the senders Postfix refused, propose one narrow regexp.

A forum helper read 116 Cisco ESA reporter domains under ``iphmx.com`` and wrote a
pattern by hand. This does the same from the rejects ``explain`` found (or a pasted list):

- the part all senders share (``iphmx.com``) stays literal and anchored at the end, so
  ``iphmx.com.evil.example`` cannot match;
- the first host label keeps its common letters (``esa``) and generalises the digits;
- the labels in between become ``[a-z0-9-]+``, as many as were seen;
- a local part every sender shares (``MAILER-DAEMON``) stays literal.

Then every observed sender is checked (matched / not matched) and so are negative examples
(other domains, look-alikes); ``postmap -q`` on a temporary regexp table is the authority.
Postfix's regexp tables are case-insensitive by default and the ``i`` flag turns that OFF
(the forum's ``/.../i`` table missed upper-case senders): the proposal carries no flag.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pfwizard import postfix

_LABEL = "[a-z0-9-]+"
_LEAD_RE = re.compile(r"^([a-z]*)(.*)$")
MAX_LOCAL_ALTERNATIVES = 4


@dataclass
class Check:
    """One example, whether the pattern matches it, and whether it should."""

    sender: str
    matched: bool
    wanted: bool
    postmap: str | None = None
    """What ``postmap -q`` answered (None: not asked, '' : no match)."""

    @property
    def ok(self) -> bool:
        return self.matched == self.wanted


@dataclass
class Proposal:
    pattern: str
    """The regexp, without slashes, e.g. ``^MAILER-DAEMON@esa[0-9]*(\\.[a-z0-9-]+){1,2}...``."""
    action: str = "PERMIT"
    checks: list[Check] = field(default_factory=list)
    comment: str = ""
    postmap_checked: bool = False
    errors: list[str] = field(default_factory=list)
    """Postfix's own complaints about the pattern (postmap stderr)."""

    @property
    def line(self) -> str:
        return f"/{self.pattern}/ {self.action}"

    def table_text(self) -> str:
        head = f"# {self.comment}\n" if self.comment else ""
        return f"{head}{self.line}\n"

    @property
    def matched(self) -> list[str]:
        return [c.sender for c in self.checks if c.wanted and c.matched]

    @property
    def missed(self) -> list[str]:
        return [c.sender for c in self.checks if c.wanted and not c.matched]

    @property
    def false_hits(self) -> list[str]:
        return [c.sender for c in self.checks if not c.wanted and c.matched]

    @property
    def ok(self) -> bool:
        return not self.errors and all(c.ok for c in self.checks)

    def report(self) -> str:
        out = [f"Proposed entry:  {self.line}"]
        out.append(
            f"  matches {len(self.matched)} of "
            f"{len(self.matched) + len(self.missed)} observed senders"
        )
        out += [f"  NOT matched (observed): {s}" for s in self.missed]
        negs = [c for c in self.checks if not c.wanted]
        good = sum(1 for c in negs if not c.matched)
        out.append(f"  refuses {good} of {len(negs)} negative examples")
        out += [f"  WRONGLY matched: {s}" for s in self.false_hits]
        out += [f"  postmap: {e}" for e in self.errors]
        out.append(
            "  checked with postmap -q"
            if self.postmap_checked
            else "  (not checked with postmap: Postfix's tools are not installed)"
        )
        return "\n".join(out)


def _split(sender: str) -> tuple[str, str]:
    local, _, domain = sender.strip().strip("<>").rpartition("@")
    return local, domain.lower().rstrip(".")


def _common_suffix(domains: list[list[str]]) -> list[str]:
    suffix: list[str] = []
    for labels in zip(*(reversed(d) for d in domains), strict=False):  # shortest wins
        if len(set(labels)) != 1:
            break
        suffix.insert(0, labels[0])
    return suffix


def _first_label(labels: list[str]) -> str:
    """``esa``, ``esa2``, ``esa14`` -> ``esa[0-9]*``; anything else -> a label class."""
    letters = [_LEAD_RE.match(label).group(1) for label in labels]  # type: ignore[union-attr]
    rests = [_LEAD_RE.match(label).group(2) for label in labels]  # type: ignore[union-attr]
    if len(set(letters)) == 1 and letters[0]:
        if all(r == "" for r in rests):
            return re.escape(letters[0])
        if all(r.isdigit() or r == "" for r in rests):
            return re.escape(letters[0]) + ("[0-9]+" if all(rests) else "[0-9]*")
        return re.escape(letters[0]) + "[a-z0-9-]*"
    return _LABEL


def _local_part(locals_: list[str]) -> str:
    distinct = sorted(set(locals_), key=str.lower)
    lowered = {s.lower() for s in distinct}
    if len(lowered) == 1:
        return re.escape(distinct[0])
    if len(lowered) <= MAX_LOCAL_ALTERNATIVES:
        return "(" + "|".join(re.escape(s) for s in distinct) + ")"
    return "[^@]+"


def propose_pattern(senders: Iterable[str]) -> str:
    """The narrowest simple regexp covering all ``senders`` (raises ValueError if they share
    no domain of at least two labels: one pattern for unrelated domains would be too wide)."""
    pairs = [_split(s) for s in senders if "@" in s]
    if not pairs:
        raise ValueError("no sender addresses to learn from")
    domains = [d.split(".") for _, d in pairs]
    suffix = _common_suffix(domains)
    if len(suffix) < 2:
        raise ValueError(
            "the senders share no common domain (like iphmx.com); propose one entry per "
            "domain instead of one wide pattern"
        )
    if any(len(d) == len(suffix) for d in domains):
        # Some senders use the bare shared domain: allow exactly it, or one host label.
        host = f"({_first_label([d[0] for d in domains if len(d) > len(suffix)] or [''])}\\.)?"
        if host == "(\\.)?":
            host = ""
        middle = ""
    else:
        host = _first_label([d[0] for d in domains]) + r"\."
        extra = [len(d) - len(suffix) - 1 for d in domains]
        lo, hi = min(extra), max(extra)
        if hi == 0:
            middle = ""
        elif lo == hi == 1:
            middle = f"{_LABEL}\\."
        else:
            middle = f"({_LABEL}\\.){{{lo},{hi}}}"
    local = _local_part([loc for loc, _ in pairs])
    return f"^{local}@{host}{middle}{re.escape('.'.join(suffix))}$".replace("\\-", "-")


def negatives_for(senders: Iterable[str]) -> list[str]:
    """Look-alikes that a narrow allowlist must NOT match."""
    pairs = [_split(s) for s in senders if "@" in s]
    if not pairs:
        return []
    local, domain = pairs[0]
    labels = domain.split(".")
    base = ".".join(labels[-2:])
    return [
        f"{local}@{domain}.evil.example",
        f"{local}@{base}.evil.example",
        f"{local}@evil-{base}",
        f"{local}@{base.replace('.', '-')}.example",
        f"{local}@{base.replace('.', 'x', 1)}",
        f"{local}@attacker.{base}",
        f"attacker@{domain}" if local.lower() != "attacker" else f"x@{domain}",
        f"{local}@example.com",
        "postmaster@gmail.com",
    ]


def _python_match(pattern: str, sender: str) -> bool:
    # Postfix's regexp tables ignore case unless the i flag is given (regexp_table(5)).
    try:
        return re.search(pattern, sender, re.IGNORECASE) is not None
    except re.error:
        return False


def check(
    pattern: str, observed: Iterable[str], negatives: Iterable[str] = (), action: str = "PERMIT"
) -> Proposal:
    """Test ``pattern`` against observed senders (should match) and negatives (should not),
    with ``postmap -q`` when Postfix is installed."""
    prop = Proposal(pattern, action)
    observed = list(dict.fromkeys(observed))
    negatives = [n for n in dict.fromkeys(negatives) if n not in observed]
    for s in observed:
        prop.checks.append(Check(s, _python_match(pattern, s), True))
    for s in negatives:
        prop.checks.append(Check(s, _python_match(pattern, s), False))
    if postfix.available():
        answers, errors = postmap_query(prop.table_text(), [c.sender for c in prop.checks])
        prop.postmap_checked = True
        prop.errors = errors
        for c in prop.checks:
            c.postmap = answers.get(c.sender, "")
            c.matched = bool(c.postmap)  # Postfix is the authority
    return prop


def propose(observed: Iterable[str], negatives: Iterable[str] = ()) -> Proposal:
    """Propose, then check, an allowlist entry for ``observed`` senders."""
    observed = list(dict.fromkeys(s.strip().strip("<>") for s in observed if s.strip()))
    pattern = propose_pattern(observed)
    prop = check(pattern, observed, [*negatives_for(observed), *negatives])
    prop.comment = (
        f"pfwizard: learned from {len(observed)} refused senders; "
        f"regexp tables ignore case by default (no /i flag)"
    )
    return prop


def postmap_query(
    table_text: str, keys: list[str], map_type: str = "regexp"
) -> tuple[dict[str, str], list[str]]:
    """``postmap -q - TYPE:TEMP`` for all keys at once: {key: answer} and Postfix's errors.

    The table lives in a private temp dir with a minimal main.cf (postmap insists on one; the
    box's own may name files, like /etc/mailname, that postmap would then demand), so
    nothing of the box's config is read or touched.
    """
    tmp = Path(tempfile.mkdtemp(prefix="pfwizard-allowlist-"))
    try:
        main_cf = tmp / "main.cf"
        main_cf.write_text("compatibility_level = 3.6\n")
        table = tmp / "allowlist"
        table.write_text(table_text)
        past = os.path.getmtime(table) - 10  # no "cool down" pause for a young file
        for p in (main_cf, table):
            os.utime(p, (past, past))
        res = postfix.postmap(
            tmp, "-q", "-", f"{map_type}:{table}", input="".join(f"{k}\n" for k in keys), timeout=30
        )
        answers: dict[str, str] = {}
        for line in res.stdout.splitlines():
            key, sep, value = line.partition("\t")
            if sep:
                answers[key] = value
        errors = [ln.strip() for ln in res.stderr.splitlines() if ln.strip()]
        return answers, errors
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
