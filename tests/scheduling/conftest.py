"""Fixtures for the scheduling tests: a real store in tmp_path and sources that fetch nothing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dlrpoll.config import LoadedConfig, SourceConfig, parse_settings
from dlrpoll.rawitem import RawItem
from dlrpoll.sources import Batch, KnownIds, RetryPolicy
from dlrpoll.store import Store


class EmptySession:
    def batches(self, known: KnownIds) -> Iterator[Batch]:
        return iter(())

    def acknowledge(self, batch: Batch) -> None:
        raise AssertionError("nothing to acknowledge")


class EmptySource:
    """A source with nothing new; counts its polls (the poller opens one session per poll)."""

    def __init__(self, name: str, polls: list[str], lock: threading.Lock) -> None:
        self.name = name
        self._polls = polls
        self._lock = lock

    @contextmanager
    def open(self) -> Iterator[EmptySession]:
        with self._lock:
            self._polls.append(self.name)
        yield EmptySession()

    def split(self, envelope: RawItem) -> list[RawItem]:
        return []


class EmptySources:
    """A source factory for the daemon and ``poll_round``; ``polls`` lists every poll."""

    def __init__(self) -> None:
        self.polls: list[str] = []
        self.lock = threading.Lock()
        self.retries: dict[str, RetryPolicy] = {}

    def __call__(self, config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> EmptySource:
        self.retries[cfg.name] = retry
        return EmptySource(cfg.name, self.polls, self.lock)


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
