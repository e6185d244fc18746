"""The claim in the database: refused inside the floor, whoever polled; expired claims are
taken over. Time moves by an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dlrpoll.poller import claim_ttl, poll_source
from dlrpoll.scheduling.round import poll_round
from dlrpoll.store import Store
from dlrpoll.store.reports import last_starts
from tests.scheduling.conftest import EmptySources, make_config
from tests.support.clock import Clock

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_a_second_poller_inside_the_floor_is_refused(store: Store) -> None:
    config = make_config("a")
    cfg = config.settings.sources[0]
    factory = EmptySources()
    clock = Clock()
    src = factory(config, cfg, None)  # type: ignore[arg-type]
    first = poll_source(config, cfg, src, store, clock=clock, owner="cron")
    clock.advance(119.9)
    second = poll_source(config, cfg, src, store, clock=clock, owner="daemon")
    clock.advance(0.1)
    third = poll_source(config, cfg, src, store, clock=clock, owner="daemon")
    assert [first.outcome, second.outcome, third.outcome] == ["ok", "skipped", "ok"]
    assert factory.polls == ["a", "a"]  # the refused poll never opened the source
    assert last_starts(store) == {"a": T0 + timedelta(seconds=120)}


def test_a_live_claim_blocks_and_an_expired_one_is_taken_over(store: Store) -> None:
    cfg = make_config("a").settings.sources[0]
    ttl = claim_ttl(cfg)
    assert store.claim("a", now=T0, interval=cfg.interval, ttl=ttl, owner="killed")
    # the poller was killed: no release. Past the floor, its claim still holds...
    later = T0 + timedelta(seconds=cfg.interval)
    assert not store.claim("a", now=later, interval=cfg.interval, ttl=ttl, owner="other")
    # ...until it expires; then another poller takes the source over
    expired = T0 + timedelta(seconds=ttl)
    assert store.claim("a", now=expired, interval=cfg.interval, ttl=ttl, owner="other")
    assert claim_ttl(cfg) < 3600  # a crashed poller does not block its source for long


def test_a_round_polls_due_sources_and_skips_the_rest(store: Store) -> None:
    config = make_config("a", "b", "c")
    factory = EmptySources()
    clock = Clock()
    poll_round(config, store, [config.settings.source("b")], clock=clock, source_factory=factory)
    clock.advance(60)
    results = poll_round(
        config, store, list(config.settings.sources), clock=clock, source_factory=factory
    )
    assert [(r.source, r.outcome) for r in results] == [
        ("a", "ok"),
        ("b", "skipped"),
        ("c", "ok"),
    ]
    assert sorted(factory.polls) == ["a", "b", "c"]
