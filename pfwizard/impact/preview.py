"""Run an impact preview: two replay instances (current and proposed configuration) side by
side, every envelope asked of both, the report built; nothing left behind, even on Ctrl-C.

Everything lives in one temporary directory (both staged config dirs, queues, logs), removed
in ``finally``; both masters are stopped by process group first.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from pathlib import Path

from pfwizard.engine.changeset import Plan
from pfwizard.impact import report as report_mod
from pfwizard.impact.envelope import Envelope
from pfwizard.impact.instance import ReplayInstance
from pfwizard.impact.lookups import RESOLV_CONF, dns_names, replay_order, resolver
from pfwizard.impact.pacing import TokenBucket
from pfwizard.impact.policystub import DunnoPolicy
from pfwizard.impact.replay import Answer, replay

Progress = Callable[[int, int], None]
"""Called with (answers so far, answers in all): two per envelope, one per instance."""

RATE = 50
"""Envelopes per second, by default: each can make smtpd look names up through the box's
resolver, which serves the live mail meanwhile (10,000 envelopes: about 3 minutes)."""


@contextlib.contextmanager
def _no_interrupts() -> Iterator[None]:
    """SIGINT ignored meanwhile (only the main thread may change signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def preview(
    profile: str,
    config_dir: Path,
    proposed: Plan,
    envelopes: Sequence[Envelope],
    *,
    progress: Progress | None = None,
    workers: int = 3,
    rate: int = RATE,
    resolv_conf: Path | None = None,
    tmp_dir: str | None = None,
    on_done: Callable[[list[ReplayInstance]], None] | None = None,
    stop: threading.Event | None = None,
) -> report_mod.ImpactReport:
    """``proposed``: the engine's plan of the change (written nowhere but the staged copy).
    ``resolv_conf``, ``on_done`` and ``tmp_dir``: test seams (the stub DNS; a look at the
    instances once every envelope is answered; where the temporary directory goes).
    ``stop``: set it from another thread to stop early (the replay raises ``Stopped``, after
    the same clean-up as on Ctrl-C). ``rate``: envelopes per second at most, over both
    instances (0: as fast as they answer)."""
    started = time.monotonic()
    replayed = replay_order(e for e in envelopes if not e.authenticated)
    # Each envelope is asked of both instances: two tokens, and a burst of one envelope.
    pace = TokenBucket(2 * rate, burst=2) if rate > 0 else None
    skipped = [e for e in envelopes if e.authenticated]
    root = Path(tempfile.mkdtemp(prefix="pfwizard-impact-", dir=tmp_dir))
    stop = stop or threading.Event()
    lock = threading.Lock()
    done = 0
    total = 2 * len(replayed)

    def tick(n: int) -> None:
        nonlocal done
        with lock:
            done += n
            now = done
        if progress is not None:
            progress(now, total)

    stub: DunnoPolicy | None = None
    instances: list[ReplayInstance] = []
    pool: ThreadPoolExecutor | None = None
    try:
        root.chmod(0o755)  # the mail owner must traverse it (postfix-facts.md)
        stub = DunnoPolicy().start()
        instances = [
            ReplayInstance("current", Plan(Path(config_dir), []), root, stub.address, resolv_conf),
            ReplayInstance("proposed", proposed, root, stub.address, resolv_conf),
        ]
        for inst in instances:
            inst.prepare()
            inst.start()
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="impact")
        futures: list[Future[list[Answer]]] = [
            pool.submit(
                replay,
                inst.port,
                replayed,
                workers=workers,
                stop=stop,
                progress=tick,
                pace=pace,
            )
            for inst in instances
        ]
        wait(futures, return_when=FIRST_EXCEPTION)
        current, changed = (f.result() for f in futures)
        if on_done is not None:
            on_done(instances)
    finally:
        with _no_interrupts():  # a second Ctrl-C must not leave a master or a directory
            stop.set()
            for inst in instances:
                inst.stop()  # ends any reply still awaited: the workers finish at once
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
            if stub is not None:
                stub.stop()
            shutil.rmtree(root, ignore_errors=True)
    policies = list(dict.fromkeys(p for i in instances for p in i.config.policy_services))
    unverified = list(dict.fromkeys(u for i in instances for u in i.config.unverified))
    rep = report_mod.build(
        profile,
        replayed,
        current,
        changed,
        skipped=skipped,
        policy_services=policies,
        unverified=unverified,
    )
    rep.postscreen = any(i.config.postscreen for i in instances)
    rep.rate = max(rate, 0)
    rep.dns_names = dns_names(replayed)
    box_resolver = resolver(resolv_conf or RESOLV_CONF)
    rep.nameservers = list(box_resolver.nameservers)
    rep.local_resolver = box_resolver.local
    rep.seconds = time.monotonic() - started
    return rep
