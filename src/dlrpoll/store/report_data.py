"""The numbers behind ``dlrpoll report``'s charts, read in one snapshot.

Dialect-neutral Core queries against the public tables; the one dialect branch is
:class:`seconds_between` (ISO-8601 text to elapsed seconds), compiled for SQLite and
PostgreSQL. Days are the UTC date of a timestamp (its first ten characters).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement
from sqlalchemy.types import Float

from dlrpoll.store.database import Database
from dlrpoll.store.tables import message_status, poll_runs, raw_messages, receipts
from dlrpoll.timestamps import to_text

#: Time to final state, in buckets: (upper bound in seconds, label); the last is open.
TIME_BUCKETS: tuple[tuple[float, str], ...] = (
    (10, "< 10 s"),
    (60, "10 s – 1 min"),
    (300, "1 – 5 min"),
    (900, "5 – 15 min"),
    (3600, "15 min – 1 h"),
    (6 * 3600, "1 – 6 h"),
    (86400, "6 – 24 h"),
    (float("inf"), "≥ 24 h"),
)


class seconds_between(FunctionElement[float]):  # noqa: N801 (an SQL function's name)
    """``seconds_between(start, end)``: seconds from one stored timestamp to another."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"((julianday({end}) - julianday({start})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"extract(epoch from (CAST({end} AS timestamptz) - CAST({start} AS timestamptz)))"


def _day(column: ColumnElement[Any]) -> ColumnElement[str]:
    return func.substr(column, 1, 10)


@dataclass(frozen=True)
class ReportData:
    """Rows for each chart, oldest first; ``since`` is the window's start (stored text)."""

    since: str
    #: (day, source, messages, final, delivered) by the day of a message's first receipt
    delivery: list[tuple[str, str, int, int, int]]
    #: (day, state, receipts) by the day a receipt was stored
    states: list[tuple[str, str, int]]
    #: (source, bucket label, messages): submit to final state (TIME_BUCKETS)
    time_to_final: list[tuple[str, str, int]]
    #: (day, source, outcome, polls) by the day a poll started
    polls: list[tuple[str, str, str, int]]
    #: (day, source, raw items quarantined) by the day they were fetched
    quarantine: list[tuple[str, str, int]]
    #: the latest quarantined items: (fetched_at, source, parse_error)
    quarantine_latest: list[tuple[str, str, str]]


def report_data(db: Database, since: datetime, *, latest: int = 20) -> ReportData:
    """Everything the report shows for the time from ``since`` on, in one read
    transaction; raises :class:`~dlrpoll.errors.StoreError` for database failures."""
    with db.reader() as conn:
        return _read(conn, to_text(since), latest)


def _rows(conn: Connection, q: Any) -> list[Any]:
    return [tuple(r) for r in conn.execute(q)]


def _read(conn: Connection, since: str, latest: int) -> ReportData:
    ms, r, pr, rm = message_status.c, receipts.c, poll_runs.c, raw_messages.c
    one: ColumnElement[int] = literal_column("1")
    zero: ColumnElement[int] = literal_column("0")
    day = _day(ms.first_received_at)
    delivery = (
        select(
            day,
            ms.source,
            func.count(),
            func.sum(ms.final),
            func.sum(case((ms.state == "DELIVERED", one), else_=zero)),
        )
        .where(ms.first_received_at >= since)
        .group_by(day, ms.source)
        .order_by(day, ms.source)
    )
    rday = _day(r.received_at)
    states = (
        select(rday, r.state, func.count())
        .where(r.received_at >= since)
        .group_by(rday, r.state)
        .order_by(rday, r.state)
    )
    secs = seconds_between(r.submitted_at, r.done_at)
    bucket = case(
        *((secs < bound, label) for bound, label in TIME_BUCKETS[:-1]),
        else_=TIME_BUCKETS[-1][1],
    ).label("bucket")
    timing = (
        select(ms.source, bucket, func.count())
        .select_from(message_status.join(receipts, r.id == ms.receipt_id))
        .where(
            and_(
                ms.final == 1,
                ms.first_received_at >= since,
                r.submitted_at.is_not(None),
                r.done_at.is_not(None),
            )
        )
        .group_by(ms.source, bucket)
    )
    pday = _day(pr.started_at)
    polls = (
        select(pday, pr.source, pr.outcome, func.count())
        .where(pr.started_at >= since)
        .group_by(pday, pr.source, pr.outcome)
        .order_by(pday, pr.source, pr.outcome)
    )
    qday = _day(rm.fetched_at)
    quarantined = and_(rm.parse_error.is_not(None), rm.fetched_at >= since)
    quarantine = (
        select(qday, rm.source, func.count())
        .where(quarantined)
        .group_by(qday, rm.source)
        .order_by(qday, rm.source)
    )
    newest = (
        select(rm.fetched_at, rm.source, rm.parse_error)
        .where(quarantined)
        .order_by(rm.id.desc())
        .limit(latest)
    )
    order = {label: i for i, (_bound, label) in enumerate(TIME_BUCKETS)}
    return ReportData(
        since=since,
        delivery=[
            (d, s, int(n), int(f or 0), int(ok or 0)) for d, s, n, f, ok in _rows(conn, delivery)
        ],
        states=[(d, s, int(n)) for d, s, n in _rows(conn, states)],
        time_to_final=sorted(
            ((s, b, int(n)) for s, b, n in _rows(conn, timing)), key=lambda t: (t[0], order[t[1]])
        ),
        polls=[(d, s, o, int(n)) for d, s, o, n in _rows(conn, polls)],
        quarantine=[(d, s, int(n)) for d, s, n in _rows(conn, quarantine)],
        quarantine_latest=[(str(a), str(s), str(e)) for a, s, e in _rows(conn, newest)],
    )
