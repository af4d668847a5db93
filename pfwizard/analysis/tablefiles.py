"""Does a table a restriction names exist, and is its indexed file up to date?

smtpd opens every table in its lists when it starts; a missing one is not caught by
``postfix check`` or reload, only by the client, who gets ``451 4.3.5``.  Indexed types
(hash, btree, lmdb, cdb, dbm, sdbm) read the file ``postmap`` built, not the source: an
edited source without ``postmap`` changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pfwizard import inputs
from pfwizard.errors import ConfigError
from pfwizard.indexfiles import why_not_a_table

# Indexed types → suffixes of the files postmap builds.
INDEXED: dict[str, tuple[str, ...]] = {
    "hash": (".db",),
    "btree": (".db",),
    "lmdb": (".lmdb",),
    "cdb": (".cdb",),
    "dbm": (".dir", ".pag"),
    "sdbm": (".dir", ".pag"),
}
# Types read straight from a file.
FLAT = frozenset({"regexp", "pcre", "cidr", "texthash"})
# Types whose name is a client configuration file.
CONFIG_FILE = frozenset({"sqlite", "mysql", "pgsql", "ldap", "memcache"})
# Types with no file of their own (or a file we cannot judge: proxy wraps another table).
NO_FILE = frozenset(
    {
        "inline",
        "static",
        "unionmap",
        "pipemap",
        "tcp",
        "socketmap",
        "proxy",
        "environ",
        "fail",
        "nis",
        "nisplus",
        "netinfo",
        "unix",
        "randmap",
        "internal",
    }
)
KNOWN_TYPES = frozenset(INDEXED) | FLAT | CONFIG_FILE | NO_FILE

POSTFIX_ETC = "/etc/postfix"
_TYPE_RE = re.compile(r"([A-Za-z0-9_]+):(.*)\Z", re.S)


@dataclass(frozen=True)
class TableProblem:
    """A lookup table a list names that Postfix could not use as it stands."""

    code: str
    """missing-table | stale-db | unknown-table-type | relative-table-path | not-a-table"""
    path: str
    message: str


def split_table(ref: str) -> tuple[str, str] | None:
    """``hash:/etc/postfix/x`` → ('hash', '/etc/postfix/x'); None for ``{...}`` and non-tables."""
    m = _TYPE_RE.match(ref)
    return (m.group(1).lower(), m.group(2)) if m else None


def locate(name: str, config_dir: Path) -> Path:
    """Where to look for a table file: a path under /etc/postfix follows ``--config-dir``
    (so a copy of /etc/postfix can be checked anywhere)."""
    p = Path(name)
    conf = config_dir.resolve()
    if str(conf) != POSTFIX_ETC and (name == POSTFIX_ETC or name.startswith(POSTFIX_ETC + "/")):
        return conf / name[len(POSTFIX_ETC) + 1 :]
    return p


def check(ref: str, config_dir: Path) -> list[TableProblem]:
    """Problems with the table ``ref`` (``type:name``) as smtpd would open it."""
    parsed = split_table(ref)
    if parsed is None:
        return []
    kind, name = parsed
    if kind not in KNOWN_TYPES:
        return [
            TableProblem(
                "unknown-table-type",
                ref,
                f"'{kind}' is not a Postfix lookup table type: smtpd answers "
                "451 4.3.5 to every client that reaches this entry",
            )
        ]
    if kind in NO_FILE or name.startswith("{"):
        return []
    if not name.startswith("/"):
        return [
            TableProblem(
                "relative-table-path",
                ref,
                f"'{name}' is a relative path: smtpd resolves it inside the queue "
                "directory, where it almost certainly does not exist; write the "
                "full path (/etc/postfix/...)",
            )
        ]
    problem = inputs.path_problem(name)
    if problem is not None:
        return [
            TableProblem(
                "missing-table",
                ref[:120],
                f"{problem}: smtpd cannot open this table and answers 451 4.3.5 "
                "to every client that reaches this entry",
            )
        ]
    path = locate(name, config_dir)
    own = _not_a_table(path, config_dir)
    if own is not None:
        return [TableProblem("not-a-table", ref, own)]
    if kind in INDEXED:
        built = [Path(str(path) + sfx) for sfx in INDEXED[kind]]
        missing = [b for b in built if not b.exists()]
        if missing:
            hint = f"run: postmap {kind}:{name}" if path.exists() else "the source is missing too"
            return [
                TableProblem(
                    "missing-table",
                    ref,
                    f"{missing[0]} does not exist ({hint}): smtpd answers 451 4.3.5 "
                    "(server configuration error) to every client that reaches "
                    "this entry",
                )
            ]
        if path.exists():
            src = path.stat().st_mtime
            if any(b.stat().st_mtime < src for b in built):
                return [
                    TableProblem(
                        "stale-db",
                        ref,
                        f"{path} was changed after {built[0].name} was built: "
                        "your edits are not in effect until you run "
                        f"postmap {kind}:{name}",
                    )
                ]
        return []
    if not path.exists():
        return [
            TableProblem(
                "missing-table",
                ref,
                f"{path} does not exist: smtpd answers 451 4.3.5 (server "
                "configuration error) to every client that reaches this entry; "
                "postfix check does not notice",
            )
        ]
    return []


def _not_a_table(path: Path, config_dir: Path) -> str | None:
    """Why ``path`` is no lookup table at all (Postfix's own main.cf or master.cf, a
    plugin file, a table's index), or None.  Followed through symbolic links: a link to
    main.cf is main.cf."""
    try:
        rel = path.resolve().relative_to(config_dir.resolve())
    except (ValueError, OSError, RuntimeError):
        return None
    if why_not_a_table(rel) is None:
        return None
    if rel.suffix in (".db", ".lmdb", ".cdb"):
        return (
            f"{path} is the index postmap builds from a table, not a table: name the "
            f"table's source file (without {rel.suffix}); as it is, smtpd answers 451 4.3.5"
        )
    return (
        f"{path} is Postfix's own {rel}, not a lookup table: smtpd would take its "
        "lines as the table's keys and actions (a parameter for a sender or client "
        "name, its value for what to do)"
    )


def values(ref: str, config_dir: Path | None) -> list[str] | None:
    """The action column of a table smtpd would read (None: cannot read or judge, or the
    file is not there yet: the wizard may be about to write it)."""
    found = entries(ref, config_dir)
    if not found:
        parsed = split_table(ref)
        kind, name = parsed if parsed is not None else ("", "")
        if config_dir is None or not name.startswith("/") or inputs.path_problem(name):
            return None if found is None else []
        if kind in FLAT and not locate(name, config_dir).exists():
            return None
        if kind in INDEXED and not any(
            Path(str(locate(name, config_dir)) + sfx).exists() for sfx in INDEXED[kind]
        ):
            return None
    return None if found is None else [e.value for e in found]


@dataclass(frozen=True)
class Entry:
    """One line of a lookup table: what is looked up and what smtpd gets back."""

    key: str
    value: str
    where: str
    """Plain words for the admin: "line 3 of /etc/postfix/x", "static:OK"..."""
    substituted: bool = False
    """The result contains ``$1``-style text taken from the looked-up string (regexp/pcre):
    whoever chooses that string chooses the result."""
    pattern: tuple[str, str] | None = None
    """(pattern, flags) of a regexp/pcre line."""


# Types whose answers depend on a server or database pfwizard cannot read.
UNREADABLE = frozenset(
    {
        "sqlite",
        "mysql",
        "pgsql",
        "ldap",
        "memcache",
        "tcp",
        "socketmap",
        "nis",
        "nisplus",
        "netinfo",
        "unix",
        "environ",
        "internal",
    }
)
_MAX_NESTING = 10


def split_braced(text: str) -> list[str]:
    """Postfix's argv_splitq(text, ", \t\r\n", "{}"): words, ``{...}`` kept whole."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in ", \t\r\n":
            i += 1
            continue
        start, depth = i, 0
        while i < n and (depth or text[i] not in ", \t\r\n"):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        out.append(text[start:i])
    return out


def unbrace(word: str) -> str:
    """``{ text }`` → ``text`` (Postfix strips the braces and the blanks inside them)."""
    w = word.strip()
    if w.startswith("{") and w.endswith("}"):
        return w[1:-1].strip()
    return w


def entries(ref: str, config_dir: Path | None, _depth: int = 0) -> list[Entry] | None:
    """Every (key, result) a table can give, as smtpd would read it; None when pfwizard cannot
    tell (a database or server, a postmap-built file older than its source, no disk given).

    Indexed tables (hash, btree, ...) are read from their source file: smtpd reads the built
    file, so a source newer than it (or missing) counts as unknown."""
    parsed = split_table(ref)
    if parsed is None or _depth > _MAX_NESTING:
        return None
    kind, name = parsed
    if kind == "static":
        return [Entry("*", unbrace(name), ref)]
    if kind == "inline":
        return _inline(ref, name)
    if kind == "fail":
        return []  # every lookup fails: smtpd answers 451 4.3.5, never a permit
    if kind == "proxy":
        return entries(name, config_dir, _depth + 1)
    if kind in ("unionmap", "pipemap", "randmap"):
        members = split_braced(unbrace(name))
        if not members:
            return None
        if kind == "randmap":
            return [Entry("*", unbrace(m), ref) for m in members]
        if kind == "pipemap":
            # The result is what the last table answers (fed by the others).
            members = members[-1:]
        out: list[Entry] = []
        for m in members:
            got = entries(unbrace(m), config_dir, _depth + 1)
            if got is None:
                return None
            out.extend(got)
        return out
    if kind not in INDEXED and kind not in FLAT:
        return None
    if config_dir is None or name.startswith("{") or inputs.path_problem(name) is not None:
        return None
    path = locate(name, config_dir)
    if kind in INDEXED:
        built = [Path(str(path) + sfx) for sfx in INDEXED[kind]]
        if not all(b.exists() for b in built):
            return []  # no built file: smtpd answers 451 4.3.5, never a permit
        try:
            if any(b.stat().st_mtime < path.stat().st_mtime for b in built):
                return None  # smtpd reads what postmap built before the last edit
        except OSError:
            return None  # a built file without its source: its contents are unknown
    try:
        text = read_source(path)
    except FileNotFoundError:
        return [] if kind in FLAT else None  # a missing file: 451 4.3.5 for everyone
    if text is None:
        return None
    return parse_lines(kind, text, str(path))


def read_source(path: Path) -> str | None:
    """The text of a table source file; None when it cannot be read (not a regular file, a
    FIFO or device, too big, unreadable); FileNotFoundError when it is not there (what that
    means is the caller's business)."""
    try:
        data = inputs.read_bytes_or_none(path, inputs.MAX_TABLE_BYTES, what="table")
    except ConfigError:
        return None
    if data is None:
        raise FileNotFoundError(str(path))
    return data.decode("utf-8", errors="replace")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(line number, text) of each logical line: a line starting with whitespace continues
    the one before; blank lines and ``#`` comment lines are skipped."""
    out: list[tuple[int, str]] = []
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if line[0] in " \t" and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + s)
            continue
        out.append((n, s))
    return out


def regexp_rule(line: str) -> tuple[str, str, str] | None:
    """``[!]/pattern/flags result`` → (pattern, flags, result); None when it is not a rule
    (``if``/``endif`` lines included)."""
    s = line
    if s.startswith("!"):
        s = s[1:].lstrip()
    if not s or s[0].isspace() or s[0].isalnum():
        return None
    delim = s[0]
    i = 1
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s[i] == delim:
            break
        i += 1
    if i >= len(s):
        return None
    pattern = s[1:i]
    rest = s[i + 1 :]
    m = re.match(r"([A-Za-z]*)\s*(.*)\Z", rest, re.S)
    if m is None:
        return None
    return pattern, m.group(1), m.group(2).strip()


def parse_lines(kind: str, text: str, source: str) -> list[Entry]:
    """Entries of a table source file of type ``kind``."""
    out: list[Entry] = []
    for n, line in logical_lines(text):
        where = f"line {n} of {source}"
        if kind in ("regexp", "pcre"):
            if re.match(r"(?i)(if|endif)\b", line):
                continue
            rule = regexp_rule(line)
            if rule is not None:
                out.append(
                    Entry(
                        f"/{rule[0]}/{rule[1]}",
                        rule[2],
                        where,
                        substituted="$" in rule[2],
                        pattern=rule[:2],
                    )
                )
            continue
        if kind == "cidr" and re.match(r"(?i)(if|endif)\b", line):
            continue
        parts = line.split(None, 1)
        if len(parts) == 2:
            out.append(Entry(parts[0], parts[1].strip(), where))
    return out


def _inline(ref: str, body: str) -> list[Entry] | None:
    """``inline:{ key=value, { key = text with spaces } }``."""
    inner = body.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        return None
    out: list[Entry] = []
    for word in split_braced(inner[1:-1]):
        key, eq, value = unbrace(word).partition("=")
        if eq:
            out.append(Entry(key.strip(), value.strip(), f"'{unbrace(word)}' in {ref}"))
    return out
