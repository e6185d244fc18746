"""One round of polls, for cron and ``dlrpoll poll``: every due source once, a few at a time.

The floor is kept by the database claim each poll takes first (the poller's step 1), so
cron, a daemon and a manual ``poll`` together never poll a source inside its interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.counts import Outcome
from dlrpoll.errors import DlrpollError
from dlrpoll.owner import Owner
from dlrpoll.poller import Clock, PollResult, log_result, poll_source, utcnow
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
    owner: Owner | str | None = None,
    workers: int = 8,
    stop: threading.Event | None = None,
    source_factory: SourceFactory = make_source,
) -> list[PollResult]:
    """Poll each source once if its claim is granted, a few at a time; results in the order
    given. A source that cannot even be set up (a missing WSDL) is reported as an error."""
    stop = stop or threading.Event()
    the_owner = Owner.of(owner)

    def one(cfg: SourceConfig) -> PollResult:
        if stop.is_set():  # a signal came before this source's turn: do not start it
            result = PollResult(cfg.name, Outcome.INTERRUPTED, error="not started")
            log_result(result)
            return result
        try:
            retry = RetryPolicy(attempts=cfg.retries + 1, stop=stop)
            source = source_factory(config, cfg, retry)
            return poll_source(config, cfg, source, store, clock=clock, owner=the_owner, stop=stop)
        except DlrpollError as exc:
            # cannot set up (a missing WSDL), or the database refused the claim: one line
            result = PollResult(cfg.name, Outcome.ERROR, error=str(exc))
            log_result(result)
            return result
        except Exception as exc:  # a bug in one source's code must not cost the others
            log.debug("source %s: poll crashed", cfg.name, exc_info=True)
            result = PollResult(
                cfg.name,
                Outcome.ERROR,
                error=f"internal error: {type(exc).__name__}: {exc}; please report it with "
                "the output of the same command run with --log-level DEBUG",
            )
            log_result(result)
            return result

    if len(sources) <= 1 or workers <= 1:
        return [one(cfg) for cfg in sources]
    size = min(workers, len(sources))
    with ThreadPoolExecutor(max_workers=size, thread_name_prefix="poll") as pool:
        futures = [pool.submit(one, cfg) for cfg in sources]
        # wait in short steps: a signal delivered to a worker thread only runs its Python
        # handler (which sets ``stop``) when this, the main thread, next runs Python code
        while wait(futures, timeout=0.25).not_done:
            pass
        return [f.result() for f in futures]


def round_exit_code(results: Iterable[PollResult]) -> int:
    """130 when a signal interrupted the round, else 1 when any source failed or left items
    on the server for an operator (``partial``), else 0 (every source succeeded or was
    skipped as not due)."""
    outcomes = {r.outcome for r in results}
    if Outcome.INTERRUPTED in outcomes:
        return 130
    return 1 if outcomes & {Outcome.ERROR, Outcome.PARTIAL} else 0
