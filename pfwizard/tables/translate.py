"""Translate the common subset of Postfix regexp (POSIX ERE) and pcre patterns to Python ``re``.

Python's ``re`` is neither POSIX ERE nor PCRE, so this never decides whether a pattern is valid
(Postfix does, see ``validate``).  It only translates patterns whose meaning it is sure of, and
raises :class:`Untranslatable` for everything else; the simulator then asks ``postmap`` instead.

What "sure" means here:
- Postfix runs in the C locale (it never calls setlocale), so glibc's regex works on bytes:
  we compile *bytes* patterns, ``IGNORECASE`` folds ASCII only, character classes are ASCII.
- regexp flags toggle: ``i`` (default on: case-insensitive), ``m`` (REG_NEWLINE), ``x`` (turns
  REG_EXTENDED *off*: basic syntax, which we do not translate).
- ERE has no ``\\d``: glibc (case-insensitive, as Postfix uses it) matches *nothing* with
  ``\\d`` and d or D with ``\\D``, so escaped letters other than GNU's ``\\w \\s \\b``... are left
  to Postfix; backslash is literal inside brackets; ``$`` is the very end (Python's ``$`` also
  matches before a final newline).
- Back-references, collating elements, equivalence classes, BRE, stacked quantifiers
  (Python 3.11 would read ``a*+`` as possessive), odd intervals and empty alternatives are left
  to Postfix.
- ``$1`` substitutions: POSIX picks the longest leftmost match and Python the first, which can
  capture different text when the pattern has alternation or a repeated group; such rules are
  left to Postfix too (``captures_safe``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pfwizard.tables.model import Pattern


class Untranslatable(Exception):
    """This pattern's meaning is left to Postfix (postmap)."""


@dataclass(frozen=True)
class Translated:
    regex: re.Pattern[bytes]
    groups: int
    captures_safe: bool
    """Group contents equal what Postfix captures (no alternation, no repeated group)."""
    literal: bytes
    """A substring every match must contain (lower case when matching ignores case); b""
    when none is known.  Used to skip patterns that cannot match a key."""
    icase: bool


_CLASSES = {
    "alpha": "A-Za-z",
    "digit": "0-9",
    "alnum": "A-Za-z0-9",
    "upper": "A-Z",
    "lower": "a-z",
    "space": " \t\n\v\f\r",
    "blank": " \t",
    "xdigit": "0-9A-Fa-f",
    "cntrl": "\x00-\x1f\x7f",
    "punct": "!-/:-@[-`{-~",
    "print": " -~",
    "graph": "!-~",
}
RE_DUP_MAX = 0x7FFF


def _class_bytes(spec: str) -> set[int]:
    out: set[int] = set()
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.update(range(ord(spec[i]), ord(spec[i + 2]) + 1))
            i += 3
        else:
            out.add(ord(spec[i]))
            i += 1
    return out


def _emit_set(chars: set[int], negate: bool) -> str:
    parts = []
    items = sorted(chars)
    i = 0
    while i < len(items):
        j = i
        while j + 1 < len(items) and items[j + 1] == items[j] + 1:
            j += 1
        parts.append(f"\\x{items[i]:02x}" if i == j else f"\\x{items[i]:02x}-\\x{items[j]:02x}")
        i = j + 1
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _lit(b: int) -> str:
    # Letters and digits as themselves (cheaper for re to compile), everything else escaped.
    if 0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A:
        return chr(b)
    return f"\\x{b:02x}"


class _Translator:
    def __init__(self, body: str, dialect: str, icase: bool, newline: bool) -> None:
        try:
            self.src = body.encode("utf-8", errors="surrogateescape")
        except UnicodeEncodeError as exc:  # pragma: no cover - surrogateescape round trips
            raise Untranslatable("undecodable pattern") from exc
        self.dialect = dialect
        self.icase = icase
        self.newline = newline
        self.i = 0
        self.out: list[str] = []
        self.groups = 0
        self.captures_safe = True
        # Literal runs at top level (outside groups/alternation), for the prefilter.
        self.runs: list[bytearray] = [bytearray()]
        self.depth = 0
        self.has_alt = False
        self.last_was_literal = False

    # -- helpers ---------------------------------------------------------------------------
    def peek(self, k: int = 0) -> int | None:
        j = self.i + k
        return self.src[j] if j < len(self.src) else None

    def fail(self, why: str) -> Untranslatable:
        return Untranslatable(why)

    def break_run(self) -> None:
        if self.runs[-1]:
            self.runs.append(bytearray())

    def add_literal(self, b: int, *, atom_state: list[str]) -> None:
        self.out.append(_lit(b))
        self.last_was_literal = True
        atom_state[0] = "atom"
        if self.depth == 0:
            self.runs[-1].append(b)

    # -- main loop -------------------------------------------------------------------------
    def run(self) -> str:
        state = ["start"]  # start | atom | quant | anchor | open | alt
        stack: list[int] = []
        while self.i < len(self.src):
            c = self.src[self.i]
            ch = chr(c)
            if ch not in "*+?{":
                self.last_was_literal = False
            if ch == "\\":
                self.escape(state)
            elif ch == "[":
                self.i += 1
                self.out.append(self.bracket())
                state[0] = "atom"
                self.break_run()
                continue
            elif ch == "(":
                if self.dialect == "pcre" and self.peek(1) == ord("?"):
                    if self.peek(2) != ord(":"):
                        raise self.fail("(? construct")
                    self.i += 2
                    self.out.append("(?:")
                else:
                    self.groups += 1
                    self.out.append("(")
                stack.append(len(self.out) - 1)
                self.depth += 1
                self.break_run()
                nxt = self.peek(1)
                if nxt is not None and chr(nxt) in "*+?{)|":
                    raise self.fail("empty or quantified start of group")
                state[0] = "open"
            elif ch == ")":
                if not stack:
                    raise self.fail("unmatched )")
                if state[0] in ("open", "alt"):
                    raise self.fail("empty group or alternative")
                stack.pop()
                self.depth -= 1
                self.out.append(")")
                state[0] = "group"
            elif ch == "|":
                if state[0] in ("start", "open", "alt"):
                    raise self.fail("empty alternative")
                self.has_alt = True
                self.out.append("|")
                self.break_run()
                if self.depth == 0:
                    self.runs = [bytearray()]  # top-level alternation: no required literal
                    self.depth_alt = True
                state[0] = "alt"
            elif ch in "*+?":
                self.quantifier(ch, state)
            elif ch == "{":
                self.interval(state)
                continue
            elif ch == "^":
                self.out.append("^")
                self.break_run()
                state[0] = "anchor"
            elif ch == "$":
                if self.dialect == "regexp" and not self.newline:
                    self.out.append(r"\Z")
                else:
                    self.out.append("$")
                self.break_run()
                state[0] = "anchor"
            elif ch == ".":
                self.out.append("." if self.dialect == "pcre" or not self.newline else r"[^\n]")
                self.break_run()
                state[0] = "atom"
            else:
                self.add_literal(c, atom_state=state)
            self.i += 1
        if stack:
            raise self.fail("unmatched (")
        if state[0] == "alt":
            raise self.fail("empty alternative at end")
        if getattr(self, "depth_alt", False):
            self.runs = [bytearray()]
        return "".join(self.out)

    def quantifier(self, ch: str, state: list[str]) -> None:
        if state[0] not in ("atom", "group"):
            raise self.fail("quantifier without operand, or stacked quantifiers")
        if state[0] == "group":
            self.captures_safe = False
        self._undo_run_for_quantifier()
        self.out.append(ch)
        state[0] = "quant"
        nxt = self.peek(1)
        if self.dialect == "pcre" and nxt == ord("?"):
            self.out.append("?")  # lazy: same meaning in Python
            self.i += 1

    def _undo_run_for_quantifier(self) -> None:
        # The last literal byte is optional or repeated: it is not a required run byte.
        if self.depth == 0 and self.runs[-1] and self.last_was_literal:
            last = self.runs[-1].pop()
            self.runs.append(bytearray())
            del last
        self.break_run()

    def interval(self, state: list[str]) -> None:
        m = re.match(rb"\{([0-9]*)(,?)([0-9]*)\}", self.src[self.i :])
        if not m or state[0] not in ("atom", "group"):
            raise self.fail("interval")
        lo_s, comma, hi_s = (g.decode() for g in m.groups())
        if self.dialect == "pcre" and not lo_s:
            raise self.fail("pcre interval without minimum")
        lo = int(lo_s) if lo_s else 0
        hi = int(hi_s) if hi_s else None
        if (not comma and hi is not None) or (not comma and not lo_s):
            raise self.fail("interval")
        if not comma:
            hi = lo
        if lo > RE_DUP_MAX or (hi is not None and (hi > RE_DUP_MAX or hi < lo)):
            raise self.fail("interval out of range")
        if state[0] == "group":
            self.captures_safe = False
        self._undo_run_for_quantifier()
        self.out.append(f"{{{lo},{'' if hi is None else hi}}}" if comma else f"{{{lo}}}")
        self.i += m.end()
        state[0] = "quant"
        if self.dialect == "pcre" and self.peek() == ord("?"):
            self.out.append("?")
            self.i += 1
        elif self.dialect == "pcre" and self.peek() == ord("+"):
            raise self.fail("possessive")

    def escape(self, state: list[str]) -> None:
        nxt = self.peek(1)
        if nxt is None:
            raise self.fail("trailing backslash")
        ch = chr(nxt)
        self.i += 1
        if ch.isdigit():
            raise self.fail("back-reference or octal escape")
        if self.dialect == "regexp":
            gnu = {
                "w": r"[0-9A-Za-z_]",
                "W": r"[^0-9A-Za-z_]",
                "s": r"[ \t\n\v\f\r]",
                "S": r"[^ \t\n\v\f\r]",
                "b": r"\b",
                "B": r"\B",
                "<": r"\b(?=[0-9A-Za-z_])",
                ">": r"\b(?<=[0-9A-Za-z_])",
                "`": r"\A",
                "'": r"\Z",
            }
            if ch in gnu:
                self.out.append(gnu[ch])
                self.break_run()
                state[0] = "atom" if ch in "wWsS" else "anchor"
                return
            if nxt >= 0x80 or ch.isalpha():
                # glibc with REG_ICASE: "\d" matches nothing at all, "\D" matches d or D.
                raise self.fail(f"escaped letter \\{ch}")
            # glibc ERE: an escaped punctuation character is itself.
            self.add_literal(nxt, atom_state=state)
            return
        pcre = {
            "d": r"[0-9]",
            "D": r"[^0-9]",
            "w": r"[0-9A-Za-z_]",
            "W": r"[^0-9A-Za-z_]",
            "s": r"[ \t\n\v\f\r]",
            "S": r"[^ \t\n\v\f\r]",
            "b": r"\b",
            "B": r"\B",
            "A": r"\A",
            "z": r"\Z",
        }
        if ch in pcre:
            self.out.append(pcre[ch])
            self.break_run()
            state[0] = "atom" if ch in "dDwWsS" else "anchor"
            return
        if ch.isalnum() or nxt >= 0x80:
            raise self.fail(f"pcre escape \\{ch}")
        self.add_literal(nxt, atom_state=state)

    def bracket(self) -> str:
        """Parse a bracket expression after '['; return a Python class of explicit bytes."""
        negate = False
        if self.peek() == ord("^"):
            negate = True
            self.i += 1
        chars: set[int] = set()
        first = True
        prev: int | None = None  # last single char (range start candidate)
        while True:
            c = self.peek()
            if c is None:
                raise self.fail("unmatched [")
            ch = chr(c)
            if ch == "]" and not first:
                self.i += 1
                break
            first = False
            if ch == "[" and self.peek(1) in (ord(":"), ord("."), ord("=")):
                kind = chr(self.src[self.i + 1])
                end = self.src.find((kind + "]").encode(), self.i + 2)
                if kind != ":" or end < 0:
                    raise self.fail("collating element or equivalence class")
                name = self.src[self.i + 2 : end].decode("ascii", "replace")
                if name not in _CLASSES:
                    raise self.fail("unknown character class")
                chars |= _class_bytes(_CLASSES[name])
                self.i = end + 2
                prev = None
                continue
            if ch == "\\" and self.dialect == "pcre":
                e = self.peek(1)
                if e is None:
                    raise self.fail("trailing backslash")
                ech = chr(e)
                cls = {"d": "0-9", "w": "0-9A-Za-z_", "s": " \t\n\v\f\r"}
                if ech in cls:
                    chars |= _class_bytes(cls[ech])
                    self.i += 2
                    prev = None
                    continue
                if ech.isalnum() or e >= 0x80:
                    raise self.fail("pcre escape in class")
                c = e
                self.i += 1
            if self.peek(1) == ord("-") and self.peek(2) is not None and self.peek(2) != ord("]"):
                lo = c
                hi = self.src[self.i + 2]
                if hi == ord("[") or (self.dialect == "pcre" and hi == ord("\\")):
                    raise self.fail("complex range end")
                if hi < lo:
                    raise self.fail("invalid range")
                rng = set(range(lo, hi + 1))
                if self.icase and not _same_case_range(lo, hi):
                    raise self.fail("case-insensitive range across letter kinds")
                chars |= rng
                self.i += 3
                prev = None
                continue
            chars.add(c)
            prev = c
            self.i += 1
        del prev
        if negate and self.newline and self.dialect == "regexp":
            chars.add(0x0A)  # REG_NEWLINE: a non-matching list does not match newline
        if not chars:
            raise self.fail("empty class")
        return _emit_set(chars, negate)


def _same_case_range(lo: int, hi: int) -> bool:
    letters = set(range(0x41, 0x5B)) | set(range(0x61, 0x7B))
    rng = set(range(lo, hi + 1))
    if not (rng & letters):
        return True
    return rng <= set(range(0x41, 0x5B)) or rng <= set(range(0x61, 0x7B))


def _toggled(flags: str, flag: str, default: bool) -> bool:
    return default ^ (flags.count(flag) % 2 == 1)


def translate(pattern: Pattern, dialect: str) -> Translated:
    """Translate one Postfix pattern; raise Untranslatable when only Postfix can tell."""
    flags = pattern.flags
    if dialect == "regexp":
        if _toggled(flags, "x", True) is False:
            raise Untranslatable("basic (non-extended) regular expression")
        icase = _toggled(flags, "i", True)
        newline = _toggled(flags, "m", False)
        dotall = not newline
    else:
        if set(flags) - set("ims"):
            raise Untranslatable(f"pcre flags {flags}")
        icase = _toggled(flags, "i", True)
        newline = _toggled(flags, "m", False)
        dotall = _toggled(flags, "s", True)
    tr = _Translator(pattern.body, dialect, icase, newline)
    source = tr.run()
    reflags = 0
    if icase:
        reflags |= re.IGNORECASE
    if dotall:
        reflags |= re.DOTALL
    if newline:
        reflags |= re.MULTILINE
    try:
        regex = re.compile(source.encode("ascii"), reflags)
    except (re.error, RecursionError, OverflowError) as exc:
        raise Untranslatable(f"python: {exc}") from exc
    runs = [bytes(r) for r in tr.runs if r]
    literal = max(runs, key=len, default=b"")
    if icase:
        literal = literal.lower()
    return Translated(regex, tr.groups, tr.captures_safe and not tr.has_alt, literal, icase)
