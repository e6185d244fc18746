"""Read-only queries for ``status`` and the metrics file.

Plain SQL against the public schema (``raw_messages``, ``receipts``, ``poll_runs``,
``message_status`` and the source-state table), so these double as examples of what a
reporting tool can ask. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from dlrpoll.errors import StoreError
from dlrpoll.store.tables import iso


@dataclass(frozen=True)
class SourceReport:
    """What ``status`` shows for one source."""

    source: str
    last_started: datetime | None = None
    last_finished: datetime | None = None
    outcome: str | None = None
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
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
    datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        got = value
    else:
        got = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return got if got.tzinfo else got.replace(tzinfo=UTC)


def to_text(when: datetime) -> str:
    """A datetime as the store writes it (``2026-11-22T14:07:53.123456Z``), for SQL."""
    return iso(when)


def _rows(engine: Engine, sql: str, **params: object) -> list[tuple[object, ...]]:
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    except SQLAlchemyError as exc:
        raise StoreError(f"reading the database for a report failed: {exc}") from exc


def last_starts(engine: Engine, sources: Sequence[str] | None = None) -> dict[str, datetime]:
    """When each source's last poll started, as the claims in the database record it (skipped
    attempts do not count)."""
    rows = _rows(engine, LAST_STARTS_SQL)
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

RECEIPTS_BY_SOURCE_SQL = "SELECT source, count(*) FROM receipts GROUP BY source"

RECEIPTS_BY_STATE_SINCE_SQL = """
SELECT state, count(*) FROM receipts WHERE received_at >= :since GROUP BY state
"""

RECEIPTS_BY_STATE_SQL = "SELECT state, count(*) FROM receipts GROUP BY state"

MESSAGES_BY_STATE_SQL = "SELECT state, count(*) FROM message_status GROUP BY state"

#: quarantined raw messages (``dlrpoll reparse`` retries them after a profile is fixed)
QUARANTINED_SQL = """
SELECT source, count(*) FROM raw_messages WHERE parse_error IS NOT NULL GROUP BY source
"""


def _counts(rows: Iterable[tuple[object, ...]]) -> dict[str, int]:
    return {str(k): int(str(v)) for k, v in rows}


def overview(
    engine: Engine, sources: Sequence[str], *, now: datetime, messages: bool = True
) -> Overview:
    """Per-source state and the totals, for ``status`` and the metrics file."""
    reports: dict[str, dict[str, object]] = {name: {"source": name} for name in sources}

    def put(name: object, **values: object) -> None:
        reports.setdefault(str(name), {"source": str(name)}).update(values)

    for name, started, finished, outcome, fetched, stored, dups, quar, error in _rows(
        engine, LAST_POLL_SQL
    ):
        put(
            name,
            last_started=to_time(started),
            last_finished=to_time(finished),
            outcome=outcome,
            fetched=fetched or 0,
            stored=stored or 0,
            duplicates=dups or 0,
            quarantined=quar or 0,
            error=error,
        )
    for name, value in _rows(engine, LAST_SUCCESS_SQL):
        put(name, last_success=to_time(value))
    polls: dict[str, dict[str, int]] = {}
    for name, outcome, count in _rows(engine, POLL_COUNTS_SQL):
        polls.setdefault(str(name), {})[str(outcome)] = int(str(count))
    for name, by_outcome in polls.items():
        put(name, polls=by_outcome)
    for name, count in _rows(engine, RECEIPTS_BY_SOURCE_SQL):
        put(name, receipts=int(str(count)))
    quarantined = _counts(_rows(engine, QUARANTINED_SQL))
    for name, count in quarantined.items():
        put(name, waiting_reparse=count)
    since = now.timestamp() - 86400
    return Overview(
        sources={k: SourceReport(**v) for k, v in reports.items()},  # type: ignore[arg-type]
        receipts_by_state=_counts(
            _rows(
                engine,
                RECEIPTS_BY_STATE_SINCE_SQL,
                since=to_text(datetime.fromtimestamp(since, UTC)),
            )
        ),
        receipts_total_by_state=_counts(_rows(engine, RECEIPTS_BY_STATE_SQL)),
        quarantined=quarantined,
        messages_by_state=_counts(_rows(engine, MESSAGES_BY_STATE_SQL)) if messages else {},
    )


MESSAGE_SAMPLE_SQL = """
SELECT scope, message_id, state, final, done_at, receipts, conflict
FROM message_status ORDER BY scope, message_id LIMIT :limit
"""


def message_sample(engine: Engine, limit: int = 5) -> list[dict[str, object]]:
    """A few rows of ``message_status``, for the demo."""
    cols = ("scope", "message_id", "state", "final", "done_at", "receipts", "conflict")
    return [
        dict(zip(cols, row, strict=True)) for row in _rows(engine, MESSAGE_SAMPLE_SQL, limit=limit)
    ]
