"""Access tables as Postfix reads them, kept byte for byte.

A table is a type (``hash``, ``regexp``, ...), a path and its lines.  Postfix reads every table
source in *logical lines* (readllines(3), the same rules as main.cf): a line starting with
whitespace continues the logical line before it; comment and blank lines are dropped but do not
end a logical line.  Each :class:`Line` keeps its physical lines exactly, so ``render()`` gives
back the file unchanged and an edit touches only the line it edits.

The per-type parsers mirror Postfix's own (postmap.c / dict_thash.c for indexed tables,
dict_cidr.c, dict_regexp.c, dict_pcre.c in Postfix 3.6/3.7): every warning Postfix would print
for a line is predicted in ``Line.problems`` and ``Line.skipped`` says whether Postfix ignores
the line.  Whether a regular expression compiles is *not* predicted here: only Postfix knows
(see ``pfwizard.tables.validate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from pfwizard import inputs
from pfwizard.errors import ConfigError
from pfwizard.indexfiles import FIXED_TYPES, PATTERN_TYPES, TABLE_TYPES
from pfwizard.maincf import PhysicalLine, _split_physical

_WS = " \t\n\v\f\r"  # C isspace() in the C locale
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
REGEXP_FLAGS = "imx"
PCRE_FLAGS = "imsxAEUX"


def fold_key(key: str) -> str:
    """Postfix's case folding of fixed-table keys and of mail addresses (casefold() with
    UTF-8 on; for ASCII that is lower())."""
    return key.lower() if key.isascii() else key.casefold()


class TableError(ConfigError):
    """A table pfwizard refuses to read or write; names the file and the line."""


class Kind(Enum):
    BLANK = "blank"
    COMMENT = "comment"
    ENTRY = "entry"  # key/pattern + action
    IF = "if"
    ENDIF = "endif"
    ORPHAN = "orphan"  # indented text before any logical line: Postfix skips it


@dataclass(frozen=True)
class Pattern:
    """One ``/pattern/flags`` of a regexp or pcre line (or a cidr network for ``if``)."""

    body: str
    """The expression between the delimiters, escapes as written."""
    delimiter: str = "/"
    flags: str = ""
    negated: bool = False

    @property
    def source(self) -> str:
        bang = "!" if self.negated else ""
        return f"{bang}{self.delimiter}{self.body}{self.delimiter}{self.flags}"


@dataclass
class Line:
    """One logical line (or one comment/blank physical line) of a table."""

    kind: Kind
    lineno: int
    """First physical line, 1-based: the number Postfix puts in its warnings."""
    physical: list[PhysicalLine]
    text: str = ""
    """The logical line as Postfix parses it (continuations joined, trailing blanks trimmed)."""
    key: str = ""
    """Indexed/texthash/cidr: the key as written; regexp/pcre: the first pattern's source."""
    pattern: Pattern | None = None
    second: Pattern | None = None
    """``/p1/!/p2/``: regexp's legacy second pattern (must not match)."""
    action: str = ""
    """The value (access(5) action) after the key or pattern."""
    problems: list[str] = field(default_factory=list)
    """What Postfix would warn about this line (predicted by our parser)."""
    skipped: bool = False
    """Postfix ignores this line."""

    @property
    def raw(self) -> str:
        return "".join(p.text + p.eol for p in self.physical)

    @property
    def is_rule(self) -> bool:
        return self.kind in (Kind.ENTRY, Kind.IF, Kind.ENDIF)


def parse_spec(spec: str) -> tuple[str, str]:
    """``"regexp:/etc/postfix/x"`` -> ``("regexp", "/etc/postfix/x")``; bare path = hash."""
    if ":" in spec and spec.split(":", 1)[0] in TABLE_TYPES:
        kind, path = spec.split(":", 1)
        return kind, path
    if ":" in spec and not spec.startswith("/"):
        kind = spec.split(":", 1)[0]
        raise TableError(
            spec,
            None,
            f"table type {kind!r} is not one pfwizard can read "
            f"(supported: {', '.join(TABLE_TYPES)})",
        )
    return "hash", spec


class Table:
    """An access table: type + path + lines.  ``render()`` returns the file byte for byte."""

    def __init__(self, type: str, path: str, lines: list[Line]) -> None:
        if type not in TABLE_TYPES:
            raise TableError(path, None, f"unknown table type {type!r}")
        self.type = type
        self.path = path
        self.lines = lines
        open_ifs, orphans = nesting(lines)
        for ln in orphans:
            _skip(
                ln,
                "ENDIF without IF: skipping this rule"
                if type == "cidr"
                else "ignoring ENDIF without matching IF",
            )
        for ln in open_ifs:
            ln.problems.append("IF has no matching ENDIF")

    # ---- reading -------------------------------------------------------------------------
    @classmethod
    def parse(cls, data: bytes | str, type: str, path: str = "table") -> Table:
        text = data.decode("utf-8", errors="surrogateescape") if isinstance(data, bytes) else data
        nul = text.find("\0")
        if nul >= 0:
            lineno = text.count("\n", 0, nul) + 1
            raise TableError(
                path, lineno, "NUL byte: Postfix would cut the line there; this is not a text table"
            )
        physical = _split_physical(text)
        return cls(type, path, [_parse_line(type, ln) for ln in _group(physical)])

    @classmethod
    def read(cls, path: str | Path, type: str = "hash") -> Table:
        p = Path(path)
        try:
            data = inputs.read_bytes(p, inputs.MAX_TABLE_BYTES, what="table")
        except ConfigError as exc:
            raise TableError(exc.path, exc.line, exc.message) from exc
        return cls.parse(data, type, str(p))

    @classmethod
    def read_spec(cls, spec: str) -> Table:
        kind, path = parse_spec(spec)
        return cls.read(path, kind)

    @property
    def spec(self) -> str:
        return f"{self.type}:{self.path}"

    @property
    def is_pattern(self) -> bool:
        return self.type in PATTERN_TYPES

    @property
    def is_fixed(self) -> bool:
        return self.type in FIXED_TYPES

    # ---- writing -------------------------------------------------------------------------
    def render(self) -> str:
        return "".join(line.raw for line in self.lines)

    def to_bytes(self) -> bytes:
        return self.render().encode("utf-8", errors="surrogateescape")

    def copy(self) -> Table:
        return Table.parse(self.render(), self.type, self.path)

    # ---- views ---------------------------------------------------------------------------
    @property
    def entries(self) -> list[Line]:
        return [ln for ln in self.lines if ln.kind is Kind.ENTRY]

    @property
    def rules(self) -> list[Line]:
        """Entries, if and endif lines, in file order."""
        return [ln for ln in self.lines if ln.is_rule]

    def line_at(self, lineno: int) -> Line | None:
        for ln in self.lines:
            if ln.lineno == lineno:
                return ln
        return None


# ---- logical lines ----------------------------------------------------------------------
def _ignorable(pl: PhysicalLine) -> str | None:
    s = pl.text.lstrip(_WS)
    if not s:
        return "blank"
    if s[0] == "#":
        return "comment"
    return None


def _group(physical: list[PhysicalLine]) -> list[tuple[Kind, int, list[PhysicalLine]]]:
    """Group physical lines into logical lines the way readllines() does."""
    out: list[tuple[Kind, int, list[PhysicalLine]]] = []
    open_at: int | None = None  # index in out of the logical line continuations join
    pending: list[tuple[Kind, int, list[PhysicalLine]]] = []
    for i, pl in enumerate(physical):
        ign = _ignorable(pl)
        if ign is not None:
            item = (Kind.BLANK if ign == "blank" else Kind.COMMENT, i + 1, [pl])
            (pending if open_at is not None else out).append(item)
            continue
        if pl.text[0] in _WS:
            if open_at is None:
                out.append((Kind.ORPHAN, i + 1, [pl]))
                open_at = len(out) - 1
            else:
                # Comment lines between a line and its continuation belong to it.
                for _, _, pls in pending:
                    out[open_at][2].extend(pls)
                pending = []
                out[open_at][2].append(pl)
            continue
        out.extend(pending)
        pending = []
        out.append((Kind.ENTRY, i + 1, [pl]))
        open_at = len(out) - 1
    out.extend(pending)
    return out


def _logical_text(pls: list[PhysicalLine]) -> str:
    # readllines() drops the newline and keeps everything else, a CR included.
    parts = []
    for pl in pls:
        if _ignorable(pl) is None:
            parts.append(pl.text + ("\r" if pl.eol == "\r\n" else ""))
    return "".join(parts).rstrip(_WS)


def _parse_line(type: str, item: tuple[Kind, int, list[PhysicalLine]]) -> Line:
    kind, lineno, pls = item
    if kind in (Kind.BLANK, Kind.COMMENT):
        return Line(kind, lineno, pls)
    text = _logical_text(pls)
    if kind is Kind.ORPHAN:
        return Line(
            kind,
            lineno,
            pls,
            text=text,
            skipped=True,
            problems=["logical line must not start with whitespace"],
        )
    line = Line(Kind.ENTRY, lineno, pls, text=text)
    if type in PATTERN_TYPES:
        _parse_pattern_line(line, type)
    elif type == "cidr":
        _parse_cidr_line(line)
    else:
        _parse_key_value(line)
    return line


def _skip(line: Line, message: str) -> None:
    line.problems.append(message)
    line.skipped = True


# ---- hash, btree, lmdb, cdb, texthash (postmap.c, dict_thash.c) --------------------------
def split_key(text: str) -> tuple[str, str] | str:
    """Split ``key whitespace value`` like postmap: the key ends at the first unquoted
    whitespace; a backslash protects the next character.  Returns (key, value) or an error."""
    in_quotes = False
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            i += 1
            if i >= n:
                break
        elif c in _WS:
            if not in_quotes:
                break
        elif c == '"':
            in_quotes = not in_quotes
        i += 1
    if in_quotes:
        return "unbalanced '\"'"
    key = text[:i]
    value = text[i + 1 :].strip(_WS) if i < n else ""
    if not key or not value:
        return "expected format: key whitespace value"
    return key, value


def _parse_key_value(line: Line) -> None:
    split = split_key(line.text)
    if isinstance(split, str):
        _skip(line, split)
        return
    line.key, line.action = split
    if line.key.endswith(":"):
        line.problems.append('record is in "key: value" format; is this an alias file?')


# ---- cidr (dict_cidr.c) -----------------------------------------------------------------
def _word_is(text: str, word: str) -> bool:
    n = len(word)
    return text[:n].lower() == word and (len(text) == n or text[n] not in _ALNUM)


def _negations(text: str) -> tuple[bool, str]:
    match = True
    i = 0
    while i < len(text) and (text[i] == "!" or text[i] in _WS):
        if text[i] == "!":
            match = not match
        i += 1
    return not match, text[i:]


def _parse_cidr_line(line: Line) -> None:
    text = line.text
    if _word_is(text, "if"):
        line.kind = Kind.IF
        negated, rest = _negations(text[2:])
        rest = rest.rstrip(_WS)
        if not rest:
            _skip(line, "no address pattern: skipping this rule")
            return
        line.key = rest
        line.pattern = Pattern(rest, "", "", negated)
        return
    if _word_is(text, "endif"):
        line.kind = Kind.ENDIF
        if text[5:].strip(_WS):
            _skip(line, "garbage after ENDIF: skipping this rule")
        return
    negated, rest = _negations(text)
    end = 0
    while end < len(rest) and rest[end] not in _WS:
        end += 1
    key, value = rest[:end], rest[end:].strip(_WS)
    line.key = key
    line.pattern = Pattern(key, "", "", negated)
    line.action = value
    if not key:
        _skip(line, "no address pattern: skipping this rule")
    elif not value:
        _skip(line, "no lookup result: skipping this rule")


# ---- regexp, pcre (dict_regexp.c, dict_pcre.c) -------------------------------------------
def _get_pattern(text: str, type: str) -> tuple[Pattern, str] | str:
    """One ``[!]<d>pattern<d>flags``; returns (pattern, rest) or Postfix's warning."""
    negated, p = _negations(text)
    if not p:
        return "no regexp: skipping this rule"
    delim = p[0]
    i = 1
    while i < len(p):
        if p[i] == "\\":
            if i + 1 < len(p):
                i += 1
            else:
                break
        elif p[i] == delim:
            break
        i += 1
    if i >= len(p) or p[i] != delim:
        verb = "skipping" if type == "regexp" else "ignoring"
        return f'no closing regexp delimiter "{delim}": {verb} this rule'
    body = p[1:i]
    j = i + 1
    allowed = REGEXP_FLAGS if type == "regexp" else PCRE_FLAGS
    while j < len(p) and p[j] not in _WS and not (type == "regexp" and p[j] == "!"):
        if p[j] not in allowed:
            return f'unknown regexp option "{p[j]}": skipping this rule'
        j += 1
    return Pattern(body, delim, p[i + 1 : j], negated), p[j:]


_MACRO_NAME = re.compile(r"[A-Za-z0-9_]*")


def replacement_refs(value: str) -> list[str] | str:
    """The ``$name`` references in a replacement text, like Postfix's mac_parse(); or the
    reason Postfix refuses the text."""
    refs: list[str] = []
    i = 0
    n = len(value)
    while i < n:
        if value[i] != "$":
            i += 1
            continue
        if i + 1 < n and value[i + 1] == "$":
            i += 2
            continue
        i += 1
        if i < n and value[i] in "({":
            close = ")" if value[i] == "(" else "}"
            end = value.find(close, i + 1)
            if end < 0:
                return f'truncated macro reference: "{value}"'
            name = value[i + 1 : end]
            i = end + 1
        else:
            m = _MACRO_NAME.match(value, i)
            name = m.group() if m else ""
            i += len(name)
        if not name:
            return f'empty macro name: "{value}"'
        refs.append(name)
    return refs


def _parse_pattern_line(line: Line, type: str) -> None:
    text = line.text
    if text[0] not in _ALNUM:
        got = _get_pattern(text, type)
        if isinstance(got, str):
            _skip(line, got)
            return
        line.pattern, rest = got
        line.key = line.pattern.source
        if type == "regexp" and rest.startswith("!"):
            got2 = _get_pattern(rest, type)
            if isinstance(got2, str):
                _skip(line, got2)
                return
            line.second, rest = got2
        line.action = rest.strip(_WS)
        if not line.action:
            line.problems.append("no replacement text: using empty string")
        refs = replacement_refs(line.action)
        if isinstance(refs, str):
            _skip(line, refs)
            return
        numbers = []
        for ref in refs:
            if not ref.isdigit():
                _skip(line, f'non-numeric replacement index "{ref}"')
                return
            if int(ref) < 1:
                _skip(line, f'out of range replacement index "{ref}"')
                return
            numbers.append(int(ref))
        if numbers and line.pattern.negated:
            _skip(line, "$number found in negative match replacement text: skipping this rule")
        return
    if _word_is(text, "if"):
        line.kind = Kind.IF
        got = _get_pattern(text[2:].lstrip(_WS), type)
        if isinstance(got, str):
            _skip(line, got)
            return
        line.pattern, rest = got
        line.key = line.pattern.source
        if rest.strip(_WS):
            line.problems.append(f'ignoring extra text after IF statement: "{rest.strip(_WS)}"')
        return
    if _word_is(text, "endif"):
        line.kind = Kind.ENDIF
        if text[5:].strip(_WS):
            line.problems.append("ignoring extra text after ENDIF")
        return
    _skip(line, "ignoring unrecognized request")


def max_replacement_index(action: str) -> int:
    refs = replacement_refs(action)
    if isinstance(refs, str):
        return 0
    return max((int(r) for r in refs if r.isdigit()), default=0)


def nesting(
    lines: list[Line], also_skipped: frozenset[int] = frozenset()
) -> tuple[list[Line], list[Line]]:
    """Match if/endif like Postfix.  Returns (IFs left open, ENDIFs without an IF): Postfix
    skips such an ENDIF, and an open IF runs to the end of the table.  ``also_skipped``: line
    numbers Postfix rejected for reasons only it knows (a pattern that does not compile)."""
    stack: list[Line] = []
    orphans: list[Line] = []
    for ln in lines:
        if not ln.is_rule or ln.skipped or ln.lineno in also_skipped:
            continue
        if ln.kind is Kind.IF:
            stack.append(ln)
        elif ln.kind is Kind.ENDIF:
            if stack:
                stack.pop()
            else:
                orphans.append(ln)
    return stack, orphans
