"""The two ways dlrpoll runs, wired for a process: :func:`run_daemon` (``dlrpoll run``) and
:func:`poll_once` (``dlrpoll poll``, for cron): the store, the metrics file, and SIGTERM and
SIGINT turned into a stop at the next safe point."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

from dlrpoll import retention
from dlrpoll.config import LoadedConfig, load_config
from dlrpoll.errors import ConfigError
from dlrpoll.poller import PollResult
from dlrpoll.scheduling.round import poll_round, select_sources
from dlrpoll.store.opening import open_store

if TYPE_CHECKING:
    from dlrpoll.metrics import MetricsWriter
    from dlrpoll.store import Store

log = logging.getLogger(__name__)


def _metrics_writer(
    path: str | None, config: LoadedConfig, store: Store, *, min_gap: float
) -> MetricsWriter | None:
    """The ``--metrics-file`` writer, or ``None`` without one; prometheus_client is imported
    only then (a cron ``poll`` pays nothing for metrics it does not write)."""
    if not path:
        return None
    from dlrpoll.metrics import metrics_writer

    return metrics_writer(path, config, store, min_gap=min_gap)


@contextmanager
def on_signals(
    stop: Callable[[], None], reload: Callable[[], None] | None = None
) -> Iterator[None]:
    """SIGTERM and SIGINT call ``stop``, SIGHUP calls ``reload`` (when given); the previous
    handlers come back afterwards. Both callables must be safe in a signal handler (set
    events, nothing more)."""

    def stopping(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("received %s: stopping at the next safe point", signal.Signals(signum).name)
        stop()

    def reloading(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        log.info("received SIGHUP: reloading the configuration")
        if reload is not None:
            reload()

    if threading.current_thread() is not threading.main_thread():
        yield  # in-process tests from a thread: they call stop() themselves
        return
    handlers = {signal.SIGTERM: stopping, signal.SIGINT: stopping}
    if reload is not None:
        handlers[signal.SIGHUP] = reloading
    old = {sig: signal.signal(sig, handler) for sig, handler in handlers.items()}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def run_daemon(config: LoadedConfig, *, metrics_file: str | None = None) -> int:
    """Poll every enabled source on its interval until SIGTERM or SIGINT; SIGHUP reloads the
    config file; ``[retention]`` is applied once a day. Writes the metrics file at start and
    after polls. The exit code; raises
    :class:`ConfigError` when no source is enabled."""
    from dlrpoll.scheduling.daemon import Daemon  # APScheduler: only the daemon needs it

    store = open_store(config)
    try:
        metrics = _metrics_writer(metrics_file, config, store, min_gap=5.0)
        daemon = Daemon(
            config,
            store,
            on_poll=(lambda result, lag: metrics.request()) if metrics else None,
            daily=retention.daily,
        )
        if not daemon.sources:
            raise ConfigError("sources: no enabled source in the configuration; nothing to run")
        if metrics is not None:
            metrics.write_now()  # node_exporter sees the daemon before its first poll ends
        path = config.path
        load = (lambda: load_config(path)) if path is not None else None
        try:
            with on_signals(daemon.stop, daemon.request_reload):
                return daemon.run(load)
        finally:
            if metrics is not None:
                metrics.close()
    finally:
        store.close()


def poll_once(
    config: LoadedConfig, names: Sequence[str] = (), *, metrics_file: str | None = None
) -> list[PollResult]:
    """Poll each enabled source (or each named one) once if it is due; the results in
    config order. SIGTERM or SIGINT stop each running poll at its next safe point (recorded
    ``interrupted``) and start no other. Writes the metrics file afterwards when asked."""
    sources = select_sources(config, names)
    with open_store(config) as store:
        stop = threading.Event()
        with on_signals(stop.set):
            results = poll_round(config, store, sources, stop=stop)
        writer = _metrics_writer(metrics_file, config, store, min_gap=0)
        if writer is not None:
            writer.write_now()
    return results
