"""Sources: each kind turns a configured source into raw items and acknowledges them.

Kinds are registered in :data:`KINDS` by module path and imported only when a source of that
kind is made, so a poll of POP3 sources never imports zeep.
"""

from __future__ import annotations

import importlib
from typing import Protocol

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.sources.base import Batch, KnownIds, Session, Source
from dlrpoll.sources.retry import RetryPolicy

__all__ = ["KINDS", "Batch", "KnownIds", "RetryPolicy", "Session", "Source", "make_source"]


class SourceFactory(Protocol):
    """``from_config`` of a source kind's module."""

    def __call__(self, config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> Source: ...


#: ``kind`` → the module whose ``from_config`` makes a source of that kind.
KINDS: dict[str, str] = {
    "imap": "dlrpoll.sources.imap",
    "pop3": "dlrpoll.sources.pop3",
    "soap": "dlrpoll.sources.soap",
}


def make_source(
    config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy | None = None
) -> Source:
    """The source object for a configured source, its secrets resolved from ``config``.

    ``retry`` defaults to ``cfg.retries`` retries; the daemon passes one whose ``stop``
    event is its shutdown signal.
    """
    retry = retry or RetryPolicy(attempts=cfg.retries + 1)
    factory: SourceFactory = importlib.import_module(KINDS[cfg.kind]).from_config
    return factory(config, cfg, retry)
