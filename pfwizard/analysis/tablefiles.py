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
NO_FILE = frozenset({"inline", "static", "unionmap", "pipemap", "tcp", "socketmap",
                     "proxy", "environ", "fail", "nis", "nisplus", "netinfo", "unix",
                     "randmap", "internal"})
KNOWN_TYPES = frozenset(INDEXED) | FLAT | CONFIG_FILE | NO_FILE

POSTFIX_ETC = "/etc/postfix"
_TYPE_RE = re.compile(r"([A-Za-z0-9_]+):(.*)\Z", re.S)


@dataclass(frozen=True)
class TableProblem:
    code: str
    """missing-table | stale-db | unknown-table-type | relative-table-path"""
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
        return conf / name[len(POSTFIX_ETC) + 1:]
    return p


def check(ref: str, config_dir: Path) -> list[TableProblem]:
    """Problems with the table ``ref`` (``type:name``) as smtpd would open it."""
    parsed = split_table(ref)
    if parsed is None:
        return []
    kind, name = parsed
    if kind not in KNOWN_TYPES:
        return [TableProblem("unknown-table-type", ref,
                             f"'{kind}' is not a Postfix lookup table type: smtpd answers "
                             "451 4.3.5 to every client that reaches this entry")]
    if kind in NO_FILE or name.startswith("{"):
        return []
    if not name.startswith("/"):
        return [TableProblem("relative-table-path", ref,
                             f"'{name}' is a relative path: smtpd resolves it inside the queue "
                             "directory, where it almost certainly does not exist; write the "
                             "full path (/etc/postfix/...)")]
    problem = inputs.path_problem(name)
    if problem is not None:
        return [TableProblem("missing-table", ref[:120],
                             f"{problem}: smtpd cannot open this table and answers 451 4.3.5 "
                             "to every client that reaches this entry")]
    path = locate(name, config_dir)
    if kind in INDEXED:
        built = [Path(str(path) + sfx) for sfx in INDEXED[kind]]
        missing = [b for b in built if not b.exists()]
        if missing:
            hint = f"run: postmap {kind}:{name}" if path.exists() else "the source is missing too"
            return [TableProblem("missing-table", ref,
                                 f"{missing[0]} does not exist ({hint}): smtpd answers 451 4.3.5 "
                                 "(server configuration error) to every client that reaches "
                                 "this entry")]
        if path.exists():
            src = path.stat().st_mtime
            if any(b.stat().st_mtime < src for b in built):
                return [TableProblem("stale-db", ref,
                                     f"{path} was changed after {built[0].name} was built: "
                                     "your edits are not in effect until you run "
                                     f"postmap {kind}:{name}")]
        return []
    if not path.exists():
        return [TableProblem("missing-table", ref,
                             f"{path} does not exist: smtpd answers 451 4.3.5 (server "
                             "configuration error) to every client that reaches this entry; "
                             "postfix check does not notice")]
    return []


def values(ref: str, config_dir: Path) -> list[str] | None:
    """The action column of a readable access table source (None: cannot read or judge)."""
    parsed = split_table(ref)
    if parsed is None:
        return None
    kind, name = parsed
    if kind not in INDEXED and kind not in FLAT:
        return None
    if inputs.path_problem(name) is not None:
        return None
    path = locate(name, config_dir)
    try:
        data = inputs.read_bytes(path, inputs.MAX_TABLE_BYTES, what="table")
    except ConfigError:
        return None
    text = data.decode("utf-8", errors="replace")
    out: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if not s or s.startswith("#") or line[0] in " \t":
            continue
        if kind in ("regexp", "pcre"):
            # /pattern/flags action  (or if/endif blocks): the action follows the closing
            # delimiter; good enough to tell a PERMIT from a REJECT.
            m = re.match(r"(?:!?(.).*?(?<!\\)\1[A-Za-z]*)\s+(.*)", s)
            if m:
                out.append(m.group(2).strip())
            continue
        parts = s.split(None, 1)
        if len(parts) == 2:
            out.append(parts[1].strip())
    return out
