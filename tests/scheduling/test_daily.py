"""The daemon's daily maintenance (``[retention]``): run after start, with the config in use."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest

from dlrpoll.config import LoadedConfig
from dlrpoll.scheduling.daemon import Daemon
from dlrpoll.store import Store
from tests.scheduling.conftest import EmptySources, make_config


def test_the_daily_job_runs_with_the_daemons_config_and_store(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Daemon, "DAILY_FIRST_DELAY", 0.0)
    config = make_config("a")
    calls: list[tuple[LoadedConfig, Store, datetime]] = []
    ran = threading.Event()

    def daily(config: LoadedConfig, store: Store, now: datetime) -> None:
        calls.append((config, store, now))
        ran.set()

    daemon = Daemon(config, store, source_factory=EmptySources(), daily=daily)
    daemon.start()
    try:
        assert ran.wait(10)
    finally:
        daemon.shutdown()
    [(got_config, got_store, _)] = calls
    assert got_config is config and got_store is store


def test_without_a_daily_job_nothing_extra_is_scheduled(store: Store) -> None:
    daemon = Daemon(make_config("a"), store, source_factory=EmptySources())
    daemon.start()
    try:
        assert [job.id for job in daemon._scheduler.get_jobs()] == ["a"]
    finally:
        daemon.shutdown()
