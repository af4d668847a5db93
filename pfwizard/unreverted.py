"""Changes applied with confirm-or-revert, not confirmed in time, that are still in force
because the revert was refused (it would have put back an open relay, or anything else no
admin may accept).

The watcher that tried is a detached process: its words go to ``watcher.log``, which nobody
reads. ``status`` reads the journal instead (read-only, like ``journalcheck.interrupted``):
the change still waiting for a confirmation, and the refused revert's own entry with its
reason.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pfwizard import journalcheck, statedir
from pfwizard.errors import PfwizardError

PENDING_CONFIRM = "pending-confirm"
REFUSED = "refused"


@dataclass(frozen=True)
class RevertRefused:
    """A confirm-or-revert change whose automatic rollback was refused: it is still in force."""

    entry: str
    """The change still in force (its journal entry)."""
    summary: str
    revert_entry: str
    """The refused revert's journal entry."""
    time: str
    """When the revert was refused."""
    reason: str
    """Why, on one line (the engine's refusal)."""

    def describe(self) -> str:
        when = self.time.replace("T", " ").replace("+00:00", " UTC")
        return (
            f"change {self.entry} ({self.summary}) was not confirmed in time, and its "
            f"automatic rollback was REFUSED at {when} (journal entry "
            f"{self.revert_entry}): {self.reason}; the change is still in force: "
            f"`pfwizard rollback --confirm {self.entry}` keeps it, or fix what the "
            f"reason names and roll it back yourself"
        )


def _entries(state_dir: Path) -> list[dict[str, Any]]:
    """The finished entries that can matter here, oldest first (the others are skipped
    unread: a journal of hundreds of entries costs ``status`` nothing)."""
    root = state_dir / "journal"
    try:
        names = sorted((n for n in os.listdir(root) if n.isdigit()), key=int)
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for n in names:
        try:
            raw = statedir.read_private(state_dir, "journal", n, "entry.json")
            if b'"pending-confirm"' not in raw and b'"refused"' not in raw:
                continue
            out.append(journalcheck.parse(raw, n, state_dir))
        except (OSError, PfwizardError):
            continue  # unreadable: `rollback --list` names it
    return out


def refused_reverts(
    config_dir: str | Path, state_dir: str | Path, now: float | None = None
) -> list[RevertRefused]:
    """Changes of ``config_dir`` whose deadline passed and whose revert was refused (the
    latest refusal of each)."""
    now = time.time() if now is None else now
    entries = _entries(Path(state_dir))
    refusals = {
        e["rollback_of"]: e
        for e in entries
        if e["kind"] == "revert" and e["outcome"] == REFUSED and e.get("rollback_of")
    }
    out = []
    for e in entries:
        deadline = e.get("confirm_deadline")
        if (
            e["outcome"] != PENDING_CONFIRM
            or deadline is None
            or deadline > now
            or not journalcheck.same_dir(e["config_dir"], config_dir)
        ):
            continue
        refused = refusals.get(e["id"])
        if refused is None:
            continue  # not tried yet: the watcher (or the next pfwizard start) reverts it
        reason = (
            " ".join(
                ln.strip() for ln in str(refused.get("error") or "").splitlines() if ln.strip()
            )
            or "refused"
        )
        out.append(RevertRefused(e["id"], e["summary"], refused["id"], refused["time"], reason))
    return out
