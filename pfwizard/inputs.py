"""Reading files pfwizard did not write, safely: nothing an admin (or an attacker who can
place a file) hands pfwizard may hang it, exhaust its memory or end in a traceback.

Every file read here must be a regular file: a FIFO would block the read for ever, a device
such as ``/dev/zero`` never ends, a socket or directory is not a file at all. The check runs
on ``stat`` before the file is opened (opening some devices has side effects), and again on
the open descriptor (the path may have been swapped in between); the open itself uses
``O_NONBLOCK``, so even a FIFO slipped in at that moment cannot block it. Symlinks are
followed: ``main.cf`` may legitimately be a link on some boxes.

The limits below are far beyond anything a real Mail-in-a-Box server holds (its main.cf is
about 5 KB, customizations.yaml a few KB); they are documented in the README ("Limits"):

==========================================  =========================================
customizations.yaml, a profile              1 MiB; 5,000 lines of YAML structure
                                            (a table's ``content: |`` text not counted);
                                            nested at most 20 levels; 2,000 operations
main.cf, master.cf                          4 MiB; a physical line at most 64 KiB
an access table's source file               64 MiB
a table path (in main.cf or a profile)      1,024 bytes, 255 per path component, no
                                            control characters
a mail log (``explain --log``)              any size, a regular file or ``-`` (standard
                                            input); a line over 1 MiB is skipped
==========================================  =========================================
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from pfwizard.errors import ConfigError

KIB = 1024
MIB = 1024 * KIB

MAX_YAML_BYTES = 1 * MIB
"""customizations.yaml or a profile."""
MAX_YAML_LINES = 5000
"""Lines of YAML structure (keys, list items, values; not comments, not the text of a
``|`` block such as a table's content): the YAML reader needs ~0.15 ms per line."""
MAX_YAML_DEPTH = 20
"""Nesting levels; customizations.yaml itself needs 6."""
MAX_OPERATIONS = 2000
"""Operations in one file, all lists together (a busy box records a few dozen)."""
MAX_CONFIG_BYTES = 4 * MIB
"""main.cf or master.cf."""
MAX_LINE_CHARS = 64 * KIB
"""A physical line of main.cf or master.cf."""
MAX_TABLE_BYTES = 64 * MIB
"""An access table's source file."""
MAX_PATH_BYTES = 1024
MAX_NAME_BYTES = 255
"""A table path, and each of its components (Linux's own limits are 4096 and 255)."""

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


def _size_words(n: int) -> str:
    return f"{n // MIB} MiB" if n >= MIB and n % MIB == 0 else f"{n // KIB} KiB"


def read_bytes(path: str | Path, limit: int, *, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes.

    ConfigError (naming the file) for anything else: missing, unreadable, not a regular
    file, too big. FileNotFoundError is kept as the ConfigError's ``__cause__``, so callers
    for whom a missing file is normal use ``read_bytes_or_none``."""
    name = str(path)
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise _cannot(name, exc) from exc
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(
            name,
            None,
            f"is {kind_of(st.st_mode)}, not a regular file: refusing to read it as a {what}",
        )
    if st.st_size > limit:
        raise _too_big(name, what, limit)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        raise _cannot(name, exc) from exc
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped since the stat above
            raise ConfigError(
                name,
                None,
                f"is {kind_of(st.st_mode)}, not a regular file: refusing to read it as a {what}",
            )
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(limit + 1 - total, 1 * MIB))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # grew since the stat
                raise _too_big(name, what, limit)
        return b"".join(chunks)
    except OSError as exc:
        raise _cannot(name, exc) from exc
    finally:
        os.close(fd)


def read_bytes_or_none(path: str | Path, limit: int, *, what: str = "file") -> bytes | None:
    """Like ``read_bytes``, but a file that does not exist is None."""
    try:
        return read_bytes(path, limit, what=what)
    except ConfigError as exc:
        if isinstance(exc.__cause__, FileNotFoundError):
            return None
        raise


def _cannot(name: str, exc: Exception) -> ConfigError:
    if isinstance(exc, ValueError):  # "embedded null byte"
        return ConfigError(repr(name), None, "cannot read: the path contains a NUL byte")
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return ConfigError(name, None, f"cannot read: {reason}")


def _too_big(name: str, what: str, limit: int) -> ConfigError:
    return ConfigError(
        name,
        None,
        f"larger than {_size_words(limit)}: refusing to read it "
        f"as a {what} (see Limits in pfwizard's README)",
    )


def read_text(path: str | Path, limit: int, *, what: str = "file") -> str:
    """``read_bytes`` decoded as UTF-8; a stray byte that is not survives as a surrogate
    (written back unchanged)."""
    return read_bytes(path, limit, what=what).decode("utf-8", errors="surrogateescape")


def open_log(path: str | Path) -> int:
    """A descriptor on a mail log, refused unless it is a regular file (a FIFO or
    ``/dev/zero`` would hang the reader: pipe a log through ``--log -`` instead)."""
    name = str(path)
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        raise _cannot(name, exc) from exc
    refusal = (
        f"is {kind_of(st.st_mode)}, not a regular file: to read a pipe, "
        f"give it on standard input with --log -"
    )
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(name, None, refusal)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        raise _cannot(name, exc) from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise ConfigError(name, None, refusal)
    os.set_blocking(fd, True)
    return fd


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a table file (None: it can): control characters, or longer
    than Linux allows (which would make every lookup of it fail with an error)."""
    bad = _CONTROL_RE.search(path)
    if bad:
        return f"control character {bad.group()!r} in the path"
    raw = path.encode("utf-8", "surrogateescape")
    if len(raw) > MAX_PATH_BYTES:
        return f"the path is longer than {MAX_PATH_BYTES} bytes"
    if any(len(part) > MAX_NAME_BYTES for part in raw.split(b"/")):
        return f"a part of the path is longer than {MAX_NAME_BYTES} bytes"
    return None


_BLOCK_RE = re.compile(r"[|>][-+0-9]*\s*(#.*)?\Z")


def yaml_shape_problem(text: str) -> tuple[int | None, str] | None:
    """(line, why) when a YAML text is too big in structure for the YAML reader to get
    through quickly, or nested too deeply; None when it may be parsed.

    A cheap line scan, before the (slow, recursive) YAML reader sees the text: it counts
    lines of structure and nesting by indentation and by ``[``/``{`` brackets, skipping
    comments and the text of ``|``/``>`` blocks. It over-counts rather than under-counts."""
    structure = 0
    flow = 0
    indents: list[int] = []
    block_indent: int | None = None  # inside a |/> block: lines indented deeper than this
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        if block_indent is not None:
            if not stripped.strip() or indent > block_indent:
                continue
            block_indent = None
        if not stripped.strip() or stripped.startswith("#"):
            continue
        structure += 1
        if structure > MAX_YAML_LINES:
            return lineno, (
                f"more than {MAX_YAML_LINES} lines of YAML structure "
                f"(see Limits in pfwizard's README)"
            )
        # A list item ("- a: b") nests one level deeper than its dash.
        item_depth = 0
        rest = stripped
        while rest.startswith("- ") or rest == "-":
            item_depth += 1
            rest = rest[2:].lstrip(" ")
        while indents and indents[-1] > indent:
            indents.pop()
        if not indents or indents[-1] < indent:
            indents.append(indent)
        depth = len(indents) + item_depth
        for c in rest:
            if c in "[{":
                flow += 1
                if depth + flow > MAX_YAML_DEPTH:
                    break
            elif c in "]}":
                flow = max(0, flow - 1)
        if depth + flow > MAX_YAML_DEPTH:
            return lineno, f"nested more than {MAX_YAML_DEPTH} levels deep"
        if _BLOCK_RE.search(rest) and flow == 0:
            block_indent = indent
    return None
