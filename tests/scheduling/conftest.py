"""Fixtures for the scheduling tests: a real store in tmp_path and sources that fetch nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.config import LoadedConfig, SourceConfig, parse_settings
from dlrpoll.sources import RetryPolicy
from dlrpoll.store import Store
from tests.support.fake_source import FakeSource


class EmptySources:
    """A source factory for the daemon and ``poll_round``; ``polls`` lists every poll."""

    def __init__(self) -> None:
        self.polls: list[str] = []
        self.lock = threading.Lock()
        self.retries: dict[str, RetryPolicy] = {}

    def __call__(self, config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> FakeSource:
        self.retries[cfg.name] = retry
        return FakeSource(cfg.name, on_open=self._opened)

    def _opened(self, source: FakeSource) -> None:
        # the poller opens one session per poll
        with self.lock:
            self.polls.append(source.name)


def make_config(*names: str, interval: str = "2m", jitter: str = "0s") -> LoadedConfig:
    settings = parse_settings(
        {
            "sources": [
                {
                    "name": n,
                    "kind": "soap",
                    "wsdl": "unused.wsdl",
                    "interval": interval,
                    "jitter": jitter,
                }
                for n in names
            ]
        }
    )
    return LoadedConfig(settings=settings, path=None, secrets={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'dlr.sqlite'}")
    yield s
    s.close()
