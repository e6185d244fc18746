"""Retry policy for sources: which errors are temporary is the source's business (they raise
:class:`~dlrpoll.errors.TemporarySourceError`); how often and how long to wait is a setting.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from dlrpoll.errors import ShutdownRequested, TemporarySourceError

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts`` in all (1 = no retry), exponential backoff from ``wait_initial`` seconds up
    to ``wait_max``. ``stop`` interrupts the sleep between attempts (daemon shutdown)."""

    attempts: int = 3
    wait_initial: float = 1.0
    wait_max: float = 30.0
    stop: threading.Event = field(default_factory=threading.Event, compare=False)

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise ShutdownRequested("shutdown requested while waiting to retry")

    def call(self, source: str, what: str, fn: Callable[[], T]) -> T:
        """Call ``fn``, retrying temporary source errors; the last error is re-raised."""

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning(
                "source %s: %s failed (attempt %d of %d): %s; retrying",
                source,
                what,
                state.attempt_number,
                self.attempts,
                exc,
            )

        retrying = Retrying(
            retry=retry_if_exception_type(TemporarySourceError),
            stop=stop_after_attempt(max(1, self.attempts)),
            wait=wait_exponential(multiplier=self.wait_initial, max=self.wait_max),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        return retrying(fn)
