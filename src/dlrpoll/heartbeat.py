"""The heartbeat that keeps a running poll's lease alive.

A poll holds its source by a lease that runs out ``ttl`` seconds after it was last renewed
(see :mod:`dlrpoll.store.claims`). While the poll runs, a thread renews it every third of the
TTL, so two renewals may fail (a busy or briefly unreachable database) before it runs out.
The poll asks :attr:`Heartbeat.lost` at each safe point and stops once the lease is no
longer certainly its own: renewal refused (the lease was released or taken over), or not
confirmed within the TTL. Validity is measured on the monotonic clock of this process, from
the moment each successful renewal was *sent*, so a slow answer never stretches it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from dlrpoll.errors import StoreError

log = logging.getLogger(__name__)


class Heartbeat:
    """Renews a lease through ``renew`` (which returns False once the lease is not ours)
    every ``ttl / 3`` seconds (``every`` overrides it) on a daemon thread."""

    def __init__(
        self,
        name: str,
        renew: Callable[[], bool],
        ttl: float,
        *,
        every: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.ttl = ttl
        self.every = every if every is not None else ttl / 3
        self._renew = renew
        self._monotonic = monotonic
        #: until when (monotonic) the lease is certainly ours: the claim counts as a renewal
        self.valid_until = monotonic() + ttl
        self._refused = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> str | None:
        """Why the lease is no longer certainly ours; ``None`` while it is."""
        if self._refused:
            return "its lease was released or taken over by another poller"
        if self._monotonic() >= self.valid_until:
            return f"its lease could not be renewed for {self.ttl:g}s (is the database reachable?)"
        return None

    def beat(self) -> None:
        """One renewal (the thread calls it; tests may call it directly)."""
        sent = self._monotonic()
        try:
            ok = self._renew()
        except StoreError as exc:
            log.warning("source %s: could not renew the lease: %s", self.name, exc)
            return
        if ok:
            self.valid_until = sent + self.ttl
        else:
            self._refused = True
            log.warning("source %s: the lease is no longer ours; stopping soon", self.name)

    def _run(self) -> None:
        while not self._done.wait(self.every):
            self.beat()
            if self._refused:
                return

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"heartbeat-{self.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """End the renewals (before the lease is released); waits for one under way."""
        self._done.set()
        if self._thread is not None:
            self._thread.join()
