"""The tables and the view: the database's public contract (see the README's schema section).

Every name here is read by reporting tools, so a change needs a schema version and a
migration (``migrations.py``). Column types are plain and dialect-neutral: timestamps are
ISO-8601 UTC text (:func:`iso`), booleans are integers 0/1, so the same SQL works in the
``sqlite3`` shell, in spreadsheets and on PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Index, LargeBinary, Table, func
from sqlmodel import Field, SQLModel


def iso(dt: datetime) -> str:
    """``2026-11-22T14:07:53.123456Z``: UTC, always microseconds, always ``Z``.

    The fixed width makes lexical order equal time order, so ``WHERE done_at >= '2026-11'``
    and ``ORDER BY done_at`` are right in any tool. A naive datetime is taken as UTC.
    """
    offset = dt.utcoffset()
    if offset:
        dt = dt - offset
    return dt.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def iso_or_none(dt: datetime | None) -> str | None:
    return None if dt is None else iso(dt)


def from_iso(text: str) -> datetime:
    """The aware UTC datetime a stored timestamp stands for."""
    return datetime.fromisoformat(text).astimezone(UTC)


class RawMessage(SQLModel, table=True):
    """``raw_messages``: the journal, every raw item ever fetched, committed before any
    acknowledgement reaches the source."""

    __tablename__ = "raw_messages"

    id: int | None = Field(default=None, primary_key=True)
    source: str
    remote_id: str | None = None
    sha256: str
    fetched_at: str
    payload: bytes = Field(sa_column=Column("payload", LargeBinary, nullable=False))
    format: str
    sender: str | None = None
    received_at: str | None = None
    #: why the item is quarantined; NULL once it parsed
    parse_error: str | None = None
    #: how many receipts it yielded; NULL until parsed (NULL and no parse_error: unprocessed)
    receipts: int | None = None
    parsed_at: str | None = None
    #: when an operator dismissed this quarantined item (``dlrpoll quarantine dismiss``): it
    #: stays in the journal but no longer counts as waiting; NULL otherwise
    dismissed_at: str | None = None
    #: when ``[retention] raw_payloads`` dropped the payload (now empty); the row, its keys
    #: (``remote_id``, ``sha256``) and its outcome stay, so dedupe still works; NULL otherwise
    pruned_at: str | None = None


class ReceiptRow(SQLModel, table=True):
    """``receipts``: one row per distinct receipt event."""

    __tablename__ = "receipts"

    id: int | None = Field(default=None, primary_key=True)
    raw_id: int = Field(foreign_key="raw_messages.id")
    source: str
    scope: str
    message_id: str
    state: str
    state_code: int
    final: int
    provider_status: str
    error_code: str | None = None
    submitted_at: str | None = None
    done_at: str | None = None
    sub: int | None = None
    dlvrd: int | None = None
    src_addr: str | None = None
    dst_addr: str | None = None
    client_ref: str | None = None
    text: str | None = None
    format: str
    received_at: str


class PollRunRow(SQLModel, table=True):
    """``poll_runs``: one row per poll, skipped ones included."""

    __tablename__ = "poll_runs"

    id: int | None = Field(default=None, primary_key=True)
    source: str
    started_at: str
    finished_at: str
    outcome: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    error: str | None = None


class SourceState(SQLModel, table=True):
    """``source_state``: the scheduler's claim on each source, shared by every poller."""

    __tablename__ = "source_state"

    source: str = Field(primary_key=True)
    last_started_at: str | None = None
    claimed_by: str | None = None
    claimed_until: str | None = None


raw_messages: Table = RawMessage.__table__  # type: ignore[attr-defined]
receipts: Table = ReceiptRow.__table__  # type: ignore[attr-defined]
poll_runs: Table = PollRunRow.__table__  # type: ignore[attr-defined]
source_state: Table = SourceState.__table__  # type: ignore[attr-defined]

TABLES: tuple[Table, ...] = (raw_messages, receipts, poll_runs, source_state)

# The journal's identity of an item: its remote id when the source has one, else its bytes.
Index(
    "ux_raw_messages_remote_id",
    raw_messages.c.source,
    raw_messages.c.remote_id,
    unique=True,
    sqlite_where=raw_messages.c.remote_id.is_not(None),
    postgresql_where=raw_messages.c.remote_id.is_not(None),
)
Index(
    "ux_raw_messages_sha256",
    raw_messages.c.source,
    raw_messages.c.sha256,
    unique=True,
    sqlite_where=raw_messages.c.remote_id.is_(None),
    postgresql_where=raw_messages.c.remote_id.is_(None),
)
Index("ix_raw_messages_source_fetched", raw_messages.c.source, raw_messages.c.fetched_at)
# Small partial indexes: the poll start and ``reparse`` find their rows without a scan.
_pending = raw_messages.c.receipts.is_(None) & raw_messages.c.parse_error.is_(None)
Index(
    "ix_raw_messages_unprocessed",
    raw_messages.c.source,
    sqlite_where=_pending,
    postgresql_where=_pending,
)
_quarantined = raw_messages.c.parse_error.is_not(None)
Index(
    "ix_raw_messages_quarantined",
    raw_messages.c.source,
    sqlite_where=_quarantined,
    postgresql_where=_quarantined,
)

# The dedupe key. NULLs are distinct in a UNIQUE index, so the nullable parts are coalesced
# to '' (never a valid timestamp or error code): a receipt without done date is still
# stored once.
Index(
    "ux_receipts_dedupe",
    receipts.c.scope,
    receipts.c.message_id,
    receipts.c.state_code,
    func.coalesce(receipts.c.done_at, ""),
    func.coalesce(receipts.c.error_code, ""),
    unique=True,
)
Index("ix_receipts_message_id", receipts.c.message_id)
Index("ix_receipts_state_done", receipts.c.state, receipts.c.done_at)
Index("ix_receipts_source_received", receipts.c.source, receipts.c.received_at)
Index("ix_receipts_raw_id", receipts.c.raw_id)
Index("ix_poll_runs_source_started", poll_runs.c.source, poll_runs.c.started_at)

#: ``message_status``: one row per (scope, message_id) under the final-state rule.
#: The earliest final receipt (by arrival) governs and is never replaced; without a final
#: receipt, the latest intermediate one by done_at (unknown counts as oldest), then arrival.
#: Plain SQL with window functions: SQLite >= 3.25 and PostgreSQL both run it.
MESSAGE_STATUS_VIEW = """\
CREATE VIEW message_status AS
SELECT scope, message_id, state, state_code, final, done_at, receipts, conflict,
       source, provider_status, error_code, receipt_id, first_received_at, last_received_at
FROM (
    SELECT r.scope, r.message_id, r.state, r.state_code, r.final, r.done_at,
           COUNT(*) OVER w AS receipts,
           CASE WHEN MIN(CASE WHEN r.final = 1 THEN r.state_code END) OVER w
                  <> MAX(CASE WHEN r.final = 1 THEN r.state_code END) OVER w
                THEN 1 ELSE 0 END AS conflict,
           r.source, r.provider_status, r.error_code, r.id AS receipt_id,
           MIN(r.received_at) OVER w AS first_received_at,
           MAX(r.received_at) OVER w AS last_received_at,
           ROW_NUMBER() OVER (
               PARTITION BY r.scope, r.message_id
               ORDER BY r.final DESC,
                        CASE WHEN r.final = 1 THEN r.id ELSE 0 END,
                        COALESCE(r.done_at, '') DESC,
                        r.id DESC
           ) AS pick
    FROM receipts AS r
    WINDOW w AS (PARTITION BY r.scope, r.message_id)
) AS ranked
WHERE pick = 1"""

VIEWS: dict[str, str] = {"message_status": MESSAGE_STATUS_VIEW}

#: The view's columns, in order (kept beside the view's SQL; a test checks they agree).
MESSAGE_STATUS_COLUMNS: tuple[str, ...] = (
    "scope",
    "message_id",
    "state",
    "state_code",
    "final",
    "done_at",
    "receipts",
    "conflict",
    "source",
    "provider_status",
    "error_code",
    "receipt_id",
    "first_received_at",
    "last_received_at",
)
