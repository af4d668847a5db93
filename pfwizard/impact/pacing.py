"""Pacing of the replay: a token bucket shared by every connection to both replay instances.

Each envelope asked can make the replay instance's smtpd look names up (blocklists, the
sender's domain, the HELO name) through the box's own resolver, which serves the live mail at
the same time; a preview of thousands of envelopes must not flood it, nor the blocklists that
answer it (they refuse or block resolvers that ask too much).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """At most ``rate`` takes per second on average, ``burst`` of them at once.

    A take that finds the bucket empty reserves the next token anyway and is told how long to
    wait for it, so waiting threads are served in turn at exactly ``rate``, none starved.
    """

    def __init__(
        self, rate: float, burst: float = 1.0, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a token bucket needs a rate above 0 and room for one token")
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.last = clock()
        self.lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token: how many seconds from now it may be used (0: at once)."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            self.tokens -= 1
            return -self.tokens / self.rate if self.tokens < 0 else 0.0

    def take(self, stop: threading.Event | None = None) -> bool:
        """Wait for one token; False when ``stop`` was set meanwhile (the wait ends at once)."""
        wait = self.reserve()
        if stop is not None:
            return not stop.wait(wait) if wait > 0 else not stop.is_set()
        if wait > 0:
            time.sleep(wait)
        return True
