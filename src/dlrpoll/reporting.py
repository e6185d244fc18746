"""``dlrpoll report``: one self-contained HTML page of charts, for operators.

Built with plotly (the ``report`` extra): plotly.js is inlined once in the page, so it
opens with no network at all (firewalled sites). The charts are built from
:class:`~dlrpoll.store.report_data.ReportData` by :func:`figures` (tested on their data,
not their pixels); :func:`render` lays them out with a summary and the latest quarantined
items.
"""

from __future__ import annotations

import html
from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dlrpoll.errors import DlrpollError
from dlrpoll.store.report_data import TIME_BUCKETS, ReportData

if TYPE_CHECKING:
    import plotly.graph_objects as go

OUTCOME_COLOURS = {"ok": "#2ca02c", "partial": "#ff7f0e", "error": "#d62728", "skipped": "#aaaaaa"}


def _plotly() -> Any:
    try:
        import plotly.graph_objects as go_module
    except ImportError as exc:
        raise DlrpollError(
            "dlrpoll report needs plotly: install the report extra "
            "(pip install 'dlrpoll[report]', or pip install plotly)"
        ) from exc
    return go_module


def figures(data: ReportData) -> dict[str, go.Figure]:
    """The report's charts by name: ``delivery`` (delivered % per day and source),
    ``states`` (receipts per day by state), ``time_to_final`` (messages per duration
    bucket and source), ``polls`` (polls per day by source and outcome), ``quarantine``
    (raw items quarantined per day and source). Raises DlrpollError without plotly."""
    go_ = _plotly()
    out: dict[str, go.Figure] = {}

    fig = go_.Figure()
    by_source: dict[str, list[tuple[str, int, int]]] = defaultdict(list)
    for day, source, messages, _final, delivered in data.delivery:
        by_source[source].append((day, messages, delivered))
    for source, rows in sorted(by_source.items()):
        fig.add_trace(
            go_.Scatter(
                name=source,
                x=[d for d, _m, _ok in rows],
                y=[round(100.0 * ok / m, 1) if m else 0.0 for _d, m, ok in rows],
                customdata=[[m, ok] for _d, m, ok in rows],
                hovertemplate="%{x}: %{y}% delivered (%{customdata[1]} of %{customdata[0]})",
                mode="lines+markers",
            )
        )
    fig.update_layout(
        title="Delivery rate per day", yaxis_title="% delivered", yaxis_range=[0, 100]
    )
    out["delivery"] = fig

    fig = go_.Figure()
    by_state: dict[str, dict[str, int]] = defaultdict(dict)
    for day, state, n in data.states:
        by_state[state][day] = n
    days = sorted({d for d, _s, _n in data.states})
    for state, counts in sorted(by_state.items()):
        fig.add_trace(go_.Bar(name=state, x=days, y=[counts.get(d, 0) for d in days]))
    fig.update_layout(title="Receipts by state per day", barmode="stack", yaxis_title="receipts")
    out["states"] = fig

    fig = go_.Figure()
    labels = [label for _bound, label in TIME_BUCKETS]
    timing: dict[str, dict[str, int]] = defaultdict(dict)
    for source, bucket, n in data.time_to_final:
        timing[source][bucket] = n
    for source, counts in sorted(timing.items()):
        fig.add_trace(go_.Bar(name=source, x=labels, y=[counts.get(b, 0) for b in labels]))
    fig.update_layout(
        title="Time from submit to final state", barmode="group", yaxis_title="messages"
    )
    out["time_to_final"] = fig

    fig = go_.Figure()
    polls: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for day, source, outcome, n in data.polls:
        polls[(source, outcome)][day] = n
    poll_days = sorted({d for d, _s, _o, _n in data.polls})
    for (source, outcome), counts in sorted(polls.items()):
        fig.add_trace(
            go_.Bar(
                name=f"{source}: {outcome}",
                legendgroup=source,
                x=[[source] * len(poll_days), poll_days],
                y=[counts.get(d, 0) for d in poll_days],
                marker_color=OUTCOME_COLOURS.get(outcome),
            )
        )
    fig.update_layout(title="Poll health per source and day", barmode="stack", yaxis_title="polls")
    out["polls"] = fig

    fig = go_.Figure()
    quarantine: dict[str, dict[str, int]] = defaultdict(dict)
    for day, source, n in data.quarantine:
        quarantine[source][day] = n
    q_days = sorted({d for d, _s, _n in data.quarantine})
    for source, counts in sorted(quarantine.items()):
        fig.add_trace(go_.Bar(name=source, x=q_days, y=[counts.get(d, 0) for d in q_days]))
    fig.update_layout(
        title="Raw items quarantined per day", barmode="stack", yaxis_title="raw items"
    )
    out["quarantine"] = fig
    return out


def _summary(data: ReportData) -> str:
    messages = sum(m for _d, _s, m, _f, _ok in data.delivery)
    final = sum(f for _d, _s, _m, f, _ok in data.delivery)
    delivered = sum(ok for _d, _s, _m, _f, ok in data.delivery)
    polls = sum(n for _d, _s, _o, n in data.polls)
    failed = sum(n for _d, _s, o, n in data.polls if o == "error")
    quarantined = sum(n for _d, _s, n in data.quarantine)
    pct = f"{100.0 * delivered / messages:.1f}%" if messages else "-"
    items = [
        ("messages", f"{messages:,}"),
        ("final", f"{final:,}"),
        ("delivered", f"{delivered:,} ({pct})"),
        ("polls", f"{polls:,} ({failed:,} failed)"),
        ("quarantined raw items", f"{quarantined:,}"),
    ]
    return "".join(f"<div><b>{html.escape(v)}</b><br>{html.escape(k)}</div>" for k, v in items)


def render(data: ReportData, *, title: str, generated: datetime) -> str:
    """The whole page: a self-contained HTML document."""
    charts = figures(data)
    parts = []
    for n, (name, fig) in enumerate(charts.items()):
        parts.append(
            f'<section id="{name}">'
            + fig.to_html(full_html=False, include_plotlyjs=(n == 0), div_id=f"chart-{name}")
            + "</section>"
        )
    latest = "".join(
        f"<tr><td>{html.escape(at)}</td><td>{html.escape(src)}</td><td>{html.escape(err)}</td></tr>"
        for at, src, err in data.quarantine_latest
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
.summary {{ display: flex; gap: 2em; margin: 1em 0 2em; }}
.summary div {{ font-size: 0.9em; }} .summary b {{ font-size: 1.6em; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
td, th {{ border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>From {html.escape(data.since)} to {html.escape(generated.isoformat(timespec="seconds"))}
(UTC). Messages are counted by the day of their first receipt.</p>
<div class="summary">{_summary(data)}</div>
{"".join(parts)}
<h2>Latest quarantined raw items</h2>
<table><tr><th>fetched</th><th>source</th><th>why</th></tr>{latest}</table>
</body></html>
"""
