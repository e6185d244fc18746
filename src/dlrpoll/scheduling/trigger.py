"""The APScheduler trigger that keeps the floor between fire times."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

from dlrpoll.scheduling.floor import FLOOR_MARGIN, Rand, jitter_delay


class FloorTrigger(BaseTrigger):  # type: ignore[misc]
    """APScheduler trigger: ``interval`` plus a jitter that only delays, after the previous
    fire time. The daemon re-plans each source from its real start after every poll; this
    trigger is the fallback when a run was missed or overran."""

    __slots__ = ("interval", "jitter", "rand")

    def __init__(self, interval: float, jitter: float, rand: Rand = random.random) -> None:
        self.interval = interval
        self.jitter = jitter
        self.rand = rand

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        if previous_fire_time is None:
            return now
        delay = jitter_delay(self.jitter, self.rand)
        return previous_fire_time + timedelta(seconds=self.interval + FLOOR_MARGIN + delay)

    def __str__(self) -> str:
        return f"floor[{self.interval:g}s +0..{self.jitter:g}s]"
