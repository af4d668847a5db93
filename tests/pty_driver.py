"""Drive the installed ``pfwizard`` console script in a real pty (pexpect), like an admin
over SSH: 80x24, a given TERM, plain keys.  What the admin sees comes from a tiny screen
model (cursor positioning and text; styles ignored): Textual redraws parts of lines, so the
raw output alone does not keep a line's words together."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import time
from pathlib import Path

import pexpect

ROOT = Path(__file__).resolve().parent.parent
_TOKEN = re.compile(
    r"\x1b\[([0-?]*)[ -/]*([@-~])|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b[()][0-9A-Za-z]|\x1b[=>78cMDE]|\x1bO[A-Za-z]|([\x00-\x1f])|([^\x00-\x1f\x1b]+)"
)


class Screen:
    """24x80 cells; understands what Textual sends: CUP, erase, text (styles ignored)."""

    def __init__(self, rows: int = 24, cols: int = 80) -> None:
        self.rows, self.cols = rows, cols
        self.grid = [[" "] * cols for _ in range(rows)]
        self.y = self.x = 0

    def feed(self, data: str) -> None:
        for m in _TOKEN.finditer(data):
            params, final, ctrl, text = m.group(1), m.group(2), m.group(3), m.group(4)
            if text:
                for ch in text:
                    if self.x >= self.cols:
                        continue
                    if 0 <= self.y < self.rows:
                        self.grid[self.y][self.x] = ch
                    self.x += 1
            elif ctrl:
                if ctrl == "\r":
                    self.x = 0
                elif ctrl == "\n":
                    self.y = min(self.rows - 1, self.y + 1)
                elif ctrl == "\b":
                    self.x = max(0, self.x - 1)
            elif final:
                nums = [int(n) if n.isdigit() else 0 for n in (params or "").split(";")]
                if final in "Hf":
                    row = nums[0] if nums and nums[0] else 1
                    col = nums[1] if len(nums) > 1 and nums[1] else 1
                    self.y, self.x = row - 1, col - 1
                elif final == "J" and nums and nums[0] == 2:
                    self.grid = [[" "] * self.cols for _ in range(self.rows)]
                elif final == "K":
                    for c in range(self.x, self.cols):
                        self.grid[self.y][c] = " "
                elif final == "C":
                    self.x += nums[0] or 1
                elif final == "D":
                    self.x = max(0, self.x - (nums[0] or 1))
                elif final == "A":
                    self.y = max(0, self.y - (nums[0] or 1))
                elif final == "B":
                    self.y = min(self.rows - 1, self.y + (nums[0] or 1))
                elif final == "G":
                    self.x = (nums[0] or 1) - 1

    def text(self) -> str:
        return "\n".join("".join(row).rstrip() for row in self.grid)


# F2 as each terminal sends it.
F2 = {"xterm-256color": "\x1bOQ", "linux": "\x1b[[B"}


def pfwizard_script() -> str | None:
    """The console script from the worktree's venv (COMMON.md), else the one installed with
    the running Python, else one on PATH (a pyenv shim there would add its own start-up)."""
    for candidate in (
        ROOT / ".venv" / "bin" / "pfwizard",
        Path(sys.executable).parent / "pfwizard",
    ):
        if candidate.exists():
            return str(candidate)
    return shutil.which("pfwizard")


class Terminal:
    def __init__(
        self,
        args: list[str],
        term: str = "xterm-256color",
        env: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> None:
        script = pfwizard_script()
        assert script, "pfwizard console script not installed"
        full_env = dict(os.environ, TERM=term, COLUMNS="80", LINES="24")
        full_env.pop("NO_COLOR", None)
        full_env.update(env or {})
        self.term = term
        self.child = pexpect.spawn(
            script,
            args,
            dimensions=(24, 80),
            env=full_env,
            encoding="utf-8",
            codec_errors="replace",
            timeout=timeout,
        )
        self.screen = Screen()

    def text(self) -> str:
        return self.screen.text()

    def _read(self, wait: float) -> None:
        with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
            self.screen.feed(self.child.read_nonblocking(65536, timeout=wait))

    def wait_for(self, *needles: str, timeout: float = 30) -> str:
        """Wait until every needle is on the screen; returns the screen's text."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.text()
            if all(n in screen for n in needles):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"not on screen after {timeout}s: {needles!r}\n--- screen ---\n{screen}"
                )
            if not self.child.isalive():
                self._read(0.1)
                if not all(n in self.text() for n in needles):
                    raise AssertionError(f"pfwizard exited; wanted {needles!r}:\n{self.text()}")
            self._read(0.05)

    def press(self, *keys: str) -> None:
        for k in keys:
            self.child.send(F2[self.term] if k == "f2" else k)
            time.sleep(0.03)

    def type(self, text: str) -> None:
        for ch in text:
            self.child.send(ch)
            time.sleep(0.005)

    def finish(self, timeout: float = 20) -> int:
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)

    def kill(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
