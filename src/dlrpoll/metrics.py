"""Prometheus text-format metrics for node_exporter's textfile collector.

The numbers come from the database (:func:`dlrpoll.store.reports.overview`), so ``poll`` run
by cron (a new process each time) and the daemon report the same monotonic totals. The text
is made by ``prometheus_client`` from a registry holding one collector, and written with its
``write_to_textfile``: a temporary file in the same directory renamed over the old one, so
the collector never reads half a file.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest, write_to_textfile
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from dlrpoll.config import LoadedConfig
from dlrpoll.counts import Outcome
from dlrpoll.errors import DlrpollError, StoreError
from dlrpoll.store import Store, reports
from dlrpoll.store.reports import Overview

log = logging.getLogger(__name__)

#: ``dlrpoll_polls_total`` has a sample for each outcome, even at 0.
POLL_OUTCOMES = tuple(o.value for o in Outcome)

Snapshot = Callable[[], CollectorRegistry]


def _ts(when: datetime | None) -> float:
    return 0.0 if when is None else when.timestamp()


class OverviewCollector(Collector):
    """The metric families of one :class:`Overview` (names are a public contract: the
    README's metrics table and users' alerts rely on them)."""

    def __init__(self, view: Overview, sources: Sequence[str], now: datetime) -> None:
        self.view = view
        self.sources = list(sources)
        self.now = now

    def collect(self) -> Iterator[Metric]:
        view, sources = self.view, self.sources
        polls = CounterMetricFamily(
            "dlrpoll_polls_total",
            "Polls recorded in poll_runs, by source and outcome.",
            labels=["source", "outcome"],
        )
        last_success = GaugeMetricFamily(
            "dlrpoll_last_success_timestamp_seconds",
            "Start of the last successful poll (0: never).",
            labels=["source"],
        )
        last_ok = GaugeMetricFamily(
            "dlrpoll_last_poll_ok",
            "1 when the source's last poll succeeded, 0 when it failed or never ran.",
            labels=["source"],
        )
        last_partial = GaugeMetricFamily(
            "dlrpoll_last_poll_partial",
            "1 when the source's last poll left items on the server for an operator (partial).",
            labels=["source"],
        )
        quarantined = GaugeMetricFamily(
            "dlrpoll_quarantined",
            "Raw messages that did not parse (waiting for dlrpoll reparse), by source.",
            labels=["source"],
        )
        for name in sources:
            rep = view.sources.get(name)
            counts = rep.polls if rep else {}
            for outcome in POLL_OUTCOMES:
                polls.add_metric([name, outcome], counts.get(outcome, 0))
            last_success.add_metric([name], _ts(rep.last_success if rep else None))
            last_ok.add_metric([name], 1 if rep is not None and rep.outcome == "ok" else 0)
            held = 1 if rep is not None and rep.outcome == "partial" else 0
            last_partial.add_metric([name], held)
            quarantined.add_metric([name], view.quarantined.get(name, 0))
        receipts = GaugeMetricFamily(
            "dlrpoll_receipts", "Receipts stored, by canonical state.", labels=["state"]
        )
        for state, count in sorted(view.receipts_total_by_state.items()):
            receipts.add_metric([state], count)
        recent = GaugeMetricFamily(
            "dlrpoll_receipts_24h",
            "Receipts received in the last 24 hours, by state.",
            labels=["state"],
        )
        for state, count in sorted(view.receipts_by_state.items()):
            recent.add_metric([state], count)
        written = GaugeMetricFamily(
            "dlrpoll_metrics_written_timestamp_seconds",
            "When this file was written.",
            value=_ts(self.now),
        )
        yield from (
            polls,
            last_success,
            last_ok,
            last_partial,
            receipts,
            recent,
            quarantined,
            written,
        )


def registry_for(view: Overview, sources: Sequence[str], *, now: datetime) -> CollectorRegistry:
    """A registry that holds the metrics of ``view`` (pure)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(OverviewCollector(view, sources, now))
    return registry


def render(view: Overview, sources: Sequence[str], *, now: datetime) -> str:
    """The metrics as Prometheus text exposition format (pure)."""
    return generate_latest(registry_for(view, sources, now=now)).decode("utf-8")


def write_metrics(path: str | os.PathLike[str], registry: CollectorRegistry) -> None:
    """Write ``registry`` to ``path`` atomically; raises :class:`DlrpollError` naming the
    file and the fix."""
    target = Path(path)
    try:
        write_to_textfile(str(target), registry)
        # node_exporter needs to read it whatever our umask
        os.chmod(target, 0o644)
    except OSError as exc:
        raise DlrpollError(
            f"metrics file {target}: cannot write: {exc.strerror or exc}; check that the "
            f"directory {target.parent} exists and is writable by this user"
        ) from exc


class MetricsWriter:
    """Rewrites the metrics file after polls, at most once per ``min_gap`` seconds.

    ``request()`` is cheap and may be called from every poll thread; a background thread
    does the writing, so a daemon polling thousands of sources does not query the database
    after every single poll. ``close()`` writes a last time.
    """

    def __init__(
        self, path: str | os.PathLike[str], snapshot: Snapshot, *, min_gap: float = 5.0
    ) -> None:
        self.path = Path(path)
        self._snapshot = snapshot
        self._min_gap = min_gap
        self._wanted = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def write_now(self) -> None:
        """Write the file now; failures are logged, never raised (metrics must not stop
        polling)."""
        try:
            write_metrics(self.path, self._snapshot())
        except (DlrpollError, StoreError) as exc:
            log.error("metrics: %s", exc)

    def request(self) -> None:
        """Ask for a rewrite soon."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="metrics", daemon=True)
            self._thread.start()
        self._wanted.set()

    def _loop(self) -> None:
        while not self._closing.is_set():
            self._wanted.wait()
            if self._closing.is_set():
                return
            self._wanted.clear()
            self.write_now()
            self._closing.wait(self._min_gap)

    def close(self) -> None:
        """Stop the background thread and write the final state."""
        self._closing.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join()
        self.write_now()


def metrics_writer(
    path: str | os.PathLike[str] | None,
    config: LoadedConfig,
    store: Store,
    *,
    min_gap: float = 5.0,
    clock: Callable[[], datetime] | None = None,
) -> MetricsWriter | None:
    """A writer for ``--metrics-file`` over the configured sources' numbers in ``store``;
    ``None`` when no path is given."""
    if not path:
        return None
    now = clock or (lambda: datetime.now(UTC))
    names = [s.name for s in config.settings.sources]

    def snapshot() -> CollectorRegistry:
        at = now()
        view = reports.overview(store, names, now=at, messages=False)
        return registry_for(view, names, now=at)

    return MetricsWriter(path, snapshot, min_gap=min_gap)
