"""Lint a table for what an admin doesn't mean, in words the admin understands.

Every finding that can be shown with a key carries one (``TableFinding.example``) and what the
table answers for it (``example_answer``, None = no answer), computed by the simulator; the
tests ask ``postmap -q`` the same key.

Checks:
- ``case-sensitive-flag``: in a Postfix regexp/pcre table patterns ignore case by default and
  the ``i`` flag *toggles* that, so ``/.../i`` is case-sensitive (Perl: the opposite).
  ``postmap -q`` shows it; smtpd does not, because it lower-cases addresses before lookup
  (smtpd_resolve.c), which makes ``case-sensitive-never-matches`` the real trap: a
  case-sensitive pattern with capitals never matches a sender or recipient.
- ``basic-regexp-flag``: regexp's ``x`` flag turns *off* extended syntax (Perl: allow spaces).
- ``perl-escape``: ``\\d`` in a POSIX regexp is no digit class (glibc matches nothing).
- ``unanchored-end`` / ``matches-local-part``: a pattern naming a domain that also matches
  that domain with more text after it (no ``$``, or a wildcard before it), or the domain's
  name used as a user name elsewhere.
- ``glued-domain``: a wildcard right before the domain (``/@.*example\\.com$/``) also matches
  ``attackerexample.com``, someone else's domain.
- ``wildcard-in-domain``: a wildcard inside the domain with only the top-level label after
  it (``/@example.*\\.com$/``) also matches ``example.attacker.com``.
- ``unescaped-dot``: ``example.com`` in a pattern also matches ``example-com`` (danger on a
  line that lets mail in, like the wider-than-meant checks above).
- ``shadowed``: an entry an earlier entry answers first (same key, same pattern, a network
  inside an earlier one, or a generated key).
- ``numeric-permits``: a value that is only digits (``550``) is an OK in access(5).
- ``forgeable-allow``: an OK/PERMIT for a sender address: the envelope sender is not checked,
  anyone can send with it.
- ``diverts-mail``: DISCARD, REDIRECT, HOLD (danger on a line that matches any address), BCC
  and FILTER: mail taken from its recipients, or copied, without a word to anyone.  The same
  for ``header_checks`` and ``body_checks`` tables (``lint_content``), where a line that
  matches a header every message has (``From:``, ``Received:``...) takes all mail.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pfwizard.findings import Finding, Severity
from pfwizard.tables.actions import Effect, classify
from pfwizard.tables.examples import example
from pfwizard.tables.lookup import Simulator, parse_network
from pfwizard.tables.model import Kind, Line, Table, fold_key


@dataclass(frozen=True)
class TableFinding(Finding):
    line: int = 0
    example: str | None = None
    """A key that shows the problem (ask ``postmap -q`` with it)."""
    example_answer: str | None = None
    """What the table answers for ``example`` (None: no answer)."""


# A literal domain ending in a pattern: "\.com", "\.iphmx\.com" (what "names a domain").
_Add = Callable[[str, Severity, Line, str, "str | None"], None]

_DOMAIN_TAIL = re.compile(r"[A-Za-z0-9](\\?\.[A-Za-z0-9-]+)+\Z")
_UNESCAPED_DOT = re.compile(r"(?<![\\\[])(?<=[A-Za-z0-9])\.(?=[A-Za-z0-9])")
# A wildcard that can stand for a dot and a name: ".*", ".+", "(.*)".
_WILDCARD = re.compile(r"(?<!\\)\(?\.[*+]\)?")
# What follows it up to the end: literal labels ("\.com", "\.example\.com"), then '$'.
_LITERAL_TAIL = re.compile(r"((?:\\\.[A-Za-z0-9-]+)+)\$?")
# A wildcard (".*", ".+", "(.*)", ".?") at the very end of a pattern body, before any '$'.
_OPEN_TAIL = re.compile(r"(?<!\\)(\(?\.[*+?]\)?)+\Z")


def _toggled_off(flags: str, flag: str) -> bool:
    return flags.count(flag) % 2 == 1


def _answer(sim: Simulator, key: str) -> str | None:
    m = sim.query(key)
    return m.value if m else None


def _answer_line(sim: Simulator, key: str) -> int | None:
    m = sim.query(key)
    return m.line if m else None


def _table_finding(
    table: Table,
    sim: Simulator,
    code: str,
    severity: Severity,
    line: Line,
    message: str,
    key: str | None,
) -> TableFinding:
    """A finding on one line, with the key that shows it and the table's answer for it."""
    return TableFinding(
        code=code,
        severity=severity,
        message=f"line {line.lineno}: {message}",
        parameter=table.spec,
        entry=line.key or line.text,
        index=line.lineno - 1,
        line=line.lineno,
        example=key,
        example_answer=_answer(sim, key) if key else None,
    )


def lint(
    table: Table,
    config_dir: str | Path | None = None,
    *,
    used_as: str | None = None,
    simulator: Simulator | None = None,
) -> list[TableFinding]:
    """Findings for ``table``.  ``used_as``: the access check it serves (``sender``,
    ``client``, ``recipient``, ``helo``) when known."""
    sim = simulator or Simulator(table, config_dir)
    out: list[TableFinding] = []

    def add(code: str, sev: Severity, line: Line, message: str, key: str | None = None) -> None:
        out.append(_table_finding(table, sim, code, sev, line, message, key))

    for line in table.entries:
        if line.skipped:
            continue
        act = classify(line.action)
        if line.action.strip().isdigit():
            add(
                "numeric-permits",
                Severity.DANGER,
                line,
                f"the value {line.action.strip()!r} is only a number, and Postfix treats an "
                "all-numeric value as OK: this entry lets mail in. To refuse, write a text "
                f"after the code, e.g. '{line.action.strip()} 5.7.1 Access denied'.",
                _sample_key(table, line, sim),
            )
        if used_as == "sender" and act.effect is Effect.PERMIT:
            add(
                "forgeable-allow",
                Severity.CAUTION,
                line,
                "this lets mail through on the sender address alone; anyone can put that "
                "address in MAIL FROM (it is not verified), so spammers and phishers who use "
                "it skip the checks that come after this table in the list.",
                _sample_key(table, line, sim),
            )
        if act.word in _DIVERTS and act.error is None:
            _lint_diverts(table, line, act.word, act.text, sim, add)
        if table.is_pattern:
            _lint_pattern(table, line, sim, add)
    _lint_shadowed(table, sim, add)
    return out


_DIVERTS = ("DISCARD", "REDIRECT", "HOLD", "BCC", "FILTER")
"""Actions that send matching mail somewhere other than to its recipients, or nowhere."""
_ANYONE = {
    "cidr": ("203.0.113.7", "2001:db8::7"),
    "": ("someone@example.org", "example.org", "mail.example.org"),
}
"""Keys any client or address could be: a line answering one of them matches everyone."""


def _lint_diverts(
    table: Table, line: Line, word: str, text: str, sim: Simulator, emit: _Add
) -> None:
    """``diverts-mail``: DISCARD, REDIRECT, HOLD, BCC and FILTER take mail away from its
    recipients (or copy it) without a word to anyone; on a line that matches any address
    (a catch-all pattern, a network as wide as the Internet) that is all the mail reaching
    the table."""
    probes = _ANYONE["cidr" if table.type == "cidr" else ""]
    anyone = next((k for k in probes if _answer_line(sim, k) == line.lineno), None)
    what = _diverted(word, text)
    if anyone is not None:
        severity = Severity.DANGER if word in ("DISCARD", "REDIRECT", "HOLD") else Severity.CAUTION
        emit(
            "diverts-mail",
            severity,
            line,
            f"{word}: this line matches any address (e.g. {anyone}), so all mail that "
            f"reaches this table {what}.",
            anyone,
        )
    else:
        severity = Severity.CAUTION if word in ("DISCARD", "REDIRECT", "HOLD") else Severity.INFO
        emit(
            "diverts-mail",
            severity,
            line,
            f"{word}: matching mail {what}.",
            _sample_key(table, line, sim),
        )


def _diverted(word: str, text: str) -> str:
    """What happens to the mail a DISCARD, REDIRECT, HOLD, BCC or FILTER line matches."""
    return {
        "DISCARD": "is accepted and then thrown away: the sender is told it was delivered, "
        "and nobody ever sees it",
        "REDIRECT": f"goes to {text} instead of its recipients, who never see it",
        "HOLD": "waits in the hold queue until someone releases it (postsuper -H); nobody is told",
        "BCC": f"is copied to {text}",
        "FILTER": f"is handed to {text} instead of the usual delivery; while that is "
        "missing or down, it waits in the queue",
    }[word]


CONTENT_ANYONE = {
    "header": (
        "From: Someone <someone@example.org>",
        "Date: Thu, 3 Dec 2026 10:00:00 +0000",
        "Received: from mail.example.org (mail.example.org [203.0.113.7])",
        "Message-ID: <1@example.org>",
        "To: someone@example.org",
        "Subject: Hello",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
    ),
    "body": ("Hello,", "See you tomorrow.", "-- ", "Someone"),
}
"""Lines (almost) every message has: a content check line matching one of them takes all
the mail that passes the check, not the unwanted few it was written for."""


def lint_content(table: Table, what: str, simulator: Simulator | None = None) -> list[TableFinding]:
    """``diverts-mail`` for a ``header_checks`` (``what="header"``) or ``body_checks``
    (``"body"``) table: DISCARD, REDIRECT and HOLD on a line that matches lines every
    message has are a danger (all mail, from everyone, gone without a word); on a narrower
    line a caution; BCC and FILTER a caution or info.  The other actions (REJECT, WARN,
    PREPEND, REPLACE, IGNORE...) are header_checks(5)'s everyday work."""
    if not table.is_pattern:
        return []
    sim = simulator or Simulator(table, None)
    out: list[TableFinding] = []
    for line in table.entries:
        if line.skipped:
            continue
        word, _, text = line.action.strip().partition(" ")
        word = word.upper()
        if word not in _DIVERTS:
            continue
        text = text.strip() or "the default filter"
        anyone = next(
            (k for k in CONTENT_ANYONE[what] if _answer_line(sim, k) == line.lineno), None
        )
        if anyone is not None:
            severity = (
                Severity.DANGER if word in ("DISCARD", "REDIRECT", "HOLD") else Severity.CAUTION
            )
            message = (
                f"{word}: this line matches a {what} line every message has (e.g. "
                f"'{anyone}'), so all mail that passes this check {_diverted(word, text)}."
            )
        else:
            severity = (
                Severity.CAUTION if word in ("DISCARD", "REDIRECT", "HOLD") else Severity.INFO
            )
            message = f"{word}: matching mail {_diverted(word, text)}."
        out.append(_table_finding(table, sim, "diverts-mail", severity, line, message, anyone))
    return out


def _sample_key(table: Table, line: Line, sim: Simulator) -> str | None:
    if table.is_fixed or table.type == "cidr":
        key = line.key.lstrip("!") if table.type == "cidr" else line.key
        net = parse_network(key) if table.type == "cidr" else None
        if net is not None:
            key = str(net.network_address)
        return key if _answer_line(sim, key) == line.lineno else None
    if line.pattern is None or line.pattern.negated:
        return None
    shape = example(line.pattern.body, table.type)
    if shape is None:
        return None
    key = _as_address(shape.text, shape.anchored_start)
    return key if _answer_line(sim, key) == line.lineno else None


def _as_address(text: str, anchored_start: bool) -> str:
    if anchored_start or ("@" in text and not text.startswith("@")):
        return text
    return "postmaster" + text if text.startswith("@") else "postmaster@" + text


def _lint_pattern(table: Table, line: Line, sim: Simulator, emit: _Add) -> None:
    assert line.pattern is not None
    p = line.pattern
    shape = None if p.negated else example(p.body, table.type)
    key = _as_address(shape.text, shape.anchored_start) if shape else None
    if key is not None and _answer_line(sim, key) != line.lineno:
        key = None  # our example is not answered by this line: show no proof rather than a bad one

    if _toggled_off(p.flags, "i"):
        capitals = re.search(r"(?<!\\)(?<!\[:)[A-Z]", re.sub(r"\[:[a-z]+:\]", "", p.body))
        if capitals:
            lower = key.lower() if key else None
            if lower is not None and _answer_line(sim, lower) == line.lineno:
                lower = None
            emit(
                "case-sensitive-never-matches",
                Severity.CAUTION,
                line,
                "the 'i' after the pattern makes it case-SENSITIVE (in Postfix, patterns "
                "ignore case unless 'i' switches that off; Perl does the opposite), and the "
                "pattern has capital letters. smtpd lower-cases sender and recipient "
                "addresses before it looks them up, so this line never matches real mail"
                + (f" ({lower!r} gets no answer)" if lower else "")
                + ". Remove the 'i'.",
                lower,
            )
        else:
            flipped = key.swapcase() if key else None
            if flipped is not None and _answer_line(sim, flipped) == line.lineno:
                flipped = None
            emit(
                "case-sensitive-flag",
                Severity.INFO,
                line,
                "the 'i' after the pattern makes it case-SENSITIVE: in Postfix, patterns "
                "ignore case by default and 'i' switches that off (Perl does the opposite)."
                + (
                    f" That is why 'postmap -q {flipped}' prints nothing while "
                    f"'postmap -q {key}' matches."
                    if flipped and key
                    else ""
                )
                + " Real mail still matches, because smtpd lower-cases sender and recipient "
                "addresses before the lookup; but capitals added to this pattern later would "
                "never match. Remove the 'i' to say what you mean.",
                flipped,
            )
    if table.type == "regexp" and _toggled_off(p.flags, "x"):
        emit(
            "basic-regexp-flag",
            Severity.CAUTION,
            line,
            "the 'x' flag does not mean 'ignore spaces' here: in a Postfix regexp table it "
            "switches to basic regular expressions, where + ? | ( ) { } are plain characters.",
            None,
        )
    if table.type == "regexp" and re.search(r"(?<!\\)\\d", p.body):
        digit = example(re.sub(r"(?<!\\)\\d", "[0-9]", p.body), "regexp")
        proof = _as_address(digit.text, digit.anchored_start) if digit else None
        if proof is not None and _answer_line(sim, proof) == line.lineno:
            proof = None
        emit(
            "perl-escape",
            Severity.CAUTION,
            line,
            "'\\d' is not a digit in a Postfix regexp table (POSIX regular expressions have "
            "no \\d): with Postfix's case-insensitive matching it matches nothing at all, so "
            + (
                f"{proof!r} gets no answer from this line. "
                if proof
                else "this part never matches. "
            )
            + "Write [0-9] instead, or use a pcre: table.",
            proof,
        )
    if shape is None or key is None:
        return
    body = p.body.removesuffix("$")
    # "/@example\.com.*$/": a wildcard after the domain is as open as no '$' at all.
    open_tail = _OPEN_TAIL.search(body) is not None and shape.anchored_end
    names_domain = _DOMAIN_TAIL.search(_OPEN_TAIL.sub("", body)) is not None
    act_word = line.action.split()[0] if line.action.split() else "its action"
    wider: list[tuple[str, str, str]] = []  # (code, probe key, message)
    if names_domain and (open_tail or not shape.anchored_end):
        longer = key + ".attacker.example"
        why = (
            "the pattern ends in a wildcard after the domain"
            if open_tail
            else "the pattern has no '$' at the end"
        )
        wider.append(
            (
                "unanchored-end",
                longer,
                f"{why}, so it also matches addresses that only start with the domain: "
                f"{longer!r} gets {act_word}. End the pattern with the domain and '$' "
                "to stop at the end of the address.",
            )
        )
    if names_domain and "@" not in p.body and not shape.anchored_start:
        local = (key.split("@", 1)[1] if "@" in key else key) + "@attacker.example"
        wider.append(
            (
                "matches-local-part",
                local,
                "the pattern can match anywhere in the address, the user name "
                f"included: {local!r} (someone else's domain) gets {act_word}. Put '@' "
                "or '\\.' before the domain part, e.g. /@(.*\\.)?example\\.com$/.",
            )
        )
    domain = key.rpartition("@")[2]
    labels = domain.split(".")
    if names_domain and len(labels) >= 2:
        # The registrable part glued to a name of the attacker's choosing (a wildcard such as
        # '.*' or '[a-z]*' right before the domain, with no '\.' or '@' in between).
        local = key.rpartition("@")[0] or "postmaster"
        glued = f"{local}@attacker{'.'.join(labels[-2:])}"
        wider.append(
            (
                "glued-domain",
                glued,
                f"the part before {'.'.join(labels[-2:])!r} is a wildcard that can end in "
                f"any letters, so {glued!r} (someone else's domain) gets {act_word}. Put "
                "'\\.' or '@' right before the domain, e.g. /@(.*\\.)?example\\.com$/.",
            )
        )
    inside = _wildcard_in_domain(p.body, table.type)
    if inside is not None:
        owner = ".".join(inside.rpartition("@")[2].split(".")[-2:])
        wider.append(
            (
                "wildcard-in-domain",
                inside,
                f"the wildcard inside the domain lets the sender choose the domain "
                f"itself: {inside!r} (a name under {owner}, someone else's domain) gets "
                f"{act_word}. Spell out the domain's last two labels after any "
                "wildcard, e.g. /@(.*\\.)?example\\.com$/.",
            )
        )
    severity = Severity.DANGER if _permits(line) else Severity.CAUTION
    for code, probe, message in wider:
        if code == "glued-domain" and any(
            c != "glued-domain" and _answer_line(sim, pr) == line.lineno for c, pr, _ in wider
        ):
            continue  # a wider finding on this line already shows the hole

        if _answer_line(sim, probe) == line.lineno:
            emit(code, severity, line, message, probe)
    if _UNESCAPED_DOT.search(p.body):
        other = example(p.body, table.type, dot="-")
        if other is not None:
            wrong = _as_address(other.text, other.anchored_start)
            if wrong != key and _answer_line(sim, wrong) == line.lineno:
                # On a permit line that is someone else's name let in (mailxexample.com).
                emit(
                    "unescaped-dot",
                    severity,
                    line,
                    "a '.' in a pattern matches any character, not only a dot: "
                    f"{wrong!r} matches too"
                    + (f" and gets {act_word}" if severity is Severity.DANGER else "")
                    + ". Write '\\.' for a literal dot.",
                    wrong,
                )


def _wildcard_in_domain(body: str, dialect: str) -> str | None:
    """A key showing a wildcard inside the domain part with only the top-level label after
    it (``/@example.*\\.com$/``: ``example.attacker.com``), else None."""
    at = body.rfind("@")
    start = at + 1 if at >= 0 else 0
    for m in reversed(list(_WILDCARD.finditer(body, start))):
        tail = body[m.end() :]
        labels = _LITERAL_TAIL.fullmatch(tail)
        if labels is None:
            continue
        if labels.group(1).count("\\.") >= 2:
            return None  # the registrable domain is spelt out after the wildcard
        shape = example(body[: m.start()] + "\\.attacker" + tail, dialect)
        if shape is None:
            return None
        return _as_address(shape.text, shape.anchored_start)
    return None


def _permits(line: Line) -> bool:
    return classify(line.action).effect is Effect.PERMIT


def _lint_shadowed(table: Table, sim: Simulator, emit: _Add) -> None:
    entries = [ln for ln in table.entries if not ln.skipped]
    if table.is_fixed:
        first: dict[str, Line] = {}
        for ln in entries:
            k = fold_key(ln.key)
            if k in first:
                emit(
                    "shadowed",
                    Severity.CAUTION,
                    ln,
                    f"the key {ln.key!r} is already on line {first[k].lineno} (keys ignore "
                    "case); Postfix keeps the first one and never uses this line.",
                    ln.key,
                )
            else:
                first[k] = ln
        return
    in_if = _lines_inside_if(table)
    if table.type == "cidr":
        for i, ln in enumerate(entries):
            net = parse_network(ln.key)
            if net is None or ln.key.startswith("!") or ln.lineno in in_if:
                continue
            for prev in entries[:i]:
                pnet = parse_network(prev.key)
                if (
                    pnet is not None
                    and not prev.key.startswith("!")
                    and prev.lineno not in in_if
                    and pnet.version == net.version
                    and net.subnet_of(pnet)  # type: ignore[arg-type]
                ):
                    key = str(net.network_address)
                    emit(
                        "shadowed",
                        Severity.CAUTION,
                        ln,
                        f"every address in {ln.key} is already answered by line "
                        f"{prev.lineno} ({prev.key}): this line is never used. Put the "
                        "narrower network first.",
                        key,
                    )
                    break
        return
    for ln in entries:
        sample = _sample_key_any(table, ln)
        if sample is None:
            continue
        key = sample
        m = sim.query(key)
        if m is None or m.line in (0, ln.lineno) or m.line > ln.lineno:
            continue
        same = [o for o in entries if o.lineno == m.line and o.pattern == ln.pattern]
        if same:
            msg = f"line {m.line} has the same pattern, so this line is never used."
        else:
            msg = (
                f"line {m.line} answers {key!r} before this line gets a chance; "
                "Postfix uses the first pattern that matches. Put the narrower "
                "pattern first if this line should win."
            )
        emit("shadowed", Severity.CAUTION, ln, msg, key)


def _sample_key_any(table: Table, line: Line) -> str | None:
    if line.pattern is None or line.pattern.negated:
        return None
    shape = example(line.pattern.body, table.type)
    if shape is None:
        return None
    return _as_address(shape.text, shape.anchored_start)


def _lines_inside_if(table: Table) -> set[int]:
    depth = 0
    inside: set[int] = set()
    for ln in table.lines:
        if ln.kind is Kind.IF and not ln.skipped:
            depth += 1
        elif ln.kind is Kind.ENDIF and not ln.skipped:
            depth = max(0, depth - 1)
        elif depth:
            inside.add(ln.lineno)
    return inside
