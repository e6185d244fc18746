"""Read-only queries for ``status``, the scheduler and the metrics file.

Plain SQL against the public schema (``raw_messages``, ``receipts``, ``poll_runs``,
``message_status`` and the source-state table), so these double as examples of what a
reporting tool can ask. Nothing here writes. Each function reads in one read transaction
of the store (one consistent snapshot), through the store's error edge, so a locked or
broken file is reported like any other store failure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text

from dlrpoll.counts import Counts
from dlrpoll.timestamps import from_text_or_none, to_text

if TYPE_CHECKING:
    from dlrpoll.store.database import Database


@dataclass(frozen=True)
class SourceReport:
    """What ``status`` shows for one source; ``counts`` are its last poll's."""

    source: str
    last_started: datetime | None = None
    last_finished: datetime | None = None
    outcome: str | None = None
    counts: Counts = Counts()
    error: str | None = None
    last_success: datetime | None = None
    polls: dict[str, int] = field(default_factory=dict)
    receipts: int = 0
    waiting_reparse: int = 0


@dataclass(frozen=True)
class Overview:
    """Everything ``status`` and the metrics file report, read in one go."""

    sources: dict[str, SourceReport]
    receipts_by_state: dict[str, int]
    receipts_total_by_state: dict[str, int]
    quarantined: dict[str, int]
    messages_by_state: dict[str, int]


def to_time(value: object) -> datetime | None:
    """A stored timestamp (ISO-8601 UTC text; a driver may hand back a datetime) as an aware
    datetime; ``None`` for ``None``."""
    if value is None or isinstance(value, datetime):
        return from_text_or_none(value)
    return from_text_or_none(str(value))


__all__ = [
    "Overview",
    "SourceReport",
    "last_starts",
    "message_sample",
    "overview",
    "to_text",  # a datetime as the store writes it: dlrpoll.timestamps.to_text
    "to_time",
]


def _rows(conn: Connection, sql: str, **params: object) -> list[tuple[object, ...]]:
    return [tuple(r) for r in conn.execute(text(sql), params)]


def last_starts(db: Database, sources: Sequence[str] | None = None) -> dict[str, datetime]:
    """When each source's last poll started, as the claims in the database record it (skipped
    attempts do not count)."""
    with db.reader() as conn:
        rows = _rows(conn, LAST_STARTS_SQL)
    out = {str(name): t for name, value in rows if (t := to_time(value)) is not None}
    if sources is not None:
        wanted = set(sources)
        out = {k: v for k, v in out.items() if k in wanted}
    return out


#: the claim's record: set when a poll is granted its claim, whoever polled
LAST_STARTS_SQL = """
SELECT source, last_started_at FROM source_state WHERE last_started_at IS NOT NULL
"""

LAST_POLL_SQL = """
SELECT p.source, p.started_at, p.finished_at, p.outcome, p.fetched, p.stored, p.duplicates,
       p.quarantined, p.error
FROM poll_runs AS p
JOIN (SELECT source, max(id) AS id FROM poll_runs WHERE outcome <> 'skipped' GROUP BY source)
     AS last ON last.id = p.id
"""

LAST_SUCCESS_SQL = """
SELECT source, max(started_at) FROM poll_runs WHERE outcome IN ('ok', 'partial') GROUP BY source
"""

POLL_COUNTS_SQL = "SELECT source, outcome, count(*) FROM poll_runs GROUP BY source, outcome"

#: poll attempts refused a lease (inside the floor, or while another poller held it)
SKIPPED_SQL = "SELECT source, skipped FROM source_state WHERE skipped > 0"

RECEIPTS_BY_SOURCE_SQL = "SELECT source, count(*) FROM receipts GROUP BY source"

RECEIPTS_BY_STATE_SINCE_SQL = """
SELECT state, count(*) FROM receipts WHERE received_at >= :since GROUP BY state
"""

RECEIPTS_BY_STATE_SQL = "SELECT state, count(*) FROM receipts GROUP BY state"

MESSAGES_BY_STATE_SQL = "SELECT state, count(*) FROM message_status GROUP BY state"

#: quarantined raw messages (``dlrpoll reparse`` retries them after a profile is fixed) that
#: no operator has dismissed (``dlrpoll quarantine dismiss``)
QUARANTINED_SQL = """
SELECT source, count(*) FROM raw_messages
WHERE parse_error IS NOT NULL AND dismissed_at IS NULL GROUP BY source
"""


def _int(value: object) -> int:
    return int(str(value))


def _counts(rows: Iterable[tuple[object, ...]]) -> dict[str, int]:
    return {str(k): _int(v) for k, v in rows}


def overview(
    db: Database, sources: Sequence[str], *, now: datetime, messages: bool = True
) -> Overview:
    """Per-source state and the totals, for ``status`` and the metrics file, from one
    snapshot. ``messages=False`` leaves ``messages_by_state`` empty."""
    with db.reader() as conn:
        return _overview(conn, sources, now=now, messages=messages)


def _overview(
    conn: Connection, sources: Sequence[str], *, now: datetime, messages: bool
) -> Overview:
    reports: dict[str, dict[str, object]] = {name: {"source": name} for name in sources}

    def put(name: object, **values: object) -> None:
        reports.setdefault(str(name), {"source": str(name)}).update(values)

    for name, started, finished, outcome, fetched, stored, dups, quar, error in _rows(
        conn, LAST_POLL_SQL
    ):
        put(
            name,
            last_started=to_time(started),
            last_finished=to_time(finished),
            outcome=outcome,
            counts=Counts(_int(fetched or 0), _int(stored or 0), _int(dups or 0), _int(quar or 0)),
            error=error,
        )
    for name, value in _rows(conn, LAST_SUCCESS_SQL):
        put(name, last_success=to_time(value))
    polls: dict[str, dict[str, int]] = {}
    for name, outcome, count in _rows(conn, POLL_COUNTS_SQL):
        polls.setdefault(str(name), {})[str(outcome)] = _int(count)
    for name, count in _rows(conn, SKIPPED_SQL):
        # refused attempts are a counter, not poll_runs rows (older rows may say skipped)
        by_outcome = polls.setdefault(str(name), {})
        by_outcome["skipped"] = by_outcome.get("skipped", 0) + _int(count)
    for name, by_outcome in polls.items():
        put(name, polls=by_outcome)
    for name, count in _rows(conn, RECEIPTS_BY_SOURCE_SQL):
        put(name, receipts=_int(count))
    quarantined = _counts(_rows(conn, QUARANTINED_SQL))
    for name, count in quarantined.items():
        put(name, waiting_reparse=count)
    since = to_text(now - timedelta(days=1))
    return Overview(
        sources={k: SourceReport(**v) for k, v in reports.items()},  # type: ignore[arg-type]
        receipts_by_state=_counts(_rows(conn, RECEIPTS_BY_STATE_SINCE_SQL, since=since)),
        receipts_total_by_state=_counts(_rows(conn, RECEIPTS_BY_STATE_SQL)),
        quarantined=quarantined,
        messages_by_state=_counts(_rows(conn, MESSAGES_BY_STATE_SQL)) if messages else {},
    )


MESSAGE_SAMPLE_SQL = """
SELECT scope, message_id, state, final, done_at, receipts, conflict
FROM message_status ORDER BY scope, message_id LIMIT :limit
"""


def message_sample(db: Database, limit: int = 5) -> list[dict[str, object]]:
    """A few rows of ``message_status``, for the demo."""
    cols = ("scope", "message_id", "state", "final", "done_at", "receipts", "conflict")
    with db.reader() as conn:
        rows = _rows(conn, MESSAGE_SAMPLE_SQL, limit=limit)
    return [dict(zip(cols, row, strict=True)) for row in rows]


#: who holds each source's claim now, and until when (``dlrpoll status``)
CLAIMS_SQL = """
SELECT source, claimed_by, claimed_until FROM source_state WHERE claimed_by IS NOT NULL
"""


def claims(db: Database, now: datetime) -> dict[str, tuple[str, datetime]]:
    """Claims still in force at ``now``: source → (owner, until)."""
    out: dict[str, tuple[str, datetime]] = {}
    with db.reader() as conn:
        rows = _rows(conn, CLAIMS_SQL)
    for name, owner, until in rows:
        when = to_time(until)
        if when is not None and when > now:
            out[str(name)] = (str(owner), when)
    return out
