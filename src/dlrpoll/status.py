"""What ``dlrpoll status`` shows: per source, the last poll, when it is next due, what it
stored; and the totals. Plain data first (also the ``--json`` output), then a table.

"Next due" is the earliest the floor allows, computed by the scheduler's own
:func:`~dlrpoll.scheduling.floor.next_run_time` (so it includes the margin the daemon plans
with); the daemon adds its jitter on top.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from dlrpoll.config import LoadedConfig
from dlrpoll.scheduling.floor import is_due, next_run_time
from dlrpoll.store import Lease, Store, masked_url, reports
from dlrpoll.store.opening import open_store


def _iso(when: datetime | None) -> str | None:
    return reports.to_text(when) if when else None


def status_data(config: LoadedConfig, store: Store, now: datetime) -> dict[str, Any]:
    """What ``status`` shows, as plain data (also the ``--json`` output).

    Per source: ``next_due`` is when the floor next lets it poll, ``due`` whether it may
    poll now. Times are ISO-8601 UTC text."""
    names = [s.name for s in config.settings.sources]
    view = reports.overview(store, names, now=now)
    held = reports.claims(store, now)
    leases = store.leases(names)
    rows: list[dict[str, Any]] = []
    for cfg in config.settings.sources:
        rep = view.sources.get(cfg.name) or reports.SourceReport(cfg.name)
        owner, until = held.get(cfg.name, (None, None))
        lease = leases.get(cfg.name)
        holder = lease.holder if lease is not None else None
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
                    "fetched": rep.counts.fetched,
                    "stored": rep.counts.stored,
                    "duplicates": rep.counts.duplicates,
                    "quarantined": rep.counts.quarantined,
                },
                "polls": rep.polls,
                "receipts": rep.receipts,
                "waiting_reparse": rep.waiting_reparse,
                "claimed_by": owner,
                "claimed_until": _iso(until),
                # the same row as the lease: one answer to "does its holder still run"
                "claim_holder_alive": None if owner is None or holder is None else holder.running(),
                **lease_data(lease, now),
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


def lease_data(lease: Lease | None, now: datetime) -> dict[str, Any]:
    """A source's lease for ``status --json``: who holds it, until when, in what state
    (``free``, ``held``, ``expired``, ``gone``: see :meth:`Lease.state`), and the count of
    refused poll attempts."""
    if lease is None:
        return {"lease": None, "skipped_attempts": 0}
    holder = lease.holder
    return {
        "lease": None
        if holder is None
        else {
            "holder": holder.name,
            "until": reports.to_text(lease.until) if lease.until else None,
            "state": lease.state(now),
        },
        "skipped_attempts": lease.skipped,
    }


def lease_line(row: dict[str, Any], tz: tzinfo | None = UTC) -> str | None:
    """Who holds a source, for people (times in ``tz``, ``None`` for local time);
    ``None`` when nobody does."""
    lease = row.get("lease")
    if not lease:
        return None
    until = _fmt(reports.to_time(lease["until"]), tz) + (" UTC" if tz is UTC else "")
    state = lease["state"]
    if state == "held":
        return f"being polled by {lease['holder']}, lease until {until}"
    if state == "gone":
        return (
            f"leased by {lease['holder']} until {until}, but that process is gone: the "
            f"next poll takes it over (or `dlrpoll release {row['source']}`)"
        )
    return f"lease of {lease['holder']} ran out at {until} (its holder stopped renewing it)"


def _fmt(when: datetime | None, tz: tzinfo | None = UTC) -> str:
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if when else "never"


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]


def _by_key(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def format_status(data: dict[str, Any], *, local: bool = False) -> list[str]:
    """:func:`status_data` as a table for people; times in UTC, or in the local time zone
    (``local``)."""
    tz = None if local else UTC
    zone = "local" if local else "UTC"
    header: tuple[str, ...] = (
        "source",
        f"last poll ({zone})",
        "outcome",
        f"next due ({zone})",
        "last counts",
        "receipts",
    )
    table: list[tuple[str, ...]] = [header]
    for row in data["sources"]:
        c = row["last_counts"]
        table.append(
            (
                row["source"] + ("" if row["enabled"] else " (disabled)"),
                _fmt(reports.to_time(row["last_poll"]), tz),
                row["outcome"] or "-",
                "due now" if row["due"] else _fmt(reports.to_time(row["next_due"]), tz),
                f"{c['fetched']} fetched, {c['stored']} stored, {c['duplicates']} dup, "
                f"{c['quarantined']} quar",
                str(row["receipts"]),
            )
        )
    lines = _table(table)
    for row in data["sources"]:
        name = row["source"]
        if row["outcome"] == "error" and row["error"]:
            lines.append(f"  {name}: last error: {row['error']}")
        elif row["outcome"] == "partial" and row["error"]:
            lines.append(f"  {name}: waiting for an operator: {row['error']}")
        # one line from the source's lease (the claim_* keys of --json are the same row)
        if (lease := lease_line(row, tz)) is not None:
            lines.append(f"  {name}: {lease}")
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
