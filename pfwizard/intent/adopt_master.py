"""Adopting hand-made master.cf options that a MiaB setup run commented out (before pfwizard).

MiaB's setup compares each service it manages (``submission``, ``smtps``, ``authclean``) with
its own entry, whole; any difference and it comments out the admin's entry line by line
(``#`` in front of each) and writes its own entry next to it. The admin's ``-o`` options are
then still in the file, commented out::

    submission inet n       -       -       -       -       smtpd      <- MiaB's entry
    \t  -o smtpd_sasl_auth_enable=yes
    #submission inet n       -       -       -       -       smtpd     <- the admin's, commented
    #\t  -o smtpd_sasl_auth_enable=yes
    #  -o smtpd_client_restrictions=permit_sasl_authenticated,reject  <- the admin's own option

``find_service_adoptions`` reads them back as ``services:`` intent (``service/type/option``).
What counts as the admin's entry and option:
- a commented-out entry of a service that is active, with at least one line that is exactly a
  line of the active entry with ``#`` in front (it is an older copy of that entry; Postfix's
  own commented examples, ``#submission inet n - y - - smtpd`` and ``#  -o ...``, are written
  another way and never match);
- its commented ``-o`` lines, up to the first option named twice (Postfix's examples that
  follow in the stock file repeat ``syslog_name``);
- an option whose value differs from the active entry's, on a line not written in MiaB's own
  layout (the indent of the active entry's ``-o`` lines): a line in MiaB's layout is MiaB's
  older value, as ``#name=value`` is in main.cf, never taken for the admin's.
Options the admin's entry lacks, and the entry's columns (chroot, maxproc...), are not read.
A block under pfwizard's adoption note was adopted already and is never proposed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from pfwizard.intent.adopt import ADOPTED_NOTE, under_note
from pfwizard.kept_lines import KeptLines
from pfwizard.maincf import LineKind, PhysicalLine
from pfwizard.mastercf import MIN_FIELDS, MasterCf, Service, make_key

_WS = " \t\n\v\f\r"


@dataclass(frozen=True)
class ServiceAdoption:
    """A hand-made master.cf option a MiaB setup run commented out, to take back."""

    key: str
    """``service/type/option``, as ``postconf -P`` names it."""
    value: str
    """The admin's value, as found commented out."""
    miab_value: str | None
    """The active entry's value now (None: MiaB's entry does not set it)."""
    line: int
    """1-based line of the commented ``-o`` option."""
    block: tuple[int, ...]
    """1-based lines of the whole commented-out entry (kept as comments once adopted)."""
    texts: tuple[str, ...]

    def describe(self) -> str:
        now = (
            "MiaB's entry does not set it"
            if self.miab_value is None
            else f"MiaB's entry sets {self.miab_value!r}"
        )
        return (
            f"master.cf {self.key}: your value {self.value!r} (commented out on line "
            f"{self.line}; {now})"
        )

    @property
    def why(self) -> str:
        return f"adopted from master.cf line {self.line} (your value before a MiaB setup run)"

    def kept(self, note: str) -> KeptLines:
        """The commented-out entry kept as it is, under ``note``."""
        return KeptLines("master.cf", self.block, self.texts, note)


def _options(text: str) -> Iterator[tuple[str, str]]:
    """``-o name=value`` and ``-oname=value`` words of one (uncommented) line."""
    words = text.split()
    i = 0
    while i < len(words):
        word = words[i]
        pair = None
        if word == "-o" and i + 1 < len(words):
            pair, i = words[i + 1], i + 1
        elif word.startswith("-o") and len(word) > 2:
            pair = word[2:]
        i += 1
        if pair is None or "{" in pair:
            continue
        name, eq, value = pair.partition("=")
        if eq and name:
            yield name, value


def _option_indent(lines: list[PhysicalLine], svc: Service) -> str | None:
    """How the active entry indents its ``-o`` lines (MiaB: a tab and two blanks)."""
    for i in range(svc.index + 1, svc.last_index + 1):
        text = lines[i].text
        stripped = text.lstrip(_WS)
        if lines[i].kind is LineKind.CONTINUATION and stripped.startswith("-o"):
            return text[: len(text) - len(stripped)]
    return None


def _is_header_of(line: PhysicalLine, svc: Service) -> bool:
    text = line.text
    if not text.startswith("#") or text[1:2] in ("", " ", "\t"):
        return False
    words = text[1:].split()
    return len(words) >= MIN_FIELDS and words[0] == svc.name and words[1] == svc.type


def _commented_body(line: PhysicalLine) -> bool:
    return (
        line.text.startswith("#")
        and line.text[1:2] in (" ", "\t")
        and not line.text.startswith(ADOPTED_NOTE)
    )


def _block_end(lines: list[PhysicalLine], start: int) -> int:
    """Index after the commented entry starting at ``start``: its commented continuation
    lines, up to the first option named a second time."""
    seen: set[str] = set()
    j = start + 1
    while j < len(lines) and _commented_body(lines[j]):
        names = [name for name, _ in _options(lines[j].text[1:])]
        if any(n in seen for n in names):
            break
        seen.update(names)
        j += 1
    return j


def _headers(lines: list[PhysicalLine]) -> dict[tuple[str, str], list[int]]:
    """Commented lines that look like an entry's first line, by (service, type): found in one
    pass, so a master.cf of thousands of entries is not read once per entry."""
    out: dict[tuple[str, str], list[int]] = {}
    for i, line in enumerate(lines):
        text = line.text
        if not text.startswith("#") or text[1:2] in ("", " ", "\t"):
            continue
        words = text[1:].split()
        if len(words) >= MIN_FIELDS:
            out.setdefault((words[0], words[1]), []).append(i)
    return out


def _adoptions_of(
    lines: list[PhysicalLine],
    svc: Service,
    skip: set[str] | frozenset[str],
    headers: dict[tuple[str, str], list[int]] | None = None,
) -> list[ServiceAdoption]:
    active = {
        "#" + lines[i].text
        for i in range(svc.index, svc.last_index + 1)
        if lines[i].kind is not LineKind.COMMENT
    }
    indent = _option_indent(lines, svc)
    out: list[ServiceAdoption] = []
    candidates = headers.get((svc.name, svc.type), []) if headers is not None else range(len(lines))
    for i in candidates:
        line = lines[i]
        if not _is_header_of(line, svc) or under_note(lines, i):
            continue
        end = _block_end(lines, i)
        block = range(i, end)
        if not any(lines[k].text in active for k in block):
            continue  # not a copy of this entry: Postfix's example, or someone else's text
        texts = tuple(lines[k].text for k in block)
        numbers = tuple(k + 1 for k in block)
        for k in range(i, end):
            body = lines[k].text[1:]
            if k > i and indent is not None and body.startswith(indent + "-"):
                continue  # MiaB's own layout: its older value, not the admin's
            for name, value in _options(body):
                key = make_key(svc.name, svc.type, name)
                now = svc.option(name)
                if key in skip or value == now or any(a.key == key for a in out):
                    continue
                out.append(ServiceAdoption(key, value, now, k + 1, numbers, texts))
    return out


def find_service_adoptions(
    master: MasterCf, skip: set[str] | frozenset[str] = frozenset()
) -> list[ServiceAdoption]:
    """master.cf options made by hand that MiaB's setup commented out, not yet recorded
    (``skip``: the ``services:`` keys customizations.yaml holds)."""
    lines = master.lines
    found: list[ServiceAdoption] = []
    headers = _headers(lines)
    for svc in master.services():
        found.extend(_adoptions_of(lines, svc, skip, headers))
    return found
