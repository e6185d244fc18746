"""What ``dlrpoll status`` shows: per source, the last poll, when it is next due, what it
stored; and the totals. Plain data first (also the ``--json`` output), then a table.

"Next due" is the earliest the floor allows, computed by the scheduler's own
:func:`~dlrpoll.scheduling.floor.next_run_time` (so it includes the margin the daemon plans
with); the daemon adds its jitter on top.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dlrpoll.config import LoadedConfig
from dlrpoll.scheduling.floor import is_due, next_run_time
from dlrpoll.store import Store, masked_url, reports
from dlrpoll.store.opening import open_store


def _iso(when: datetime | None) -> str | None:
    return reports.to_text(when) if when else None


def status_data(config: LoadedConfig, store: Store, now: datetime) -> dict[str, Any]:
    """What ``status`` shows, as plain data (also the ``--json`` output).

    Per source: ``next_due`` is when the floor next lets it poll, ``due`` whether it may
    poll now. Times are ISO-8601 UTC text."""
    names = [s.name for s in config.settings.sources]
    view = reports.overview(store.engine, names, now=now)
    rows: list[dict[str, Any]] = []
    for cfg in config.settings.sources:
        rep = view.sources.get(cfg.name) or reports.SourceReport(cfg.name)
        rows.append(
            {
                "source": cfg.name,
                "kind": cfg.kind,
                "enabled": cfg.enabled,
                "interval_seconds": cfg.interval,
                "last_poll": _iso(rep.last_started),
                "last_finished": _iso(rep.last_finished),
                "outcome": rep.outcome,
                "error": rep.error,
                "due": is_due(rep.last_started, cfg.interval, now),
                "next_due": _iso(next_run_time(rep.last_started, cfg.interval, now)),
                "last_success": _iso(rep.last_success),
                "last_counts": {
                    "fetched": rep.fetched,
                    "stored": rep.stored,
                    "duplicates": rep.duplicates,
                    "quarantined": rep.quarantined,
                },
                "polls": rep.polls,
                "receipts": rep.receipts,
                "waiting_reparse": rep.waiting_reparse,
            }
        )
    return {
        "database": masked_url(config.database_url),
        "now": reports.to_text(now),
        "sources": rows,
        "receipts_by_state_24h": view.receipts_by_state,
        "messages_by_state": view.messages_by_state,
        "quarantined_waiting_reparse": view.quarantined,
    }


def _fmt(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if when else "never"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def _by_key(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def format_status(data: dict[str, Any]) -> list[str]:
    """:func:`status_data` as a table for people."""
    header = ("source", "last poll (UTC)", "outcome", "next due (UTC)", "last counts", "receipts")
    table: list[tuple[str, ...]] = [header]
    for row in data["sources"]:
        c = row["last_counts"]
        table.append(
            (
                row["source"] + ("" if row["enabled"] else " (disabled)"),
                _fmt(reports.to_time(row["last_poll"])),
                row["outcome"] or "-",
                "due now" if row["due"] else _fmt(reports.to_time(row["next_due"])),
                f"{c['fetched']} fetched, {c['stored']} stored, {c['duplicates']} dup, "
                f"{c['quarantined']} quar",
                str(row["receipts"]),
            )
        )
    lines = _table(table)
    for row in data["sources"]:
        if row["outcome"] == "error" and row["error"]:
            lines.append(f"  {row['source']}: last error: {row['error']}")
    lines.append("")
    lines.append("receipts in the last 24 h: " + (_by_key(data["receipts_by_state_24h"]) or "none"))
    lines.append("messages by state: " + (_by_key(data["messages_by_state"]) or "none"))
    quarantined = data["quarantined_waiting_reparse"]
    total = sum(quarantined.values())
    lines.append(
        f"quarantined raw messages waiting for `dlrpoll reparse`: {total}"
        + (f" ({_by_key(quarantined)})" if total else "")
    )
    return lines


def read_status(config: LoadedConfig, now: datetime) -> dict[str, Any]:
    """:func:`status_data` from the configured database, opened read-only (never created or
    migrated; see :mod:`dlrpoll.store.readonly`) and closed here."""
    with open_store(config, read_only=True) as store:
        return status_data(config, store, now)
