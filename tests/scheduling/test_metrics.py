"""The Prometheus textfile: rendered from the database's numbers through prometheus_client,
written atomically."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge

from dlrpoll.metrics import MetricsWriter, render, write_metrics
from dlrpoll.store.reports import Overview, SourceReport
from tests.support.metrics import value

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def overview() -> Overview:
    return Overview(
        sources={
            "box": SourceReport(
                "box", outcome="ok", last_success=NOW, polls={"ok": 3, "skipped": 1}
            ),
            'we"ird': SourceReport('we"ird', outcome="error", polls={"error": 2}),
        },
        receipts_by_state={"DELIVERED": 4},
        receipts_total_by_state={"DELIVERED": 9, "ENROUTE": 1},
        quarantined={"box": 2},
        messages_by_state={},
    )


def test_render_has_every_family_and_escapes_labels() -> None:
    text = render(overview(), ["box", 'we"ird', "never"], now=NOW)
    lines = text.splitlines()
    assert value(text, "dlrpoll_polls_total", source="box", outcome="ok") == 3
    assert value(text, "dlrpoll_polls_total", source="never", outcome="ok") == 0
    assert value(text, "dlrpoll_polls_total", source='we"ird', outcome="error") == 2
    assert 'dlrpoll_polls_total{outcome="error",source="we\\"ird"} 2.0' in lines
    assert value(text, "dlrpoll_last_success_timestamp_seconds", source="box") == NOW.timestamp()
    assert value(text, "dlrpoll_last_success_timestamp_seconds", source="never") == 0
    assert value(text, "dlrpoll_receipts", state="ENROUTE") == 1
    assert value(text, "dlrpoll_receipts_24h", state="DELIVERED") == 4
    assert value(text, "dlrpoll_quarantined", source="box") == 2
    assert value(text, "dlrpoll_last_poll_ok", source='we"ird') == 0
    assert value(text, "dlrpoll_metrics_written_timestamp_seconds") == NOW.timestamp()
    # every sample belongs to a family declared with HELP and TYPE
    families = {line.split()[2] for line in lines if line.startswith("# TYPE")}
    for line in lines:
        if not line.startswith("#"):
            assert line.split("{")[0].split()[0] in families


def registry(gauge_value: float) -> CollectorRegistry:
    reg = CollectorRegistry()
    Gauge("dlrpoll_x", "test", registry=reg).set(gauge_value)
    return reg


def test_write_metrics_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "dlrpoll.prom"
    target.write_text("old\n")
    write_metrics(target, registry(7))
    assert value(target.read_text(), "dlrpoll_x") == 7
    assert [p.name for p in tmp_path.iterdir()] == ["dlrpoll.prom"]
    assert target.stat().st_mode & 0o777 == 0o644


def test_a_failing_write_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = MetricsWriter(tmp_path / "missing-dir" / "x.prom", lambda: registry(1))
    with caplog.at_level(logging.ERROR):
        writer.write_now()
    assert "missing-dir" in caplog.text and "writable" in caplog.text


def test_the_writer_coalesces_requests_and_writes_on_close(tmp_path: Path) -> None:
    calls: list[int] = []
    first = threading.Event()

    def snapshot() -> CollectorRegistry:
        calls.append(1)
        first.set()
        return registry(len(calls))

    target = tmp_path / "m.prom"
    writer = MetricsWriter(target, snapshot, min_gap=3600)
    writer.request()
    assert first.wait(10)
    for _ in range(100):
        writer.request()  # inside min_gap: folded into one later write
    writer.close()
    assert len(calls) == 2
    assert value(target.read_text(), "dlrpoll_x") == 2
