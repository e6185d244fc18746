"""The one injectable clock for tests: time moves only when a test moves it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
#: One step past the providers' two-minute floor.
STEP = 121.0


class Clock:
    """A clock tests move by hand. ``step`` seconds pass at every reading (0 by default; a
    poll that reads the clock often then ages as a slow one would); :meth:`tick` passes the
    two-minute floor."""

    def __init__(self, start: datetime = T0, *, step: float = 0.0) -> None:
        self.now = start
        self.step = timedelta(seconds=step)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def jump(self, delta: timedelta = timedelta(hours=1)) -> None:
        """Let time pass between polls."""
        self.now += delta

    def tick(self) -> datetime:
        self.advance(STEP)
        return self.now
