"""The daemon in-process, with APScheduler for real but sources that fetch nothing: the
first poll at start when due, the plan from the database's last start, and a stop that
interrupts a retry sleep. Waits are on events with timeouts, never sleeps."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.errors import SourceConnectError
from dlrpoll.poller import PollResult, utcnow
from dlrpoll.scheduling import FLOOR_MARGIN
from dlrpoll.scheduling.daemon import Daemon
from dlrpoll.sources import RetryPolicy
from dlrpoll.store import Store
from dlrpoll.store.reports import last_starts
from tests.scheduling.conftest import EmptySources, make_config
from tests.support.fake_source import FakeSource


def test_due_sources_poll_at_start_others_wait_for_their_floor(store: Store) -> None:
    config = make_config("fresh", "recent")
    recent_start = utcnow() - timedelta(seconds=60)
    assert store.claim("recent", now=recent_start, interval=120, ttl=120, owner="cron")
    store.release("recent", "cron")
    factory = EmptySources()
    polled = threading.Event()
    results: list[PollResult] = []

    def on_poll(result: PollResult, lag: float) -> None:
        results.append(result)
        polled.set()

    daemon = Daemon(config, store, source_factory=factory, on_poll=on_poll)
    daemon.start()
    try:
        assert polled.wait(10), "the never-polled source was not polled at start"
        fresh_start = last_starts(store)["fresh"]
        assert daemon.plan("fresh") >= fresh_start + timedelta(seconds=120)
        assert daemon.plan("fresh") <= fresh_start + timedelta(seconds=120 + FLOOR_MARGIN + 1)
        assert daemon.plan("recent") == recent_start + timedelta(seconds=120 + FLOOR_MARGIN)
    finally:
        daemon.shutdown()
    assert factory.polls == ["fresh"]
    assert [(r.source, r.outcome) for r in results] == [("fresh", "ok")]


def failing_source(name: str, retry: RetryPolicy, attempted: threading.Event) -> FakeSource:
    """A source whose server refuses connections: the poll sits in its retry sleeps."""

    def connect() -> None:
        attempted.set()
        raise SourceConnectError(name, "connection refused")

    return FakeSource(name, on_open=lambda _source: retry.call(name, "connect", connect))


def test_stop_interrupts_a_retry_sleep_and_records_the_poll(store: Store) -> None:
    config = make_config("down")
    attempted = threading.Event()

    def factory(config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> FakeSource:
        # a long backoff: without the stop event the poll would sit here for minutes
        slow = RetryPolicy(attempts=5, wait_initial=600, wait_max=600, stop=retry.stop)
        return failing_source(cfg.name, slow, attempted)

    daemon = Daemon(config, store, source_factory=factory)
    daemon.start()
    assert attempted.wait(10)
    began = time.monotonic()
    daemon.stop()
    daemon.shutdown()
    assert time.monotonic() - began < 5
    [run] = store.last_polls(["down"]).values()
    # issue 16: a poll stopped by the shutdown is recorded as interrupted, never ok or error
    assert run.outcome == "interrupted" and "stopped by a signal" in (run.error or "")
    # the claim was released on the way out: another poller can go once the floor is up
    assert store.claim(
        "down", now=run.started_at + timedelta(seconds=120), interval=120, ttl=120, owner="x"
    )
