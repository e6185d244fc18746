"""The tables: the database's public contract (see the README's schema section).

Every name here is read by reporting tools, so a change needs a schema version and a
migration (``migrations.py``). Column types are plain and dialect-neutral: timestamps are
ISO-8601 UTC text (:mod:`dlrpoll.timestamps`), booleans are integers 0/1, so the same SQL
works in the ``sqlite3`` shell, in spreadsheets and on PostgreSQL. On SQLite, time columns
are declared ``DATETIME`` (:data:`Timestamp`), so tools that infer types from declarations
(Metabase, DBeaver) see dates; the values stay text (see :data:`Timestamp`).

The ``receipts`` columns that hold a receipt's own fields are derived from
:data:`~dlrpoll.receipts.model.RECEIPT_FIELDS` and the fields' types (:data:`RECEIPT_PLAN`),
so a field added to ``Receipt`` without a way to store it fails at import, not in a poll.
"""

from __future__ import annotations

import enum
import types
import typing
from datetime import datetime

from sqlalchemy import (
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    Table,
    func,
    text,
)
from sqlalchemy.types import TypeEngine, UserDefinedType
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import AutoString

from dlrpoll.receipts.model import RECEIPT_FIELDS, Receipt, State
from dlrpoll.timestamps import from_text as from_iso
from dlrpoll.timestamps import to_text as iso
from dlrpoll.timestamps import to_text_or_none as iso_or_none

__all__ = ["from_iso", "iso", "iso_or_none"]  # the store's names for the timestamp functions


class _SqliteDatetime(UserDefinedType[str]):
    """The declared type ``DATETIME``, with the values passed through as text."""

    cache_ok = True

    def get_col_spec(self, **_kw: typing.Any) -> str:
        return "DATETIME"


#: A time column: ISO-8601 UTC text (``2026-11-22T14:07:53.123456Z``) everywhere, declared
#: ``DATETIME`` on SQLite so that type-inferring tools see a date (Metabase matches
#: ``DATETIME``, not ``TIMESTAMP``, for SQLite). ``DATETIME`` has NUMERIC affinity, which
#: keeps our values text: SQLite converts only text that is a well-formed number, and a
#: timestamp never is. (Compare with a full date, ``done_at >= '2026-11-22'``: a bare year
#: such as ``'2026'`` would be read as the number 2026.) Elsewhere the type is plain text.
Timestamp: TypeEngine[str] = AutoString().with_variant(_SqliteDatetime(), "sqlite")


class RawMessage(SQLModel, table=True):
    """``raw_messages``: the journal, every raw item ever fetched, committed before any
    acknowledgement reaches the source."""

    __tablename__ = "raw_messages"

    id: int | None = Field(default=None, primary_key=True)
    source: str
    remote_id: str | None = None
    sha256: str
    fetched_at: str = Field(sa_type=Timestamp)
    payload: bytes = Field(sa_column=Column("payload", LargeBinary, nullable=False))
    format: str
    sender: str | None = None
    received_at: str | None = Field(default=None, sa_type=Timestamp)
    #: why the item is quarantined; NULL once it parsed
    parse_error: str | None = None
    #: how many receipts it yielded; NULL until parsed (NULL and no parse_error: unprocessed)
    receipts: int | None = None
    parsed_at: str | None = Field(default=None, sa_type=Timestamp)
    #: when an operator dismissed this quarantined item (``dlrpoll quarantine dismiss``): it
    #: stays in the journal but no longer counts as waiting; NULL otherwise
    dismissed_at: str | None = Field(default=None, sa_type=Timestamp)
    #: when ``[retention] raw_payloads`` dropped the payload (now empty); the row, its keys
    #: (``remote_id``, ``sha256``) and its outcome stay, so dedupe still works; NULL otherwise
    pruned_at: str | None = Field(default=None, sa_type=Timestamp)


class PollRunRow(SQLModel, table=True):
    """``poll_runs``: one row per poll, skipped ones included."""

    __tablename__ = "poll_runs"

    id: int | None = Field(default=None, primary_key=True)
    source: str
    started_at: str = Field(sa_type=Timestamp)
    finished_at: str = Field(sa_type=Timestamp)
    outcome: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    error: str | None = None


class SourceState(SQLModel, table=True):
    """``source_state``: each source's lease (who polls it now, until when) and its floor
    (when its last poll started, and who ran it), shared by every poller."""

    __tablename__ = "source_state"

    source: str = Field(primary_key=True)
    last_started_at: str | None = Field(default=None, sa_type=Timestamp)
    claimed_by: str | None = None
    claimed_until: str | None = Field(default=None, sa_type=Timestamp)
    # schema 5: the lease's holder (see dlrpoll.owner), the floor's poller, refused attempts
    holder_host: str | None = None
    holder_pid: int | None = None
    holder_start: str | None = None
    last_started_by: str | None = None
    skipped: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    last_skipped_at: str | None = Field(default=None, sa_type=Timestamp)


raw_messages: Table = RawMessage.__table__  # type: ignore[attr-defined]
poll_runs: Table = PollRunRow.__table__  # type: ignore[attr-defined]
source_state: Table = SourceState.__table__  # type: ignore[attr-defined]


class Stored(enum.Enum):
    """How a receipt field is kept in ``receipts``."""

    VERBATIM = "verbatim"  # text or integer as it is
    STATE = "state"  # two columns: the name (``state``) and the SMPP code (``state_code``)
    FLAG = "flag"  # a bool as 0/1
    TIME = "time"  # a datetime as timestamp text


def _how(hint: object) -> tuple[Stored, bool, type]:
    """How a field with type ``hint`` is stored: (kind, nullable, Python type)."""
    args = typing.get_args(hint)
    nullable = isinstance(hint, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if nullable else hint
    if base is State:
        return Stored.STATE, nullable, State
    if base is bool:
        return Stored.FLAG, nullable, bool
    if base is datetime:
        return Stored.TIME, nullable, datetime
    if base in (str, int):
        return Stored.VERBATIM, nullable, typing.cast(type, base)
    raise TypeError(f"Receipt field of type {hint!r}: the store has no column type for it")


#: Receipt fields kept after the others (the column order is a public contract).
_LAST_FIELDS = ("format",)
#: Receipt fields added by later schema versions: after ``received_at``, where ``ALTER TABLE
#: … ADD COLUMN`` puts them, so a migrated file and a new one have the same column order.
#: Each has a server default so that it can be added to a table that has rows.
TRAILING_FIELDS: dict[str, str] = {"match_id": "''"}  # schema 3


def _receipt_plan(names: list[str]) -> tuple[tuple[str, Stored, bool, type], ...]:
    hints = typing.get_type_hints(Receipt)
    return tuple((name, *_how(hints[name])) for name in names)


_MAIN_FIELDS = [f for f in RECEIPT_FIELDS if f not in _LAST_FIELDS and f not in TRAILING_FIELDS]
#: ``(field, how, nullable, type)`` for the :class:`Receipt` fields before ``received_at``,
#: in column order.
RECEIPT_PLAN = _receipt_plan(_MAIN_FIELDS + list(_LAST_FIELDS))
#: The same for the fields after ``received_at`` (:data:`TRAILING_FIELDS`).
RECEIPT_TRAILING_PLAN = _receipt_plan(list(TRAILING_FIELDS))


def _receipt_columns(
    plan: tuple[tuple[str, Stored, bool, type], ...],
) -> list[Column[typing.Any]]:
    cols: list[Column[typing.Any]] = []
    for name, how, nullable, kind in plan:
        sql_type: TypeEngine[typing.Any] = (
            Integer() if kind in (int, bool) else Timestamp if kind is datetime else AutoString()
        )
        default = TRAILING_FIELDS.get(name)
        server_default = None if default is None else text(default)
        cols.append(Column(name, sql_type, nullable=nullable, server_default=server_default))
        if how is Stored.STATE:
            cols.append(Column("state_code", Integer(), nullable=nullable))
    return cols


#: ``receipts``: one row per distinct receipt event: where it came from, the receipt's own
#: fields (:data:`RECEIPT_PLAN`), and when it was stored.
receipts = Table(
    "receipts",
    SQLModel.metadata,
    Column("id", Integer(), primary_key=True),
    Column("raw_id", Integer(), ForeignKey("raw_messages.id"), nullable=False),
    Column("source", AutoString(), nullable=False),
    Column("scope", AutoString(), nullable=False),
    *_receipt_columns(RECEIPT_PLAN),
    Column("received_at", Timestamp, nullable=False),
    *_receipt_columns(RECEIPT_TRAILING_PLAN),
)

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
# the join a reporting tool writes against its own sent messages (schema 3)
Index("ix_receipts_match_id", receipts.c.match_id)
Index("ix_poll_runs_source_started", poll_runs.c.source, poll_runs.c.started_at)

#: ``message_status``: one row per (scope, message_id) under the final-state rule, kept up
#: to date in the same transaction as the receipts it depends on (``status.py``):
#: the earliest final receipt (by arrival) governs and is never replaced; without a final
#: receipt, the latest intermediate one by done_at (unknown counts as oldest), then arrival.
message_status = Table(
    "message_status",
    SQLModel.metadata,
    Column("scope", AutoString(), nullable=False),
    Column("message_id", AutoString(), nullable=False),
    Column("state", AutoString(), nullable=False),
    Column("state_code", Integer(), nullable=False),
    Column("final", Integer(), nullable=False),
    Column("done_at", Timestamp, nullable=True),
    Column("receipts", Integer(), nullable=False),
    Column("conflict", Integer(), nullable=False),
    Column("source", AutoString(), nullable=False),
    Column("provider_status", AutoString(), nullable=False),
    Column("error_code", AutoString(), nullable=True),
    Column("receipt_id", Integer(), nullable=False),
    Column("first_received_at", Timestamp, nullable=False),
    Column("last_received_at", Timestamp, nullable=False),
    # the governing receipt's match_id (schema 3: last, where ADD COLUMN puts it)
    Column("match_id", AutoString(), nullable=False, server_default=text("''")),
    PrimaryKeyConstraint("scope", "message_id", name="pk_message_status"),
    # its inserts never need keys back
    implicit_returning=False,
)
ms = message_status.c
# a lookup by message id alone: the join a reporting tool writes against its sent messages
Index("ix_message_status_message_id", ms.message_id)
# narrow on purpose: `GROUP BY state` reads all of it (a row id per entry, not the key)
Index("ix_message_status_state", ms.state)
Index("ix_message_status_done_final", ms.done_at, ms.final)
Index("ix_message_status_source_done", ms.source, ms.done_at)
Index("ix_message_status_match_id", ms.match_id)

TABLES: tuple[Table, ...] = (raw_messages, receipts, poll_runs, source_state, message_status)

#: Views of the current schema (none since version 2: ``message_status`` is a table).
VIEWS: dict[str, str] = {}

#: ``message_status``'s columns, in order.
MESSAGE_STATUS_COLUMNS: tuple[str, ...] = tuple(c.name for c in message_status.columns)

#: ``message_status`` computed from ``receipts`` alone: the view of schema version 1, kept
#: to build the table when migrating and as the rule's reference in tests and benchmarks.
#: Plain SQL with window functions: SQLite >= 3.25 and PostgreSQL both run it.
MESSAGE_STATUS_QUERY = """\
SELECT scope, message_id, state, state_code, final, done_at, receipts, conflict,
       source, provider_status, error_code, receipt_id, first_received_at, last_received_at,
       match_id
FROM (
    SELECT r.scope, r.message_id, r.state, r.state_code, r.final, r.done_at, r.match_id,
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
