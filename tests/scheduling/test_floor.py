"""The scheduling arithmetic, with fixed datetimes: jitter only delays, never inside the floor."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dlrpoll.config import MIN_INTERVAL_SECONDS
from dlrpoll.scheduling import (
    FLOOR_MARGIN,
    SKIP_RETRY,
    after_refusal,
    after_skip,
    is_due,
    jitter_delay,
    next_run_time,
    pool_size,
    startup_offsets,
)
from dlrpoll.scheduling.trigger import FloorTrigger

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_is_due_exactly_at_the_interval() -> None:
    assert is_due(None, 120, T0)
    assert not is_due(T0, 120, at(119.999))
    assert is_due(T0, 120, at(120))


def test_next_run_of_a_never_polled_source_is_now_plus_margin_and_jitter() -> None:
    assert next_run_time(None, 120, T0, delay=3) == at(FLOOR_MARGIN + 3)


def test_next_run_after_a_poll_is_the_floor_plus_jitter() -> None:
    assert next_run_time(T0, 120, at(5), delay=7) == at(120 + FLOOR_MARGIN + 7)


def test_an_overdue_source_runs_now_not_in_the_past() -> None:
    assert next_run_time(T0, 120, at(600), delay=0) == at(600 + FLOOR_MARGIN)


@given(
    last=st.floats(min_value=0, max_value=1e6),
    now_after=st.floats(min_value=0, max_value=1e4),
    interval=st.floats(min_value=MIN_INTERVAL_SECONDS, max_value=86400),
    delay=st.floats(min_value=-50, max_value=600),
)
def test_next_run_is_never_inside_the_floor(
    last: float, now_after: float, interval: float, delay: float
) -> None:
    planned = next_run_time(at(last), interval, at(last + now_after), delay)
    assert (planned - at(last)).total_seconds() >= interval
    assert planned >= at(last + now_after)


@given(jitter=st.floats(min_value=-5, max_value=3600), u=st.floats(min_value=-1, max_value=2))
def test_jitter_is_within_zero_and_jitter(jitter: float, u: float) -> None:
    d = jitter_delay(jitter, lambda: u)
    assert 0 <= d <= max(0.0, jitter)


def test_jitter_uses_its_whole_range() -> None:
    rng = random.Random(7)
    delays = [jitter_delay(10, rng.random) for _ in range(2000)]
    assert min(delays) < 0.5 and max(delays) > 9.5


def test_after_a_refused_claim_the_retry_waits_and_respects_the_floor() -> None:
    # another poller started 10 s ago: the floor governs
    assert after_skip(at(-10), 120, T0) == at(110 + FLOOR_MARGIN)
    # the stored start is old but a live claim refused us: wait SKIP_RETRY, not a busy loop
    assert after_skip(at(-600), 120, T0) == at(SKIP_RETRY)


def test_trigger_gaps_stay_between_interval_and_interval_plus_jitter() -> None:
    rng = random.Random(1)
    trigger = FloorTrigger(120, 10, rng.random)
    fire = trigger.get_next_fire_time(None, T0)
    assert fire == T0
    for _ in range(500):
        assert fire is not None
        nxt = trigger.get_next_fire_time(fire, fire)
        assert nxt is not None
        gap = (nxt - fire).total_seconds()
        assert 120 <= gap <= 120 + FLOOR_MARGIN + 10
        fire = nxt


def test_late_starts_never_pull_the_next_poll_inside_the_floor() -> None:
    """Simulates the daemon: each poll starts late by a random amount (a busy thread pool)
    and is re-planned from its real start; consecutive starts are never closer than the
    interval, and never later than planned plus the lateness."""
    rng = random.Random(42)
    interval, jitter = 120.0, 10.0
    start = T0
    starts = [start]
    for _ in range(1000):
        planned = next_run_time(start, interval, start, jitter_delay(jitter, rng.random))
        late = rng.choice([0.0, 0.0, rng.uniform(0, 5), rng.uniform(0, 300)])
        start = planned + timedelta(seconds=late)
        starts.append(start)
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= interval


def test_pool_size_is_bounded() -> None:
    assert pool_size(1) == 4
    assert pool_size(30) == 30
    assert pool_size(2000) == 64


def test_due_sources_are_staggered_at_start_most_overdue_first() -> None:
    last = {"never": None, "old": at(-900), "older": at(-3600), "recent": at(-30)}
    intervals = dict.fromkeys(last, 120.0)
    offsets = startup_offsets(last, intervals, T0, rate=10)
    assert offsets == {"never": 0.0, "older": 0.1, "old": 0.2, "recent": 0.0}


def test_after_a_refused_lease_the_next_try_is_when_it_said() -> None:
    # the floor (or the other poller's lease) ends at +90 s: try then, plus margin and jitter
    assert after_refusal(at(90), T0, delay=3) == at(90 + FLOOR_MARGIN + 3)
    # an answer already past (the lease ended meanwhile) never plans into the past
    assert after_refusal(at(-5), T0) == at(FLOOR_MARGIN)
