"""The poll's lease: the heartbeat keeps it, a poll that loses it stops at its next safe
point, and a refused poll records no run."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dlrpoll.config import LoadedConfig, parse_settings
from dlrpoll.errors import ConfigError, StoreError
from dlrpoll.heartbeat import Heartbeat
from dlrpoll.poller import Poll, lease_ttl, poll_source
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources import Batch, Session
from dlrpoll.store import Store
from tests.support.clock import Clock
from tests.support.fake_source import FakeSource

from .test_poller import smpp


def make_config(**source: object) -> LoadedConfig:
    settings = parse_settings(
        {
            "database": {"lease_ttl": "45s"},
            "sources": [
                {"name": "fake", "kind": "soap", "wsdl": "unused.wsdl", **source},
                {"name": "other", "kind": "soap", "wsdl": "unused.wsdl", "lease_ttl": "2m"},
            ],
        }
    )
    return LoadedConfig(settings=settings, path=None, secrets={})


class Mono:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_lease_ttl_comes_from_the_source_or_the_database_section() -> None:
    config = make_config()
    fake, other = config.settings.sources
    assert (lease_ttl(config, fake), lease_ttl(config, other)) == (45.0, 120.0)
    assert parse_settings({}).database.lease_ttl == 60.0
    with pytest.raises(ConfigError, match=r"sources\[0\].lease_ttl"):
        make_config(lease_ttl="1s")


def test_a_heartbeat_keeps_the_lease_valid_from_each_renewal_sent() -> None:
    mono = Mono()
    answers = [True, True, False]
    beat = Heartbeat("s", lambda: answers.pop(0), 60, monotonic=mono)
    assert beat.every == 20 and beat.lost is None
    mono.t += 59
    beat.beat()  # sent at +59: valid until +119
    mono.t += 59
    assert beat.lost is None
    beat.beat()
    assert beat.lost is None
    beat.beat()  # refused: released or taken over
    assert beat.lost == "its lease was released or taken over by another poller"


def test_a_heartbeat_that_cannot_reach_the_database_loses_the_lease_after_the_ttl() -> None:
    mono = Mono()

    def unreachable() -> bool:
        raise StoreError("db: database error: connection refused")

    beat = Heartbeat("s", unreachable, 60, monotonic=mono)
    mono.t += 40
    beat.beat()  # two failed renewals are survived ...
    assert beat.lost is None
    mono.t += 20
    beat.beat()  # ... but not the TTL
    assert beat.lost is not None and "could not be renewed for 60s" in beat.lost


def test_the_heartbeat_thread_renews_until_stopped() -> None:
    renewed = threading.Event()
    calls: list[int] = []

    def renew() -> bool:
        calls.append(1)
        if len(calls) >= 3:
            renewed.set()
        return True

    beat = Heartbeat("s", renew, 60, every=0.001)
    beat.start()
    assert renewed.wait(10)
    beat.stop()
    n = len(calls)
    assert n >= 3 and len(calls) == n  # stopped: no more renewals


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'dlr.sqlite'}")


def test_a_poll_that_loses_its_lease_stops_at_the_next_safe_point(store: Store) -> None:
    config = make_config()
    cfg = config.settings.sources[0]
    batches: list[list[RawItem] | Batch] = [
        [RawItem(f"{b}-{i}", smpp(b * 10 + i), RawFormat.TEXT) for i in range(3)] for b in range(3)
    ]
    source = FakeSource(queue=batches)
    clock = Clock()
    poll = Poll(config, cfg, source, store, clock=clock, owner="me")
    acknowledge = poll.acknowledge

    def then_lose_the_lease(session: Session, batch: Batch) -> None:
        acknowledge(session, batch)
        lease = store.leases()["fake"]
        assert lease.holder is not None and store.clear_lease("fake", lease.holder)
        assert poll.heartbeat is not None
        poll.heartbeat.beat()  # what the heartbeat thread does next

    poll.acknowledge = then_lose_the_lease  # type: ignore[method-assign]
    result = poll.run()
    # the first batch was journaled, stored and acknowledged; nothing more was fetched
    assert source.events == [("fetch", 3), ("ack", 3)]
    assert (result.outcome, result.stored) == ("ok", 3)


def test_a_refused_poll_says_why_and_records_no_run(store: Store) -> None:
    config = make_config()
    cfg = config.settings.sources[0]
    clock = Clock()
    assert (
        poll_source(config, cfg, FakeSource(), store, clock=clock, owner="host-a:1").outcome == "ok"
    )
    clock.advance(31)
    result = poll_source(config, cfg, FakeSource(), store, clock=clock, owner="host-b:2")
    assert result.outcome == "skipped"
    assert result.line() == (
        "fake: skipped: polled 12:00:00 by host-a:1, next allowed 12:02:00 (UTC)"
    )
    with store.reader() as conn:
        assert conn.exec_driver_sql("SELECT count(*), min(outcome) FROM poll_runs").one() == (
            1,
            "ok",
        )
        assert conn.exec_driver_sql("SELECT skipped FROM source_state").scalar_one() == 1
