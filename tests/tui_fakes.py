"""A stand-in apply engine for UI tests: records calls, reports steps like the real one."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Step:
    step: str
    status: str
    detail: str = ""


@dataclass
class Result:
    ok: bool
    entry_id: str | None = "20261122-0001"
    error: str = ""
    postfix_output: str = ""
    steps: list[Step] = field(default_factory=list)
    refused: bool = False


@dataclass
class Entry:
    id: str
    summary: str
    outcome: str = "applied"
    time: str = "2026-11-22T04:00:00"
    diff: str = "--- main.cf\n+++ main.cf\n@@ -1 +1 @@\n-a = 1\n+a = 2\n"


class FakeEngine:
    def __init__(self, real: Any, ok: bool = True) -> None:
        self.real = real
        self.ok = ok
        self.applied: list[Any] = []
        self.confirmed: list[str] = []
        self.rolled_back: list[str] = []
        self.entries = [
            Entry("20261121-0001", "wizard: smtpd_helo_required"),
            Entry("20261122-0001", "wizard: smtpd_sender_restrictions"),
        ]

    def plan(self, cs: Any) -> Any:
        return self.real.plan(cs)

    def apply(self, plan: Any, progress: Any = None, confirm_within: Any = None) -> Result:
        self.applied.append((plan, confirm_within))
        steps = [
            Step("backup", "ok", "2 files"),
            Step("write", "ok"),
            Step("postfix check", "ok" if self.ok else "failed", "" if self.ok else "fatal: bad"),
            Step("reload", "ok" if self.ok else "skipped"),
        ]
        for s in steps:
            if progress:
                progress(s)
        if self.ok:
            return Result(
                True,
                steps=steps,
                postfix_output="postfix/postfix-script: refreshing the Postfix mail system",
            )
        return Result(
            False,
            entry_id="20261122-0002",
            error="postfix check failed; restored main.cf and 1 table",
            postfix_output="fatal: bad",
            steps=steps,
        )

    def confirm(self, entry_id: str) -> None:
        self.confirmed.append(entry_id)

    def history(self) -> list[Entry]:
        return list(self.entries)

    def history_scan(self) -> tuple[list[Entry], list[tuple[str, str]]]:
        return list(self.entries), []

    def diff(self, entry_id: str) -> str | None:
        return next((e.diff for e in self.entries if e.id == entry_id), None)

    def rollback_plan(self, entry_id: str) -> Any:
        from types import SimpleNamespace

        files = [
            SimpleNamespace(path="/etc/postfix/main.cf", role="main.cf", changes=True),
            SimpleNamespace(
                path="/var/lib/pfwizard/customizations.yaml", role="intent", changes=True
            ),
        ]
        return SimpleNamespace(files=files)

    def rollback(self, entry_id: str) -> Result:
        self.rolled_back.append(entry_id)
        return Result(True, entry_id="20261122-0003")
