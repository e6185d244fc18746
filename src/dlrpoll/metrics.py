"""Prometheus text-format metrics for node_exporter's textfile collector.

The file is written whole to a temporary file in the same directory and renamed over the old
one, so the collector never reads half a file. Counts come from the database, so ``poll``
run by cron (a new process each time) and the daemon report the same monotonic totals.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from dlrpoll.errors import DlrpollError, StoreError
from dlrpoll.store.reports import Overview

log = logging.getLogger(__name__)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _ts(when: datetime | None) -> str:
    return "0" if when is None else f"{when.timestamp():.3f}"


def render(view: Overview, sources: Sequence[str], *, now: datetime) -> str:
    """The metrics as Prometheus text exposition format (pure)."""
    out: list[str] = []

    def family(name: str, kind: str, help_text: str) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    family("dlrpoll_polls_total", "counter", "Polls recorded in poll_runs, by source and outcome.")
    for name in sources:
        rep = view.sources.get(name)
        counts = rep.polls if rep else {}
        for outcome in ("ok", "partial", "error", "skipped"):
            out.append(
                f'dlrpoll_polls_total{{source="{_label(name)}",outcome="{outcome}"}} '
                f"{counts.get(outcome, 0)}"
            )
    family(
        "dlrpoll_last_success_timestamp_seconds",
        "gauge",
        "Start of the last successful poll (0: never).",
    )
    for name in sources:
        rep = view.sources.get(name)
        out.append(
            f'dlrpoll_last_success_timestamp_seconds{{source="{_label(name)}"}} '
            f"{_ts(rep.last_success if rep else None)}"
        )
    family(
        "dlrpoll_last_poll_ok",
        "gauge",
        "1 when the source's last poll succeeded, 0 when it failed or never ran.",
    )
    for name in sources:
        rep = view.sources.get(name)
        ok = 1 if rep is not None and rep.outcome == "ok" else 0
        out.append(f'dlrpoll_last_poll_ok{{source="{_label(name)}"}} {ok}')
    family(
        "dlrpoll_last_poll_partial",
        "gauge",
        "1 when the source's last poll left items on the server for an operator (partial).",
    )
    for name in sources:
        rep = view.sources.get(name)
        held = 1 if rep is not None and rep.outcome == "partial" else 0
        out.append(f'dlrpoll_last_poll_partial{{source="{_label(name)}"}} {held}')
    family("dlrpoll_receipts", "gauge", "Receipts stored, by canonical state.")
    for state, count in sorted(view.receipts_total_by_state.items()):
        out.append(f'dlrpoll_receipts{{state="{_label(state)}"}} {count}')
    family("dlrpoll_receipts_24h", "gauge", "Receipts received in the last 24 hours, by state.")
    for state, count in sorted(view.receipts_by_state.items()):
        out.append(f'dlrpoll_receipts_24h{{state="{_label(state)}"}} {count}')
    family(
        "dlrpoll_quarantined",
        "gauge",
        "Raw messages that did not parse (waiting for dlrpoll reparse), by source.",
    )
    for name in sources:
        out.append(
            f'dlrpoll_quarantined{{source="{_label(name)}"}} {view.quarantined.get(name, 0)}'
        )
    family("dlrpoll_metrics_written_timestamp_seconds", "gauge", "When this file was written.")
    out.append(f"dlrpoll_metrics_written_timestamp_seconds {_ts(now)}")
    return "\n".join(out) + "\n"


def write_atomic(path: str | os.PathLike[str], content: str) -> None:
    """Write ``content`` to ``path`` via a temporary file and a rename (never half a file)."""
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    except OSError as exc:
        raise DlrpollError(
            f"metrics file {target}: cannot create a file in {target.parent}: {exc.strerror}; "
            f"check that the directory exists and is writable"
        ) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(content)
        # node_exporter needs to read it whatever our umask
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise DlrpollError(f"metrics file {target}: cannot write: {exc.strerror}") from exc


class MetricsWriter:
    """Rewrites the metrics file after polls, at most once per ``min_gap`` seconds.

    ``request()`` is cheap and may be called from every poll thread; a background thread
    does the writing, so a daemon polling thousands of sources does not query the database
    after every single poll. ``close()`` writes a last time.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        snapshot: Callable[[], str],
        *,
        min_gap: float = 5.0,
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
            write_atomic(self.path, self._snapshot())
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
