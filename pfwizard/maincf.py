"""main.cf as Postfix reads it, kept byte for byte: pfwizard edits one line, touches nothing else.

Postfix reads main.cf in *logical lines* (readlline(3)): a line that starts with whitespace
continues the logical line before it; comment lines (first non-blank character ``#``) and blank
lines are dropped, but they do **not** end a logical line.  That last rule is what turns a
MiaB upgrade into a trap: MiaB comments out only the first physical line of a multi-line value,
and the admin's old continuation lines get glued onto whatever definition precedes them
(see ``GluedContinuation``).

Effective value of a parameter: the last definition wins; its value is everything after the
first ``=`` with the continuation lines appended as they are (newline removed, leading
whitespace kept), surrounding whitespace trimmed.  This agrees with ``postconf -n``/``-h`` up to
postconf's own output folding (runs of space, tab, CR, LF printed as one space), proven by the
differential tests (tests/test_maincf_postconf.py).  One deliberate difference: Postfix keeps
the CR of a CRLF line ending inside a multi-line value; pfwizard treats CRLF as the line end.
The words are the same; only the whitespace between them differs.

Edits follow ``postconf -e``/``-X`` (same effective values), with two differences: ``set``
rewrites only the last definition (postconf -e rewrites every duplicate), and a new parameter
after a last line without a newline goes on its own line (postconf -e glues it onto that line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pfwizard import inputs
from pfwizard.errors import ConfigError, ValueRefused

# Postfix's ISSPACE(): the C locale's isspace().
_WS = " \t\n\v\f\r"
_WS_RE = re.compile("[ \t\n\v\f\r]")
# One physical line longer than this is not a hand-written main.cf (a 10 MB line is garbage).
MAX_LINE_CHARS = inputs.MAX_LINE_CHARS
# Characters Postfix allows in a parameter name in practice (also service-specific names).
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]*\Z")
# A commented-out definition, as MiaB's setup sees it: '#', optional spaces, name, spaces, '='.
_COMMENTED_DEF_RE = re.compile(r"[ \t]*#[ \t]*([A-Za-z0-9_][A-Za-z0-9_.\-/]*)[ \t]*=")
# Control characters that never belong in a text config file (tab, CR, VT, FF are whitespace).
_BINARY_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
# Control characters refused in values pfwizard writes: one injected newline = one new parameter.
# TAB is allowed: it is plain whitespace to Postfix (and common in continuation lines, so a value
# read back with get() can be written again with set()).
_VALUE_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class LineKind(Enum):
    BLANK = "blank"
    COMMENT = "comment"
    START = "start"  # first physical line of a definition
    CONTINUATION = "continuation"


@dataclass
class PhysicalLine:
    """One line of the file as it is on disk, kept byte for byte."""

    text: str  # without the line terminator (a trailing CR of CRLF is in eol, not here)
    eol: str  # "\n", "\r\n" or "" (last line without newline)

    @property
    def kind(self) -> LineKind:
        stripped = self.text.lstrip(_WS)
        if not stripped:
            return LineKind.BLANK
        if stripped.startswith("#"):
            return LineKind.COMMENT
        if self.text[0] in _WS:
            return LineKind.CONTINUATION
        return LineKind.START


@dataclass(frozen=True)
class Definition:
    """One active ``name = value`` logical line."""

    name: str
    value: str
    index: int  # physical line index (0-based) of the first line
    continuation: tuple[int, ...]  # physical line indices appended to the value
    end: int  # last physical line index (inclusive): the last continuation line, or index

    @property
    def lineno(self) -> int:
        return self.index + 1


@dataclass(frozen=True)
class GluedContinuation:
    """Continuation lines that sit under a commented-out definition but belong to another one.

    After a MiaB upgrade this looks like::

        smtpd_sender_restrictions=<MiaB's new chain>      <- line 82, active
        #smtpd_sender_restrictions =                        <- the admin's old first line
            permit_sasl_authenticated,                      <- glued onto line 82!
    """

    parameter: str
    definition_line: int
    commented_name: str
    comment_line: int
    glued_lines: tuple[int, ...]
    glued_text: str

    def describe(self) -> str:
        first, last = self.glued_lines[0], self.glued_lines[-1]
        lines = f"line {first}" if first == last else f"lines {first}-{last}"
        same = self.commented_name == self.parameter
        whose = "the old value of the same parameter" if same else f"'{self.commented_name}'"
        return (
            f"{lines} look like the rest of {whose}, commented out on line "
            f"{self.comment_line}, but Postfix appends them to '{self.parameter}' "
            f"(line {self.definition_line}): '{' '.join(self.glued_text.split())}' "
            f"is part of its effective value"
        )


def check_parameter_name(name: str) -> str:
    if not _NAME_RE.match(name):
        raise ValueRefused(f"not a valid Postfix parameter name: {name!r}")
    return name


def check_value(name: str, value: str) -> str:
    """Refuse anything that could inject a line; return the value as Postfix will see it."""
    bad = _VALUE_CONTROL_RE.search(value)
    if bad:
        raise ValueRefused(
            f"refusing to write {name}: the value contains a control character "
            f"({bad.group()!r} at position {bad.start()}); newlines, NUL and other control "
            f"characters are never valid in a main.cf value"
        )
    if len(value) > MAX_LINE_CHARS:
        raise ValueRefused(f"refusing to write {name}: value longer than {MAX_LINE_CHARS} chars")
    try:
        value.encode("utf-8", errors="surrogateescape")
    except UnicodeEncodeError as exc:
        raise ValueRefused(
            f"refusing to write {name}: the value cannot be written as bytes "
            f"({value[exc.start]!r} at position {exc.start})"
        ) from exc
    return value.strip(_WS)


def read_config(path: str | Path) -> bytes:
    """A config file's bytes; an unreadable file (or a FIFO, a device, one over
    ``inputs.MAX_CONFIG_BYTES``) is a ConfigError naming it."""
    return inputs.read_bytes(path, inputs.MAX_CONFIG_BYTES, what="Postfix configuration file")


def _split_physical(text: str) -> list[PhysicalLine]:
    lines: list[PhysicalLine] = []
    start = 0
    n = len(text)
    while start < n:
        nl = text.find("\n", start)
        if nl < 0:
            lines.append(PhysicalLine(text[start:], ""))
            break
        body = text[start:nl]
        if body.endswith("\r"):
            lines.append(PhysicalLine(body[:-1], "\r\n"))
        else:
            lines.append(PhysicalLine(body, "\n"))
        start = nl + 1
    return lines


def _split_nameval(logical: str) -> tuple[str, str] | str:
    """Postfix's split_nameval(): returns (name, value) or an error text."""
    eq = logical.find("=")
    head = logical if eq < 0 else logical[:eq]
    name = head.strip(_WS)
    if eq < 0 or _WS_RE.search(name):
        return "missing '=' after parameter name"
    if not name:
        return "missing parameter name"
    return name, logical[eq + 1 :].strip(_WS)


class MainCf:
    """A main.cf file: physical lines kept exactly, logical view computed on demand."""

    def __init__(self, lines: list[PhysicalLine], path: str = "main.cf") -> None:
        self.path = path
        self._lines = lines
        self._defs: list[Definition] | None = None
        self._glued: list[GluedContinuation] | None = None

    # ---- reading -------------------------------------------------------------------------
    @classmethod
    def parse(cls, data: bytes | str, path: str = "main.cf") -> MainCf:
        # surrogateescape: a stray Latin-1 byte in a comment survives a round trip unchanged.
        text = data.decode("utf-8", errors="surrogateescape") if isinstance(data, bytes) else data
        lines = _split_physical(text)
        for i, line in enumerate(lines):
            if len(line.text) > MAX_LINE_CHARS:
                raise ConfigError(
                    path,
                    i + 1,
                    f"line is {len(line.text)} characters long "
                    f"(more than {MAX_LINE_CHARS}): this is not a main.cf file",
                )
        # One search over the whole text; only a hit pays for finding its line.
        if _BINARY_RE.search(text):
            for i, line in enumerate(lines):
                bad = _BINARY_RE.search(line.text)
                if bad:
                    raise ConfigError(
                        path,
                        i + 1,
                        f"binary data (byte 0x{ord(bad.group()):02x} at column "
                        f"{bad.start() + 1}): this is not a text main.cf file",
                    )
        cf = cls(lines, path)
        cf._analyse()  # raise on syntax errors now, not at first use
        return cf

    @classmethod
    def read(cls, path: str | Path) -> MainCf:
        return cls.parse(read_config(path), str(path))

    def copy(self) -> MainCf:
        return MainCf([PhysicalLine(ln.text, ln.eol) for ln in self._lines], self.path)

    # ---- writing -------------------------------------------------------------------------
    def render(self) -> str:
        return "".join(ln.text + ln.eol for ln in self._lines)

    def to_bytes(self) -> bytes:
        return self.render().encode("utf-8", errors="surrogateescape")

    # ---- logical view --------------------------------------------------------------------
    def _analyse(self) -> None:
        defs: list[Definition] = []
        glued: list[GluedContinuation] = []
        lines = self._lines
        i, n = 0, len(lines)
        while i < n:
            kind = lines[i].kind
            if kind in (LineKind.BLANK, LineKind.COMMENT):
                i += 1
                continue
            if kind is LineKind.CONTINUATION:
                # Postfix only warns and skips this; pfwizard refuses to guess what was meant.
                raise ConfigError(
                    self.path,
                    i + 1,
                    "line starts with whitespace but continues nothing "
                    f"(no parameter definition above it): {lines[i].text.strip()!r}",
                )
            start = i
            parts = [lines[i].text]
            cont: list[int] = []
            end = i
            last_comment: tuple[int, str] | None = None  # commented-out definition just above
            glue_run: list[int] = []
            j = i + 1
            while j < n:
                k = lines[j].kind
                if k is LineKind.START:
                    break
                if k is LineKind.CONTINUATION:
                    parts.append(lines[j].text)
                    cont.append(j)
                    end = j
                    if last_comment is not None:
                        glue_run.append(j)
                elif k is LineKind.COMMENT:
                    self._flush_glue(glued, lines, start, last_comment, glue_run)
                    glue_run = []
                    m = _COMMENTED_DEF_RE.match(lines[j].text)
                    last_comment = (j, m.group(1)) if m else None
                j += 1
            self._flush_glue(glued, lines, start, last_comment, glue_run)
            logical = "".join(parts)
            parsed = _split_nameval(logical)
            if isinstance(parsed, str):
                raise ConfigError(self.path, start + 1, f"{parsed}: {lines[start].text!r}")
            name, value = parsed
            defs.append(Definition(name, value, start, tuple(cont), end))
            i = j
        self._defs = defs
        self._glued = glued

    @staticmethod
    def _flush_glue(
        out: list[GluedContinuation],
        lines: list[PhysicalLine],
        start: int,
        comment: tuple[int, str] | None,
        run: list[int],
    ) -> None:
        if comment is None or not run:
            return
        parsed = _split_nameval(lines[start].text)
        param = parsed[0] if isinstance(parsed, tuple) else lines[start].text.split("=")[0]
        out.append(
            GluedContinuation(
                parameter=param,
                definition_line=start + 1,
                commented_name=comment[1],
                comment_line=comment[0] + 1,
                glued_lines=tuple(r + 1 for r in run),
                glued_text="".join(lines[r].text for r in run).strip(_WS),
            )
        )

    def _invalidate(self) -> None:
        self._defs = None
        self._glued = None

    def definitions(self) -> list[Definition]:
        if self._defs is None:
            self._analyse()
        assert self._defs is not None
        return self._defs

    def glued_continuations(self) -> list[GluedContinuation]:
        if self._glued is None:
            self._analyse()
        assert self._glued is not None
        return self._glued

    def definitions_of(self, name: str) -> list[Definition]:
        return [d for d in self.definitions() if d.name == name]

    def last_definition(self, name: str) -> Definition | None:
        found = self.definitions_of(name)
        return found[-1] if found else None

    def get(self, name: str) -> str | None:
        """Effective value as written in main.cf (None: not set here, Postfix's default applies)."""
        d = self.last_definition(name)
        return None if d is None else d.value

    def parameters(self) -> dict[str, str]:
        """Every parameter set in this file with its effective value (last one wins)."""
        return {d.name: d.value for d in self.definitions()}

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.last_definition(name) is not None

    def __iter__(self) -> Iterator[Definition]:
        return iter(self.definitions())

    @property
    def lines(self) -> list[PhysicalLine]:
        return list(self._lines)

    def line_ending(self) -> str:
        """The file's line terminator (CRLF in a CRLF file), for the lines pfwizard adds."""
        return next((ln.eol for ln in self._lines if ln.eol), "\n")

    # ---- editing -------------------------------------------------------------------------
    def set(self, name: str, value: str) -> None:
        """Write ``name = value`` on one line in place of the last active definition.

        Like ``postconf -e``: the continuation lines of that definition go, comment lines inside
        it stay; nothing else in the file changes.  A new parameter is appended at the end.
        """
        check_parameter_name(name)
        value = check_value(name, value)
        text = f"{name} = {value}"
        d = self.last_definition(name)
        if d is None:
            eol = self.line_ending()
            if self._lines and self._lines[-1].eol == "":
                self._lines[-1].eol = eol
            self._lines.append(PhysicalLine(text, eol))
        else:
            # Keep the line's own terminator (CRLF files stay CRLF).
            self._lines[d.index] = PhysicalLine(text, self._lines[d.index].eol)
            drop = set(d.continuation)
            self._lines = [ln for k, ln in enumerate(self._lines) if k not in drop]
        self._invalidate()

    def remove(self, name: str) -> bool:
        """Remove every active definition of ``name`` (like ``postconf -X``); comments stay."""
        check_parameter_name(name)
        drop: set[int] = set()
        for d in self.definitions_of(name):
            drop.add(d.index)
            drop.update(d.continuation)
        if not drop:
            return False
        self._lines = [ln for k, ln in enumerate(self._lines) if k not in drop]
        self._invalidate()
        return True


# ---- $name expansion (display only: Postfix does the real expansion at run time) -----------
_EXPAND_RE = re.compile(r"\$(?:\{([A-Za-z0-9_]+)\}|\(([A-Za-z0-9_]+)\)|([A-Za-z0-9_]+))")


def expand(value: str, lookup: Callable[[str], str | None], depth: int = 0) -> str:
    """Expand ``$name``, ``${name}`` and ``$(name)`` for showing an admin what a value means.

    Unknown names are left as written; recursion stops after 20 levels (Postfix would complain
    about a loop; pfwizard only displays).
    """
    if depth > 20:
        return value

    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2) or m.group(3)
        found = lookup(name)
        return m.group(0) if found is None else expand(found, lookup, depth + 1)

    return _EXPAND_RE.sub(sub, value)
