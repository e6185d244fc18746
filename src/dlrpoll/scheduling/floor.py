"""The two-minute floor as pure arithmetic, tested with fixed datetimes.

A source's next poll is never planned sooner than its interval after the start of its last
one: jitter only ever *delays* a poll, and the plan is re-made from the real start time after
every poll, so a poll that started late cannot pull the next one closer. The daemon plans
with these functions, and ``status`` shows "next due" with the same :func:`next_run_time`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta

Rand = Callable[[], float]

#: Planned polls start this much after the floor, so that a database that stores times a
#: little coarser than our clock never sees a poll a hair inside the interval.
FLOOR_MARGIN = 0.5
#: After a refused claim (another poller holds the source), try again no sooner than this.
SKIP_RETRY = 30.0
#: At start, due sources are staggered at this many polls a second (most overdue first), so
#: that thousands of sources do not all start at once and keep doing so every interval.
STARTUP_RATE = 20.0


def jitter_delay(jitter: float, rand: Rand = random.random) -> float:
    """A random delay in ``[0, jitter]`` seconds. Never negative: jitter only delays."""
    return max(0.0, jitter) * min(max(rand(), 0.0), 1.0)


def is_due(last_start: datetime | None, interval: float, now: datetime) -> bool:
    """Whether a source whose last poll started at ``last_start`` may be polled at ``now``."""
    return last_start is None or (now - last_start).total_seconds() >= interval


def next_run_time(
    last_start: datetime | None,
    interval: float,
    now: datetime,
    delay: float = 0.0,
    margin: float = FLOOR_MARGIN,
) -> datetime:
    """When to poll next: ``now`` if the source is due (never polled, or overdue), otherwise
    its last start plus ``interval``; then plus ``margin`` and the jitter ``delay``. The result
    is never less than ``interval`` after ``last_start``."""
    base = now if last_start is None else max(now, last_start + timedelta(seconds=interval))
    return base + timedelta(seconds=margin + max(0.0, delay))


def after_skip(
    last_start: datetime | None, interval: float, now: datetime, delay: float = 0.0
) -> datetime:
    """The next try after a refused claim: the floor from the stored last start, and not
    sooner than :data:`SKIP_RETRY` (the other poller may hold the claim a while)."""
    return max(
        next_run_time(last_start, interval, now, delay),
        now + timedelta(seconds=SKIP_RETRY + delay),
    )


def after_refusal(
    next_allowed: datetime, now: datetime, delay: float = 0.0, margin: float = FLOOR_MARGIN
) -> datetime:
    """The next try after a refused lease that said when the source is next allowed (the
    floor, or the end of another poller's lease): then, plus ``margin`` and the jitter."""
    return max(now, next_allowed) + timedelta(seconds=margin + max(0.0, delay))


def startup_offsets(
    last_starts: dict[str, datetime | None],
    intervals: dict[str, float],
    now: datetime,
    rate: float = STARTUP_RATE,
) -> dict[str, float]:
    """Seconds to hold back each due source's first poll: the k-th most overdue waits
    ``k / rate``, the rate raised if needed so that all start within one interval. Sources
    not due get 0 (their floor already spreads them)."""
    due = [name for name, last in last_starts.items() if is_due(last, intervals[name], now)]
    if due:
        rate = max(rate, len(due) / min(intervals[name] for name in due))
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    due.sort(key=lambda name: last_starts[name] or epoch)
    out = dict.fromkeys(last_starts, 0.0)
    for k, name in enumerate(due):
        out[name] = k / rate
    return out


def pool_size(sources: int) -> int:
    """Worker threads for the daemon: enough that a few hanging sources (each bounded by its
    timeout) do not hold up the others, without a thread per source."""
    return max(4, min(64, sources))
