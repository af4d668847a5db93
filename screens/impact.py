"""The impact preview behind Review's ``I``: the change replayed against this box's recent
mail (``pfwizard.impact``), run in a worker thread so the screen stays alive; leaving the
screen stops it (the preview cleans up its private Postfix copies itself)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pfwizard.impact import logscan
from pfwizard.impact.preview import preview
from pfwizard.impact.report import render

MAIL_LOG = Path("/var/log/mail.log")


def unavailable(session: Any) -> str | None:
    """Why the preview cannot run here (None: it can)."""
    if session.demo:
        return "The impact preview needs a real box: its mail log and its Postfix."
    if os.geteuid() != 0:
        return "The impact preview runs private copies of Postfix: run pfwizard with sudo."
    return None


def run(
    session: Any, plan: Any, progress: Callable[[str], None], stop: threading.Event
) -> list[str]:
    """The report's lines: the last week of the mail log (or the journal, without one)."""
    log = str(MAIL_LOG) if MAIL_LOG.exists() else None
    progress(f"Reading the last {logscan.DAYS} days of {log or 'the systemd journal'}...")
    scan = logscan.extract(log, journal=log is None)

    def tick(done: int, total: int) -> None:
        if total and (done % 200 == 0 or done == total):
            progress(
                f"Replaying {len(scan.envelopes)} envelopes on two private copies of "
                f"Postfix: {done * 100 // total}%"
            )

    rep = preview("this change", session.config_dir, plan, scan.envelopes, progress=tick, stop=stop)
    return render(rep)
