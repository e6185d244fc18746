"""What a poll tells its operator: progress of a long poll, a WARNING when it quarantines,
``interrupted`` when stopped by a signal, quarantine reasons in the source's own terms."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.config import LoadedConfig, parse_settings
from dlrpoll.poller import PROGRESS_ITEMS, in_source_terms, poll_source
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources import Batch
from dlrpoll.store import Store
from tests.support.clock import Clock
from tests.support.fake_source import FakeSource


def item(i: int, text: str | None = None) -> RawItem:
    body = text or f"id:{i:08d} sub:001 dlvrd:001 stat:DELIVRD err:000 text:"
    return RawItem(f"r{i}", body.encode(), RawFormat.TEXT)


@pytest.fixture
def config() -> LoadedConfig:
    settings = parse_settings(
        {"sources": [{"name": "fake", "kind": "soap", "wsdl": "unused.wsdl", "profile": "smpp"}]}
    )
    return LoadedConfig(settings=settings, path=None, secrets={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'dlr.sqlite'}") as s:
        yield s


def test_a_long_poll_logs_progress_every_500_items(
    config: LoadedConfig, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    batches: list[list[RawItem] | Batch] = [
        [item(i) for i in range(start, start + 200)] for start in range(0, 1200, 200)
    ]
    source = FakeSource("fake", queue=batches)
    with caplog.at_level(logging.INFO, logger="dlrpoll.poller"):
        result = poll_source(config, config.settings.sources[0], source, store, clock=Clock())
    assert result.outcome == "ok" and result.fetched == 1200
    progress = [r.getMessage() for r in caplog.records if "in progress" in r.getMessage()]
    # after 600 and 1200 items (the clock stands still, so only the count triggers)
    assert len(progress) == 1200 // PROGRESS_ITEMS == 2, progress
    assert "fetched 600, stored 600" in progress[0]


def test_progress_is_also_logged_every_ten_seconds(
    config: LoadedConfig, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    source = FakeSource("fake", queue=[[item(1)], [item(2)], [item(3)]])
    with caplog.at_level(logging.INFO, logger="dlrpoll.poller"):
        poll_source(config, config.settings.sources[0], source, store, clock=Clock(step=4))
    progress = [r for r in caplog.records if "in progress" in r.getMessage()]
    assert len(progress) >= 1 and all(r.levelno == logging.INFO for r in progress)


def test_a_poll_that_quarantines_logs_a_warning_in_the_sources_terms(
    config: LoadedConfig, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    source = FakeSource("fake", queue=[[item(1), item(2, "hello, please call me")]])
    with caplog.at_level(logging.WARNING):
        result = poll_source(config, config.settings.sources[0], source, store, clock=Clock())
    assert result.outcome == "ok" and result.quarantined == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("1 raw item(s) quarantined" in w and "dlrpoll quarantine" in w for w in warnings)
    [(_, _, quarantined)] = list(store.quarantined("fake"))
    # the SMPP parser suggests `--profile` (a flag of `dlrpoll parse`); through a source the
    # reason names the source's setting instead
    assert "--profile" not in (quarantined.parse_error or "")
    assert "in the config of source 'fake'" in (quarantined.parse_error or "")


def test_the_parse_flag_becomes_the_sources_setting() -> None:
    reason = "not a receipt (or pick a key/value profile with --profile)"
    got = in_source_terms(reason, "upside", "smpp")
    assert "--profile" not in got
    assert 'profile = "…" in the config of source \'upside\', now "smpp"' in got
    assert in_source_terms(reason, None, "smpp") == reason


def test_a_stop_between_batches_records_interrupted(config: LoadedConfig, store: Store) -> None:
    stop = threading.Event()
    source = FakeSource("fake", queue=[[item(1)], [item(2)]], on_open=lambda _s: stop.set())
    result = poll_source(
        config, config.settings.sources[0], source, store, clock=Clock(), stop=stop
    )
    assert result.outcome == "interrupted" and result.fetched == 1
    [run] = store.last_polls(["fake"]).values()
    assert run.outcome == "interrupted" and "signal" in (run.error or "")
