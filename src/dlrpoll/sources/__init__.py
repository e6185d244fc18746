"""Sources: each kind turns a configured source into raw items and acknowledges them."""

from __future__ import annotations

from dlrpoll.config import LoadedConfig, Pop3SourceConfig, SourceConfig
from dlrpoll.sources.base import Batch, KnownIds, Session, Source
from dlrpoll.sources.retry import RetryPolicy

__all__ = ["Batch", "KnownIds", "RetryPolicy", "Session", "Source", "make_source"]


def make_source(
    config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy | None = None
) -> Source:
    """The source object for a configured source, its secrets resolved from ``config``.

    ``retry`` defaults to ``cfg.retries`` retries; the daemon passes one whose ``stop``
    event is its shutdown signal.
    """
    retry = retry or RetryPolicy(attempts=cfg.retries + 1)
    if isinstance(cfg, Pop3SourceConfig):
        from dlrpoll.sources.pop3 import Pop3Source

        return Pop3Source(cfg, config.secret(cfg.name, "password"), retry=retry)
    from dlrpoll.sources.soap import SoapSource

    args = {k: config.secrets.get((cfg.name, "args", k), v) for k, v in cfg.args.items()}
    return SoapSource(cfg, args, retry=retry)
