"""What a journal entry must look like before pfwizard believes it.

Crash recovery and ``rollback --to`` write, as root, the files an entry names with the owner
and mode it records.  So an entry is used only when its ``entry.json`` has the expected shape
and types, and every file it names is one pfwizard could have written:

- an absolute, normalised path inside the entry's configuration directory (symbolic links of
  the directories on the way resolved), with the role ``main.cf``, ``master.cf``, ``table``
  or ``index``; or exactly ``<state_dir>/customizations.yaml`` with the role ``intent``
  (the customisations, written in the same transaction) and nothing else outside;
- a mode of plain permission bits (no setuid, setgid or sticky bit) that nobody but its owner
  and group may write; numeric owner and group;
- its copy a plain numbered file under the entry's ``files/`` (``statedir.read_private``
  checks the copy itself: regular file, root's, at most ``BACKUP_LIMIT`` bytes).

Anything else makes the entry unreadable: ``rollback --list`` says so on one line and skips
it; recovery and rollback leave it alone.  Free of the engine's imports (``check`` uses
``interrupted``).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pfwizard import statedir
from pfwizard.errors import PfwizardError
from pfwizard.indexfiles import why_not_a_table

IN_PROGRESS = "in-progress"
OUTCOMES = (
    "in-progress",
    "applied",
    "pending-confirm",
    "confirmed",
    "reverted",
    "failed",
    "refused",
    "recovered",
)
ROLES = ("main.cf", "master.cf", "table", "index", "intent")
INTENT_ROLE = "intent"
INTENT_FILE = "customizations.yaml"
_DIGITS = re.compile(r"[0-9]{1,9}\Z")
_HEX = re.compile(r"[0-9a-f]{64}\Z")
_MAP_TYPE = re.compile(r"[a-z0-9_]{1,32}\Z")
_ID_MAX = 2**32 - 2


class InvalidEntry(PfwizardError):
    """A journal entry pfwizard will not use (the message is the reason)."""


def _want(cond: bool, why: str) -> None:
    if not cond:
        raise InvalidEntry(why)


def _str(data: dict[str, Any], key: str) -> None:
    _want(isinstance(data.get(key), str), f"{key} is not text")


def _int(v: Any, what: str, low: int, high: int) -> None:
    _want(
        isinstance(v, int) and not isinstance(v, bool) and low <= v <= high,
        f"{what} is not a number from {low} to {high}",
    )


def real_inside(path: str, config_dir: str) -> bool:
    """``path``'s directory, symbolic links resolved, lies inside ``config_dir``'s."""
    root = os.path.realpath(config_dir)
    parent = os.path.realpath(os.path.dirname(path))
    return parent == root or parent.startswith(root.rstrip("/") + "/")


def is_intent_file(path: str, state_dir: str | Path | None) -> bool:
    """``path`` is exactly ``<state_dir>/customizations.yaml`` (directories resolved)."""
    return (
        state_dir is not None
        and os.path.basename(path) == INTENT_FILE
        and os.path.realpath(os.path.dirname(path)) == os.path.realpath(state_dir)
    )


def check_file(f: Any, config_dir: str, state_dir: str | Path | None = None) -> None:
    """One file record of an entry (see the module docstring)."""
    _want(isinstance(f, dict), "a file record is not a mapping")
    path = f.get("path")
    _want(
        isinstance(path, str)
        and path.startswith("/")
        and "\0" not in path
        and os.path.normpath(path) == path,
        f"file path {path!r} is not a plain absolute path",
    )
    assert isinstance(path, str)
    _want(os.path.basename(path) not in ("", ".", ".."), f"file path {path!r} names no file")
    _want(f.get("role") in ROLES, f"file {path}: unknown role {f.get('role')!r}")
    if f.get("role") == INTENT_ROLE:
        _want(
            is_intent_file(path, state_dir),
            f"file {path}: the customisations can only be {state_dir}/{INTENT_FILE}",
        )
    else:
        _want(
            real_inside(path, config_dir),
            f"file {path} is outside the configuration directory {config_dir}",
        )
    if f.get("role") == "table":
        # pfwizard never writes main.cf (or an index) as a table: an entry saying so was
        # not written by it, and rolling it back would replace main.cf wholesale.
        where = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        why = why_not_a_table(Path(os.path.relpath(where, os.path.realpath(config_dir))))
        _want(why is None, f"file {path}: recorded as a lookup table, but {why}")
    existed = f.get("existed")
    _want(isinstance(existed, bool), f"file {path}: 'existed' is not true/false")
    for key in ("sha256_before", "sha256_after"):
        v = f.get(key)
        _want(
            v is None or (isinstance(v, str) and bool(_HEX.match(v))),
            f"file {path}: {key} is not a checksum",
        )
    mt = f.get("map_type")
    _want(
        mt is None or (isinstance(mt, str) and bool(_MAP_TYPE.match(mt))),
        f"file {path}: bad map type",
    )
    backup = f.get("backup")
    if not existed:
        _want(
            backup is None and f.get("sha256_before") is None,
            f"file {path}: did not exist, yet has a saved copy",
        )
        return
    _want(
        isinstance(backup, str) and bool(_DIGITS.match(backup)),
        f"file {path}: its saved copy {backup!r} is not a numbered file under files/",
    )
    _want(f.get("sha256_before") is not None, f"file {path}: no checksum of its saved copy")
    mode = f.get("mode")
    _int(mode, f"file {path}: mode", 0, 0o777)
    assert isinstance(mode, int)
    _want(not mode & 0o002, f"file {path}: mode {mode:04o} lets everyone write it")
    _int(f.get("uid"), f"file {path}: owner", 0, _ID_MAX)
    _int(f.get("gid"), f"file {path}: group", 0, _ID_MAX)


def check_entry(data: Any, entry_id: str, state_dir: str | Path | None = None) -> dict[str, Any]:
    """``data`` (parsed entry.json) if it is a usable entry named ``entry_id`` of the
    journal in ``state_dir``; else InvalidEntry with the reason."""
    _want(isinstance(data, dict), "not a JSON object")
    assert isinstance(data, dict)
    _want(data.get("id") == entry_id, f"its id {data.get('id')!r} is not {entry_id!r}")
    for key in ("kind", "time", "user", "summary"):
        _str(data, key)
    cdir = data.get("config_dir")
    _want(
        isinstance(cdir, str) and cdir.startswith("/") and "\0" not in cdir,
        "config_dir is not an absolute path",
    )
    _want(data.get("outcome") in OUTCOMES, f"unknown outcome {data.get('outcome')!r}")
    for key in ("error", "rollback_of", "rolled_back_by"):
        _want(data.get(key) is None or isinstance(data[key], str), f"{key} is not text")
    for key in ("rollback_of", "rolled_back_by"):
        _want(
            data.get(key) is None or bool(_DIGITS.match(data[key])), f"{key} is not an entry number"
        )
    _want(isinstance(data.get("postfix_output", ""), str), "postfix_output is not text")
    _want(data.get("intent") is None or isinstance(data["intent"], dict), "intent is not a mapping")
    deadline = data.get("confirm_deadline")
    _want(
        deadline is None or (isinstance(deadline, (int, float)) and not isinstance(deadline, bool)),
        "confirm_deadline is not a time",
    )
    steps = data.get("steps", [])
    _want(
        isinstance(steps, list)
        and all(isinstance(s, dict) and all(isinstance(v, str) for v in s.values()) for s in steps),
        "steps are not a list of steps",
    )
    _want(isinstance(data.get("diff_available", False), bool), "diff_available is not true/false")
    files = data.get("files", [])
    _want(isinstance(files, list), "files is not a list")
    assert isinstance(cdir, str)
    for f in files:
        check_file(f, cdir, state_dir)
    return data


def parse(raw: bytes, entry_id: str, state_dir: str | Path | None = None) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidEntry(f"not valid JSON ({str(exc).splitlines()[0][:80]})") from None
    return check_entry(data, entry_id, state_dir)


def same_dir(a: str | Path, b: str | Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


@dataclass(frozen=True)
class Interrupted:
    """An entry left in progress (pfwizard was killed, or the state directory failed)."""

    id: str
    summary: str
    time: str


def interrupted(config_dir: str | Path, state_dir: str | Path) -> list[Interrupted]:
    """Entries for ``config_dir`` still in progress: a change that may be half-applied.
    Unreadable entries are not counted here (``rollback --list`` reports them)."""
    return scan(config_dir, state_dir)[0]


def scan(config_dir: str | Path, state_dir: str | Path) -> tuple[list[Interrupted], list[str]]:
    """``interrupted``, and the ids of the entries that fail the checks."""
    root = Path(state_dir) / "journal"
    try:
        names = sorted((n for n in os.listdir(root) if _DIGITS.match(n)), key=int)
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    out, bad = [], []
    for n in names:
        try:
            raw = statedir.read_private(Path(state_dir), "journal", n, "entry.json")
            # Only an entry left in progress is replayed: only those need the full checks
            # (a journal of hundreds of finished entries costs a command nothing).
            if b'"in-progress"' not in raw and raw.lstrip().startswith(b"{"):
                continue
            data = parse(raw, n, state_dir)
        except FileNotFoundError:
            continue  # an entry being created (swept at the next start if never finished)
        except (OSError, PfwizardError):
            bad.append(n)
            continue
        if data["outcome"] == IN_PROGRESS and same_dir(data["config_dir"], config_dir):
            out.append(Interrupted(n, data["summary"], data["time"]))
    return out, bad


def describe(entry: Interrupted, config_dir: str | Path, state_dir: str | Path) -> str:
    """What status and check say about it, with the command that undoes it."""
    sd = "" if str(config_dir) == "/etc/postfix" else f" --config-dir {config_dir}"
    if str(state_dir) != "/var/lib/pfwizard":
        sd += f" --state-dir {state_dir}"
    when = entry.time.replace("T", " ").replace("+00:00", " UTC")
    return (
        f"a change (journal entry {entry.id}, {entry.summary}, started {when}) "
        "was interrupted and may be half-applied; "
        f"run `sudo pfwizard{sd} restore` to undo it (files put back as they were "
        "before it, Postfix reloaded)"
    )
