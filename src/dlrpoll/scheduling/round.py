"""One round of polls, for cron and ``dlrpoll poll``: every due source once, a few at a time.

The floor is kept by the database claim each poll takes first (the poller's step 1), so
cron, a daemon and a manual ``poll`` together never poll a source inside its interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.counts import Outcome
from dlrpoll.errors import DlrpollError
from dlrpoll.poller import Clock, PollResult, default_owner, poll_source, utcnow
from dlrpoll.sources import RetryPolicy, Source, make_source
from dlrpoll.store import Store

log = logging.getLogger(__name__)

SourceFactory = Callable[[LoadedConfig, SourceConfig, RetryPolicy], Source]


def select_sources(config: LoadedConfig, names: Sequence[str] = ()) -> list[SourceConfig]:
    """The enabled sources, or those named (unknown names are a :class:`ConfigError`)."""
    if names:
        return [config.settings.source(n) for n in dict.fromkeys(names)]
    return [s for s in config.settings.sources if s.enabled]


def poll_round(
    config: LoadedConfig,
    store: Store,
    sources: Sequence[SourceConfig],
    *,
    clock: Clock = utcnow,
    owner: str | None = None,
    workers: int = 8,
    stop: threading.Event | None = None,
    source_factory: SourceFactory = make_source,
) -> list[PollResult]:
    """Poll each source once if its claim is granted, a few at a time; results in the order
    given. A source that cannot even be set up (a missing WSDL) is reported as an error."""
    stop = stop or threading.Event()
    owner = owner or default_owner()

    def one(cfg: SourceConfig) -> PollResult:
        try:
            retry = RetryPolicy(attempts=cfg.retries + 1, stop=stop)
            source = source_factory(config, cfg, retry)
        except DlrpollError as exc:
            log.error("source %s: cannot set up: %s", cfg.name, exc)
            return PollResult(cfg.name, Outcome.ERROR, error=str(exc))
        try:
            return poll_source(config, cfg, source, store, clock=clock, owner=owner, stop=stop)
        except Exception as exc:  # a bug in one source's code must not cost the others
            log.exception("source %s: poll crashed", cfg.name)
            return PollResult(cfg.name, Outcome.ERROR, error=f"internal error: {exc!r}")

    if len(sources) <= 1 or workers <= 1:
        return [one(cfg) for cfg in sources]
    with ThreadPoolExecutor(
        max_workers=min(workers, len(sources)), thread_name_prefix="poll"
    ) as pool:
        return list(pool.map(one, sources))


def round_exit_code(results: Iterable[PollResult]) -> int:
    """0 when every source succeeded or was skipped as not due, 1 when any failed."""
    return 1 if any(r.outcome == Outcome.ERROR for r in results) else 0
