"""Source claims (the two-minute floor, one poller at a time) and poll runs."""

from __future__ import annotations

import threading
from pathlib import Path

from dlrpoll.counts import Counts
from dlrpoll.store import PollRun, Store

from .helpers import at, rows


def claim(store: Store, seconds: float, owner: str = "host:1", ttl: float = 600) -> bool:
    return store.claim("a", now=at(seconds), interval=120, ttl=ttl, owner=owner)


def test_a_first_claim_is_granted_and_recorded(store: Store, db_path: Path) -> None:
    assert claim(store, 0)
    assert rows(db_path, "SELECT * FROM source_state") == [
        ("a", "2026-11-22T14:00:00.000000Z", "host:1", "2026-11-22T14:10:00.000000Z")
    ]


def test_inside_the_floor_a_claim_is_refused_even_after_release(store: Store) -> None:
    assert claim(store, 0)
    store.release("a", "host:1")
    assert not claim(store, 119.999, owner="host:2")
    assert not claim(store, 60)
    assert claim(store, 120, owner="host:2")  # the floor is reached exactly at the interval


def test_a_live_claim_holds_the_source_beyond_the_floor(store: Store) -> None:
    assert claim(store, 0, ttl=600)
    assert not claim(store, 300, owner="host:2")


def test_an_expired_claim_is_taken_over(store: Store, db_path: Path) -> None:
    assert claim(store, 0, ttl=300)  # its poller was killed and never released
    assert claim(store, 300, owner="host:2")
    assert rows(db_path, "SELECT claimed_by FROM source_state") == [("host:2",)]
    # the old owner's late release does not free the new owner's claim
    store.release("a", "host:1")
    assert rows(db_path, "SELECT claimed_by FROM source_state") == [("host:2",)]
    store.release("a", "host:2")
    assert rows(db_path, "SELECT claimed_by, claimed_until FROM source_state") == [(None, None)]


def test_claims_are_per_source(store: Store) -> None:
    assert store.claim("a", now=at(0), interval=120, ttl=600, owner="x")
    assert store.claim("b", now=at(0), interval=120, ttl=600, owner="x")


def test_concurrent_claims_grant_exactly_one(store: Store, db_path: Path) -> None:
    others = [Store(f"sqlite:///{db_path}") for _ in range(4)]
    results: list[bool] = []
    start = threading.Barrier(len(others))

    def race(s: Store, n: int) -> None:
        start.wait(timeout=10)
        results.append(s.claim("a", now=at(0), interval=120, ttl=600, owner=f"p{n}"))

    threads = [threading.Thread(target=race, args=(s, n)) for n, s in enumerate(others)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for s in others:
        s.close()
    assert sorted(results) == [False, False, False, True]


def test_poll_runs_are_recorded_and_the_last_one_read_back(store: Store, db_path: Path) -> None:
    store.record_poll(PollRun("a", at(0), at(3), "ok", Counts(5, 4, 1, 0)))
    store.record_poll(PollRun("a", at(120), at(121), "error", error="connection refused"))
    store.record_poll(PollRun("a", at(130), at(130), "skipped", error="not due"))
    store.record_poll(PollRun("b", at(10), at(11), "ok"))
    assert rows(db_path, "SELECT source, started_at, outcome, fetched, stored FROM poll_runs")[
        0
    ] == ("a", "2026-11-22T14:00:00.000000Z", "ok", 5, 4)
    last = store.last_polls(["a", "b", "c"])
    assert set(last) == {"a", "b"}
    assert last["a"] == PollRun("a", at(130), at(130), "skipped", error="not due")
    real = store.last_polls(["a"], include_skipped=False)["a"]
    assert (real.outcome, real.error, real.started_at) == ("error", "connection refused", at(120))
