"""The confirm-or-revert watcher process (see ``pfwizard.engine.confirm``).

Started detached by ``spawn_watcher``: forks once more so it is re-parented to init, ignores
SIGHUP, sleeps until the deadline, then rolls the change back unless it was confirmed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="pfwizard-confirm-watcher")
    ap.add_argument("--config-dir", required=True)
    ap.add_argument("--state-dir", required=True)
    ap.add_argument("--entry", required=True)
    ap.add_argument("--deadline", type=float, required=True)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--no-reload", action="store_true")
    args = ap.parse_args(argv)
    if os.fork():
        os._exit(0)  # the spawner's child returns; the grandchild is re-parented to init
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    print(f"watcher pid {os.getpid()}: entry {args.entry} reverts at {args.deadline}", flush=True)
    while (left := args.deadline - time.time()) > 0:
        time.sleep(min(left, 5.0))
    from pfwizard.engine.engine import Engine
    from pfwizard.errors import PfwizardError

    # The default gate, as on every path that writes: a revert that would put back an open
    # relay (or anything else no admin may accept) is refused, and the change stays.
    engine = Engine(
        Path(args.config_dir), Path(args.state_dir), reload=not args.no_reload, timeout=args.timeout
    )
    try:
        res = engine.revert_unconfirmed(args.entry)
    except PfwizardError as exc:  # a corrupt or unsafe journal entry, the lock...
        print(f"entry {args.entry} not rolled back: {exc}", flush=True)
        return 1
    if res is None:
        print(f"entry {args.entry} confirmed (or already rolled back): nothing to do", flush=True)
        return 0
    print(
        f"entry {args.entry} not confirmed: rollback {res.outcome} "
        f"(entry {res.entry_id}) {res.error or ''}",
        flush=True,
    )
    return 0 if res.ok else 1


if __name__ == "__main__":
    sys.exit(main())
