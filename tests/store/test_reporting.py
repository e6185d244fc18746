"""The report's charts hold the expected counts, the page is self-contained, and every
Datasette canned query answers with the expected rows through ``datasette … --get``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import dlrpoll
from dlrpoll.cli import main
from dlrpoll.reporting import figures
from dlrpoll.store import Store
from dlrpoll.store.report_data import report_data
from dlrpoll.store.tables import TABLES

from . import reportdb

METADATA = Path(dlrpoll.__file__).with_name("datasette-metadata.json")


@pytest.fixture
def filled(store: Store) -> tuple[Store, datetime]:
    at = reportdb.now()
    reportdb.fill(store, at)
    return store, at


def day(at: datetime, hours_ago: float) -> str:
    return (at - timedelta(hours=hours_ago)).strftime("%Y-%m-%d")


def expected_delivery(at: datetime) -> list[tuple[str, str, int, int, int]]:
    """(day, source, messages, final, delivered) by the day of each message's first receipt."""
    first: dict[tuple[str, str], reportdb.Event] = {}
    last: dict[tuple[str, str], reportdb.Event] = {}
    for e in reportdb.EVENTS:
        first.setdefault((e.source, e.message_id), e)
        last[(e.source, e.message_id)] = e
    out: dict[tuple[str, str], list[int]] = {}
    for key, e in first.items():
        row = out.setdefault((day(at, e.hours_ago), e.source), [0, 0, 0])
        final = last[key]
        row[0] += 1
        row[1] += int(final.final)
        row[2] += int(final.state.name == "DELIVERED")
    return [(d, s, *v) for (d, s), v in sorted(out.items())]  # type: ignore[misc]


def test_the_report_data_holds_the_expected_counts(filled: tuple[Store, datetime]) -> None:
    store, at = filled
    data = report_data(store, at - timedelta(days=7))
    assert data.delivery == expected_delivery(at)
    assert sum(n for _d, _s, n in data.states) == len(reportdb.EVENTS)
    assert data.time_to_final == [
        ("mail", "< 10 s", 1),
        ("soap", "10 s – 1 min", 2),
        ("soap", "1 – 5 min", 1),
    ]
    polls = {(s, o): n for _d, s, o, n in data.polls}
    assert polls == {("soap", "ok"): 2, ("soap", "error"): 1, ("mail", "ok"): 1}
    assert {s: n for _d, s, n in data.quarantine} == reportdb.QUARANTINED
    assert sorted(r[2] for r in data.quarantine_latest) == [
        "unreadable #0",
        "unreadable #0",
        "unreadable #1",
    ]
    # a window that starts later leaves the older rows out
    recent = report_data(store, at - timedelta(hours=10))
    assert sum(n for _d, _s, n, _f, _ok in recent.delivery) == 4  # M1, M3, M5, M6


def test_the_charts_hold_the_data(filled: tuple[Store, datetime]) -> None:
    store, at = filled
    charts = figures(report_data(store, at - timedelta(days=7)))
    assert list(charts) == ["delivery", "states", "time_to_final", "polls", "quarantine"]
    delivery = {t.name: (list(t.x), list(t.y)) for t in charts["delivery"].data}
    for d, source, messages, _final, delivered in expected_delivery(at):
        i = delivery[source][0].index(d)
        assert delivery[source][1][i] == round(100.0 * delivered / messages, 1)
    states = {t.name: sum(t.y) for t in charts["states"].data}
    assert states == {"DELIVERED": 3, "ENROUTE": 3, "UNDELIVERABLE": 1}
    timing = {t.name: dict(zip(t.x, t.y, strict=True)) for t in charts["time_to_final"].data}
    assert timing["soap"]["10 s – 1 min"] == 2 and timing["mail"]["< 10 s"] == 1
    polls = {t.name: sum(t.y) for t in charts["polls"].data}
    assert polls == {"mail: ok": 1, "soap: error": 1, "soap: ok": 2}
    assert {t.name: sum(t.y) for t in charts["quarantine"].data} == reportdb.QUARANTINED


def test_report_writes_one_self_contained_page(
    filled: tuple[Store, datetime], db_path: Path, tmp_path: Path
) -> None:
    target = tmp_path / "report.html"
    args = ["report", "--database", str(db_path), "--since", "7d", "--output", str(target)]
    assert main([*args, "-q"]) == 0
    page = target.read_text(encoding="utf-8")
    # no network needed: no external script, stylesheet or image; plotly.js inlined once
    assert not re.search(r"""<(script|link|img)[^>]+(src|href)=["']?https?:""", page)
    assert page.count("plotly.js v") >= 1 and len(page) > 1_000_000
    for name in ("delivery", "states", "time_to_final", "polls", "quarantine"):
        assert f'id="chart-{name}"' in page
    assert "unreadable #1" in page and "UNDELIVERABLE" in page
    assert not (tmp_path / ".report.html.partial").exists()


def datasette(db: Path, path: str) -> Any:
    exe = Path(sys.executable).with_name("datasette")
    assert exe.exists(), "datasette is not installed: pip install -e '.[test]'"
    out = subprocess.run(
        [str(exe), str(db), "--metadata", str(METADATA), "--get", path],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_datasette_metadata_describes_every_table_and_column(
    store: Store, db_path: Path
) -> None:
    meta = json.loads(METADATA.read_text(encoding="utf-8"))
    tables = meta["databases"]["dlrpoll"]["tables"]
    assert set(tables) == {t.name for t in TABLES}
    for t in TABLES:
        assert tables[t.name]["description"]
        assert set(tables[t.name]["columns"]) == {c.name for c in t.columns}, t.name
        assert all(tables[t.name]["columns"].values())


def test_every_canned_query_answers_through_datasette(
    filled: tuple[Store, datetime], db_path: Path, tmp_path: Path
) -> None:
    store, at = filled
    served = tmp_path / "dlrpoll.sqlite"  # the metadata's database name is the file's
    assert main(["snapshot", str(served), "--database", str(db_path), "-q"]) == 0
    queries = json.loads(METADATA.read_text(encoding="utf-8"))["databases"]["dlrpoll"]["queries"]
    got = {
        name: datasette(served, f"/dlrpoll/{name}.json?_shape=array&days=7&hours=24")
        for name in queries
    }
    assert [
        (r["day"], r["source"], r["messages"], r["final"], r["delivered"])
        for r in got["delivery_rate_per_day"]
    ] == expected_delivery(at)
    assert got["failures_by_error_code"] == [
        {"source": "soap", "state": "UNDELIVERABLE", "error_code": "0B1", "messages": 1}
    ]
    assert got["time_to_final"] == [
        {
            "source": "mail",
            "messages": 1,
            "p50_seconds": 5.0,
            "p90_seconds": 5.0,
            "p99_seconds": 5.0,
            "max_seconds": 5.0,
        },
        {
            "source": "soap",
            "messages": 3,
            "p50_seconds": 20.0,
            "p90_seconds": 90.0,
            "p99_seconds": 90.0,
            "max_seconds": 90.0,
        },
    ]
    assert [(r["message_id"], r["state"]) for r in got["not_final_after_hours"]] == [
        ("M4", "ENROUTE")
    ]
    assert [(r["source"], r["quarantined"]) for r in got["quarantined_per_source"]] == [
        ("mail", 1),
        ("soap", 2),
    ]
    # the table pages and their facets work too
    page = datasette(served, "/dlrpoll/message_status.json?_shape=objects&_facet=state")
    assert len(page["rows"]) == 6
    facet = {v["value"]: v["count"] for v in page["facet_results"]["state"]["results"]}
    assert facet == {"DELIVERED": 3, "ENROUTE": 2, "UNDELIVERABLE": 1}


def test_report_without_plotly_says_what_to_install(
    store: Store,
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setitem(sys.modules, "plotly.graph_objects", None)  # import fails
    target = tmp_path / "report.html"
    assert main(["report", "--database", str(db_path), "--output", str(target)]) == 1
    assert "pip install 'dlrpoll[report]'" in capsys.readouterr().err
    assert not target.exists()
