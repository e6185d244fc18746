"""Leases on sources (the floor, one poller at a time, dead holders) and poll runs, on both
databases."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from dlrpoll.counts import Counts
from dlrpoll.owner import Owner
from dlrpoll.store import PollRun, Store

from .helpers import at, rows

HERE = Owner.this_process()


def claim(store: Store, seconds: float, owner: Owner | str = "host:1", ttl: float = 60) -> bool:
    return bool(store.claim("a", now=at(seconds), interval=120, ttl=ttl, owner=owner))


def dead_owner() -> Owner:
    """A process of this machine that has ended (its pid is not running any more)."""
    code = (
        "from dlrpoll.owner import Owner; o = Owner.this_process(); print(o.host, o.pid, o.start)"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    host, pid, start = child.stdout.split()
    return Owner(host, int(pid), start)


def test_a_first_claim_is_granted_and_recorded(store: Store) -> None:
    assert claim(store, 0, owner=HERE)
    assert rows(store, "SELECT * FROM source_state") == [
        (
            "a",
            "2026-11-22T14:00:00.000000Z",
            HERE.name,
            "2026-11-22T14:01:00.000000Z",  # lease_ttl ahead
            HERE.host,
            os.getpid(),
            HERE.start,
            HERE.name,
            0,
            None,
        )
    ]
    assert HERE.start.count("/") == 2  # boot id, pid namespace, start ticks (Linux)


def test_inside_the_floor_a_claim_is_refused_even_after_release(store: Store) -> None:
    assert claim(store, 0)
    store.release("a", "host:1")
    refused = store.claim("a", now=at(119.999), interval=120, ttl=60, owner="host:2")
    assert not refused
    assert refused.reason == "polled 14:00:00 by host:1, next allowed 14:02:00 (UTC)"
    assert refused.next_allowed == at(120)
    assert not claim(store, 60)
    assert claim(store, 120, owner="host:2")  # the floor is reached exactly at the interval


def test_refused_attempts_are_counted_not_recorded_as_runs(store: Store) -> None:
    assert claim(store, 0)
    for s in (10, 20, 30):
        assert not claim(store, s, owner="host:2")
    assert rows(store, "SELECT skipped, last_skipped_at FROM source_state") == [
        (3, "2026-11-22T14:00:30.000000Z")
    ]
    assert rows(store, "SELECT count(*) FROM poll_runs") == [(0,)]
    assert store.leases(["a"])["a"].skipped == 3


def test_a_live_lease_holds_the_source_beyond_the_floor(store: Store) -> None:
    assert claim(store, 0, ttl=600)
    refused = store.claim("a", now=at(300), interval=120, ttl=60, owner="host:2")
    assert not refused
    assert refused.reason == (
        "being polled by host:1, lease until 14:10:00, next allowed 14:10:00 (UTC)"
    )


def test_the_heartbeat_keeps_a_lease_and_the_floor_stays_from_the_start(store: Store) -> None:
    assert claim(store, 0, ttl=60)
    for s in (20, 40, 60, 80, 100, 120, 140):  # every third of the TTL
        assert store.renew("a", "host:1", now=at(s), ttl=60)
    assert not claim(store, 150, owner="host:2")  # still polling: held
    store.release("a", "host:1")
    assert claim(store, 150, owner="host:2")  # floor from 14:00:00, lease free


def test_an_expired_lease_is_taken_over_and_the_old_holder_cannot_renew(store: Store) -> None:
    assert claim(store, 0, ttl=60)  # its poller was killed on another machine
    assert not claim(store, 119, owner="host:2")  # the floor still holds
    assert claim(store, 120, owner="host:2")  # expired at 60, floor reached at 120
    assert rows(store, "SELECT claimed_by FROM source_state") == [("host:2",)]
    # the old holder's late heartbeat and release change nothing
    assert not store.renew("a", "host:1", now=at(121), ttl=60)
    store.release("a", "host:1")
    assert rows(store, "SELECT claimed_by FROM source_state") == [("host:2",)]
    store.release("a", "host:2")
    assert rows(store, "SELECT claimed_by, claimed_until, holder_pid FROM source_state") == [
        (None, None, None)
    ]


def test_a_dead_holder_on_this_machine_is_void_at_once(store: Store) -> None:
    dead = dead_owner()
    assert dead.host == HERE.host and dead.pid != HERE.pid
    assert claim(store, 0, owner=dead, ttl=3600)
    lease = store.leases()["a"]
    assert lease.state(at(1)) == "gone"
    # the floor still holds against the dead poller's poll...
    assert not claim(store, 119, owner=HERE)
    # ... but not its lease, although it would run for an hour more
    assert claim(store, 120, owner=HERE)
    assert store.leases()["a"].holder == HERE


def test_a_live_holder_with_another_start_time_is_gone(store: Store) -> None:
    # this very pid, but started at another time: the pid was reused by another process
    reused = Owner(HERE.host, HERE.pid, HERE.start.rpartition("/")[0] + "/1")
    assert reused.gone() and not HERE.gone()
    assert claim(store, 0, owner=reused, ttl=3600)
    assert claim(store, 120, owner=HERE)


def test_a_holder_on_another_machine_is_only_freed_by_expiry(store: Store) -> None:
    other = Owner("host-b", 1, "other-boot/pid:[1]/123")  # pid 1 runs here, but not it
    assert not other.gone()
    assert claim(store, 0, owner=other, ttl=300)
    assert store.leases()["a"].state(at(200)) == "held"
    assert not claim(store, 200, owner=HERE)
    assert claim(store, 300, owner=HERE)


def test_a_holder_of_this_host_name_but_another_boot_is_not_judged(store: Store) -> None:
    rebooted = Owner(HERE.host, 999_999, "another-boot/pid:[1]/5")
    assert not rebooted.gone()  # a same-named machine may run it: wait for the expiry


def test_claims_are_per_source(store: Store) -> None:
    assert store.claim("a", now=at(0), interval=120, ttl=60, owner="x")
    assert store.claim("b", now=at(0), interval=120, ttl=60, owner="x")


def test_concurrent_claims_grant_exactly_one(store: Store, store_url: str) -> None:
    others = [Store(store_url) for _ in range(4)]
    results: list[bool] = []
    start = threading.Barrier(len(others))

    def race(s: Store, n: int) -> None:
        start.wait(timeout=10)
        results.append(bool(s.claim("a", now=at(0), interval=120, ttl=60, owner=f"p{n}")))

    threads = [threading.Thread(target=race, args=(s, n)) for n, s in enumerate(others)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for s in others:
        s.close()
    assert sorted(results) == [False, False, False, True]
    assert rows(store, "SELECT skipped FROM source_state") == [(3,)]


@pytest.mark.parametrize("force", [False, True])
def test_clear_lease_removes_only_the_named_holder(store: Store, force: bool) -> None:
    assert claim(store, 0, owner="host:1")
    holder = store.leases()["a"].holder
    assert holder is not None
    if force:
        assert claim(store, 200, owner="host:2")  # expired and taken over meanwhile
        assert not store.clear_lease("a", holder)
        assert rows(store, "SELECT claimed_by FROM source_state") == [("host:2",)]
    else:
        assert store.clear_lease("a", holder)
        assert rows(store, "SELECT claimed_by, last_started_at FROM source_state") == [
            (None, "2026-11-22T14:00:00.000000Z")  # the floor stays
        ]


def test_poll_runs_are_recorded_and_the_last_one_read_back(store: Store) -> None:
    store.record_poll(PollRun("a", at(0), at(3), "ok", Counts(5, 4, 1, 0)))
    store.record_poll(PollRun("a", at(120), at(121), "error", error="connection refused"))
    store.record_poll(PollRun("a", at(130), at(130), "skipped", error="not due"))
    store.record_poll(PollRun("b", at(10), at(11), "ok"))
    assert rows(
        store, "SELECT source, started_at, outcome, fetched, stored FROM poll_runs ORDER BY id"
    )[0] == ("a", "2026-11-22T14:00:00.000000Z", "ok", 5, 4)
    last = store.last_polls(["a", "b", "c"])
    assert set(last) == {"a", "b"}
    assert last["a"] == PollRun("a", at(130), at(130), "skipped", error="not due")
    real = store.last_polls(["a"], include_skipped=False)["a"]
    assert (real.outcome, real.error, real.started_at) == ("error", "connection refused", at(120))
