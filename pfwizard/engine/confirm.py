"""Confirm or revert, like a router's "commit confirmed": a watcher that outlives the SSH session.

After an apply with ``confirm_within``, a detached watcher (double fork, its own session,
SIGHUP ignored, cwd /) sleeps until the deadline, then rolls the change back unless
``pfwizard rollback --confirm ID`` came first.  Nothing ties it to the admin's terminal, so
a dropped connection cannot kill it.  If the watcher itself dies (reboot), the next pfwizard
that starts reverts the overdue change (``Engine.recover``).

The watcher is ``python -m pfwizard.engine.watcher``, started by ``spawn_watcher``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pfwizard.engine.engine import Engine


def spawn_watcher(engine: Engine, entry_id: str, deadline: float) -> None:
    pkg_parent = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (pkg_parent, env.get("PYTHONPATH")) if p)
    argv = [
        sys.executable,
        "-m",
        "pfwizard.engine.watcher",
        "--config-dir",
        str(engine.config_dir),
        "--state-dir",
        str(engine.state_dir),
        "--entry",
        entry_id,
        "--deadline",
        repr(deadline),
        "--timeout",
        repr(engine.timeout),
    ]
    if not engine.reload:
        argv.append("--no-reload")
    log = engine.journal.entry_dir(entry_id) / "watcher.log"
    with open(log, "ab") as out:
        # The first child forks the real watcher and exits at once (reaped here).
        subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            cwd="/",
            start_new_session=True,
            check=True,
            timeout=30,
        )
