"""Lines of main.cf or master.cf kept as comments under a note, instead of being deleted.

When pfwizard takes over something the admin wrote by hand (``restore --adopt``), the lines
that held it are history the admin may want to read again: they stay in the file, commented
out, with a note above them saying where the setting lives now. A line that is already a
comment stays as it is; any other gets ``#`` in front (Postfix then skips it, in main.cf and
master.cf alike).
"""

from __future__ import annotations

from dataclasses import dataclass

from pfwizard.errors import ValueRefused
from pfwizard.maincf import LineKind, PhysicalLine, _split_physical

_CONFIG_FILES = ("main.cf", "master.cf")


@dataclass(frozen=True)
class KeptLines:
    """Physical lines of one file to keep as comments, under ``note``."""

    file: str
    """``main.cf`` or ``master.cf``."""
    lines: tuple[int, ...]
    """1-based line numbers, as read when the change was planned."""
    texts: tuple[str, ...]
    """The lines' text as read then: the edit is refused if the file moved meanwhile."""
    note: str
    """One comment line (starting with ``#``) that goes right above the first line."""

    def __post_init__(self) -> None:
        if self.file not in _CONFIG_FILES:
            raise ValueRefused(f"lines can only be kept as comments in {_CONFIG_FILES}")
        if not self.lines or len(self.lines) != len(self.texts):
            raise ValueRefused("lines to keep as comments need their texts")
        if not self.note.startswith("#") or any(c in self.note for c in "\r\n"):
            raise ValueRefused("the note above kept lines must be one comment line")


def keep_as_comments(data: bytes, kept: list[KeptLines], path: str) -> bytes:
    """``data`` with each group of lines commented out under its note; nothing else moves."""
    if not kept:
        return data
    text = data.decode("utf-8", errors="surrogateescape")
    lines = _split_physical(text)
    eol = next((ln.eol for ln in lines if ln.eol), "\n")
    for k in kept:
        for n, want in zip(k.lines, k.texts, strict=True):
            if not 1 <= n <= len(lines) or lines[n - 1].text != want:
                raise ValueRefused(
                    f"{path} line {n} changed since pfwizard read it (expected {want!r}); run again"
                )
    # Bottom up, so the notes inserted below do not shift the lines above them.
    for k in sorted(kept, key=lambda k: min(k.lines), reverse=True):
        for n in k.lines:
            line = lines[n - 1]
            if line.kind is not LineKind.COMMENT:
                line.text = "#" + line.text
        first = min(k.lines) - 1
        lines.insert(first, PhysicalLine(k.note, eol))
    return "".join(ln.text + ln.eol for ln in lines).encode("utf-8", errors="surrogateescape")
