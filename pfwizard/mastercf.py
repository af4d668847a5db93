"""master.cf as Postfix reads it, kept byte for byte: pfwizard edits one ``-o`` option of one
service and touches nothing else.

Why not ``postconf -P service/type/name=value``: it rewrites the whole entry in its own layout
and drops the comment lines inside it (MiaB's submission entry carries a dozen), so the diff an
admin reviews would be the whole entry instead of one line.

How Postfix reads it (readlline(3), as for main.cf): a line starting with whitespace continues
the entry before it; comment and blank lines are skipped without ending the entry.  An entry's
words are service, type, private, unpriv, chroot, wakeup, maxproc, command, then the command's
arguments; the daemon options are the arguments before the first one that does not start with
``-``.  ``-o name=value``, ``-oname=value`` and ``-o { name = value }`` set a parameter for
that service only; the last one of a name wins.  The results agree with ``postconf -P``
(tests/test_mastercf.py compares them on every fixture).

Keys use ``postconf -P``'s notation: ``service/type/parameter``, e.g.
``authclean/unix/header_checks``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pfwizard.errors import ConfigError, ValueRefused
from pfwizard.maincf import (
    MAX_LINE_CHARS,
    LineKind,
    PhysicalLine,
    _split_physical,
    check_parameter_name,
    read_config,
)

_BLANKS = " \t\r\n\v\f"
# The fixed columns before the command: service type private unpriv chroot wakeup maxproc.
MIN_FIELDS = 8
SERVICE_TYPES = ("inet", "unix", "unix-dgram", "fifo", "pass")
# A value pfwizard writes must stay one word of one line: whitespace would need { } quoting
# and a newline would start a new entry (a new service).
_VALUE_REFUSED_RE = re.compile(r"[\x00-\x20\x7f{}]")


def split_key(key: str) -> tuple[str, str, str]:
    """``service/type/parameter`` -> its three parts (the service may contain ``:``)."""
    parts = key.rsplit("/", 2)
    if len(parts) != 3 or not all(parts):
        raise ValueRefused(f"not a master.cf parameter key (service/type/parameter): {key!r}")
    service, type_, param = parts
    if type_ not in SERVICE_TYPES:
        raise ValueRefused(
            f"{key}: {type_!r} is not a master.cf service type ({', '.join(SERVICE_TYPES)})"
        )
    check_parameter_name(param)
    return service, type_, param


def make_key(service: str, type_: str, param: str) -> str:
    return f"{service}/{type_}/{param}"


@dataclass(frozen=True)
class _Token:
    """One word of master.cf and where it stands (so an edit touches only it)."""

    text: str
    line: int  # physical line index of its first character
    start: int  # column in that line
    end_line: int  # physical line index of its last character
    end: int  # column after its last character


@dataclass(frozen=True)
class _Option:
    """One ``-o name=value`` of a service, with the words it was written as."""

    name: str
    value: str
    tokens: tuple[_Token, ...]  # ("-o", word), ("-oname=value",) or ("-o", "{...}")


@dataclass(frozen=True)
class Service:
    """One active master.cf entry."""

    name: str
    type: str
    fields: tuple[str, ...]
    """private, unpriv, chroot, wakeup, maxproc, as written (``-`` for the default)."""
    command: str
    args: tuple[str, ...]
    options: tuple[tuple[str, str], ...]
    """``-o`` parameters in file order, duplicates included."""
    index: int
    """Physical line index (0-based) of the entry's first line."""
    last_index: int
    """Physical line index of its last non-comment line."""

    @property
    def lineno(self) -> int:
        return self.index + 1

    @property
    def key(self) -> str:
        return f"{self.name}/{self.type}"

    def option(self, name: str) -> str | None:
        """The parameter's value for this service (the last ``-o`` wins), or None."""
        found = None
        for opt_name, value in self.options:
            if opt_name == name:
                found = value
        return found


@dataclass(frozen=True)
class _Entry:
    """One service entry of master.cf: its fields, its options and their words."""

    service: Service
    tokens: tuple[_Token, ...]
    options: tuple[_Option, ...]
    last_option_token: _Token
    """Where a new option goes: after the last daemon option, or after the command."""


def _tokens(lines: list[PhysicalLine], indexes: list[int], path: str) -> list[_Token]:
    """Split an entry's lines into words; ``{ ... }`` is one word, as in master_ent.c."""
    chars: list[tuple[int, int]] = []  # (line index, column) of each character of the text
    text_parts: list[str] = []
    for i in indexes:
        t = lines[i].text
        text_parts.append(t + "\n")  # a line break separates words like any blank
        chars.extend((i, c) for c in range(len(t) + 1))
    text = "".join(text_parts)
    out: list[_Token] = []
    pos, n = 0, len(text)
    while pos < n:
        if text[pos] in _BLANKS:
            pos += 1
            continue
        start = pos
        if text[pos] == "{":
            depth = 0
            while pos < n:
                if text[pos] == "{":
                    depth += 1
                elif text[pos] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                pos += 1
            if pos >= n:
                raise ConfigError(path, chars[start][0] + 1, "missing '}' in master.cf entry")
            pos += 1
        else:
            while pos < n and text[pos] not in _BLANKS:
                pos += 1
        sl, sc = chars[start]
        el, ec = chars[pos - 1]
        out.append(_Token(text[start:pos], sl, sc, el, ec + 1))
    return out


def _nameval(word: str) -> tuple[str, str] | None:
    if word.startswith("{") and word.endswith("}"):
        word = word[1:-1].strip(_BLANKS)
    name, eq, value = word.partition("=")
    name = name.strip(_BLANKS)
    if not eq or not name or any(c in _BLANKS for c in name):
        return None
    return name, value.strip(_BLANKS)


def _entry(lines: list[PhysicalLine], indexes: list[int], path: str) -> _Entry:
    tokens = _tokens(lines, indexes, path)
    first = indexes[0]
    if len(tokens) < MIN_FIELDS:
        raise ConfigError(
            path,
            first + 1,
            f"bad field count: {len(tokens)} words, a master.cf entry needs at least {MIN_FIELDS}",
        )
    options: list[_Option] = []
    last = tokens[MIN_FIELDS - 1]
    i = MIN_FIELDS
    # Daemon options end at the first argument that does not start with '-' (or at "--").
    while i < len(tokens) and tokens[i].text.startswith("-") and tokens[i].text != "--":
        word = tokens[i].text
        if word == "-o" and i + 1 < len(tokens):
            pair = _nameval(tokens[i + 1].text)
            if pair:
                options.append(_Option(pair[0], pair[1], (tokens[i], tokens[i + 1])))
            last = tokens[i + 1]
            i += 2
            continue
        if word.startswith("-o") and len(word) > 2:
            pair = _nameval(word[2:])
            if pair:
                options.append(_Option(pair[0], pair[1], (tokens[i],)))
        last = tokens[i]
        i += 1
    words = [t.text for t in tokens]
    service = Service(
        name=words[0],
        type=words[1],
        fields=tuple(words[2:7]),
        command=words[7],
        args=tuple(words[MIN_FIELDS:]),
        options=tuple((o.name, o.value) for o in options),
        index=first,
        last_index=indexes[-1],
    )
    return _Entry(service, tuple(tokens), tuple(options), last)


class MasterCf:
    """A master.cf file: physical lines kept exactly, entries computed from them."""

    def __init__(self, lines: list[PhysicalLine], path: str = "master.cf") -> None:
        self.path = path
        self._lines = lines
        self._entries: list[_Entry] = []
        self._analyse()

    @classmethod
    def parse(cls, data: bytes | str, path: str = "master.cf") -> MasterCf:
        text = data.decode("utf-8", errors="surrogateescape") if isinstance(data, bytes) else data
        if "\x00" in text:
            raise ConfigError(path, None, "binary data: this is not a text master.cf file")
        lines = _split_physical(text)
        for i, line in enumerate(lines):
            if len(line.text) > MAX_LINE_CHARS:
                raise ConfigError(
                    path,
                    i + 1,
                    f"line is {len(line.text)} characters long "
                    f"(more than {MAX_LINE_CHARS}): this is not a master.cf file",
                )
        return cls(lines, path)

    @classmethod
    def read(cls, path: str | Path) -> MasterCf:
        return cls.parse(read_config(path), str(path))

    @classmethod
    def of_config_dir(cls, config_dir: str | Path) -> MasterCf:
        """``<config_dir>/master.cf``; none at all reads as an empty file (no services), so
        callers report what is missing instead of failing to open it."""
        path = Path(config_dir) / "master.cf"
        return cls.read(path) if path.exists() else cls.parse(b"", str(path))

    def to_bytes(self) -> bytes:
        return "".join(ln.text + ln.eol for ln in self._lines).encode(
            "utf-8", errors="surrogateescape"
        )

    def _analyse(self) -> None:
        groups: list[list[int]] = []
        for i, line in enumerate(self._lines):
            kind = line.kind
            if kind == LineKind.START:
                groups.append([i])
            elif kind == LineKind.CONTINUATION and groups:
                groups[-1].append(i)
            # A continuation before any entry: Postfix warns and skips it; so do we.
        self._entries = [_entry(self._lines, g, self.path) for g in groups]

    # ---- reading -------------------------------------------------------------------------
    @property
    def lines(self) -> list[PhysicalLine]:
        """The physical lines, comments included (a copy of the list)."""
        return list(self._lines)

    def services(self) -> list[Service]:
        return [e.service for e in self._entries]

    def find(self, name: str, type_: str) -> Service | None:
        entry = self._find(name, type_)
        return entry.service if entry else None

    def _find(self, name: str, type_: str) -> _Entry | None:
        found = [e for e in self._entries if e.service.name == name and e.service.type == type_]
        if len(found) > 1:
            raise ConfigError(
                self.path,
                found[1].service.lineno,
                f"service {name}/{type_} is defined twice (also line {found[0].service.lineno})",
            )
        return found[0] if found else None

    def get_option(self, name: str, type_: str, option: str) -> str | None:
        service = self.find(name, type_)
        return service.option(option) if service else None

    def get(self, key: str) -> str | None:
        """``get("authclean/unix/header_checks")``: as ``postconf -P`` shows it."""
        return self.get_option(*split_key(key))

    # ---- editing -------------------------------------------------------------------------
    def _require(self, name: str, type_: str) -> _Entry:
        entry = self._find(name, type_)
        if entry is None:
            raise KeyError(f"{self.path}: no active service {name}/{type_}")
        return entry

    def _eol(self) -> str:
        return "\r\n" if any(ln.eol == "\r\n" for ln in self._lines) else "\n"

    def set_option(self, name: str, type_: str, option: str, value: str) -> None:
        """Set ``-o option=value`` on one service: every existing ``-o`` of that name is
        rewritten in place (so no stale duplicate remains); otherwise one new option goes
        right after the entry's last daemon option, on a line of its own when that option
        ends its line."""
        check_parameter_name(option)
        bad = _VALUE_REFUSED_RE.search(value)
        if bad:
            raise ValueRefused(
                f"refusing to write {make_key(name, type_, option)}: the value contains "
                f"{bad.group()!r} (position {bad.start()}); a master.cf -o value pfwizard "
                f"writes must be one word without control characters or braces"
            )
        entry = self._require(name, type_)
        word = f"{option}={value}"
        if entry.options and any(o.name == option for o in entry.options):
            # Right to left, so earlier columns on the same line stay valid.
            for opt in reversed([o for o in entry.options if o.name == option]):
                target = opt.tokens[-1]
                if target.line != target.end_line:
                    raise ValueRefused(
                        f"{self.path} line {target.line + 1}: the {option} option of "
                        f"{name}/{type_} spans lines inside {{ }}: edit it by hand"
                    )
                text = ("-o" + word) if len(opt.tokens) == 1 else word
                self._replace(target.line, target.start, target.end, text)
        else:
            after = entry.last_option_token
            line = self._lines[after.end_line]
            if line.text[after.end :].strip(_BLANKS):
                # More arguments follow on this line: insert inline, before them.
                self._replace(after.end_line, after.end, after.end, f" -o {word}")
            else:
                self._lines.insert(
                    after.end_line + 1,
                    PhysicalLine(f"{self._indent(entry)}-o {word}", line.eol or self._eol()),
                )
                if not line.eol:
                    line.eol = self._eol()
        self._analyse()

    def remove_option(self, name: str, type_: str, option: str) -> bool:
        """Remove every ``-o option=...`` of the service; a line left empty goes too."""
        entry = self._require(name, type_)
        targets = [o for o in entry.options if o.name == option]
        tokens = [t for o in targets for t in o.tokens]
        for tok in tokens:
            if tok.line != tok.end_line:
                raise ValueRefused(
                    f"{self.path} line {tok.line + 1}: the {option} option of "
                    f"{name}/{type_} spans lines inside {{ }}: edit it by hand"
                )
        touched = sorted({t.line for t in tokens}, reverse=True)
        # Right to left, so earlier columns on the same line stay valid.
        for tok in sorted(tokens, key=lambda t: (t.line, t.start), reverse=True):
            text = self._lines[tok.line].text
            start = len(text[: tok.start].rstrip(" \t"))
            self._lines[tok.line].text = text[:start] + text[tok.end :]
        for i in touched:  # never the first line: it keeps its 8 fields
            if not self._lines[i].text.strip(_BLANKS):
                del self._lines[i]
        self._analyse()
        return bool(targets)

    def _replace(self, line: int, start: int, end: int, text: str) -> None:
        old = self._lines[line].text
        self._lines[line].text = old[:start] + text + old[end:]

    def _indent(self, entry: _Entry) -> str:
        """The indentation of the entry's own ``-o`` lines (MiaB uses a tab and two spaces)."""
        for tok in reversed(entry.tokens[MIN_FIELDS:]):
            text = self._lines[tok.line].text
            if tok.text.startswith("-o") and not text[: tok.start].strip(_BLANKS):
                return text[: tok.start]
        return "  "
