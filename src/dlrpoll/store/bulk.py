"""The SQLite bulk fast path, and the dialect-neutral statement pieces the writers share.

On SQLite a prepared executemany runs as the driver SQL SQLAlchemy compiled for it, with
plain tuples, on the driver's connection (:func:`driver`), an insert many rows per
statement (:class:`Bulk`); everywhere else it runs through Core with dicts. The SQL is the
same either way: ``INSERT … ON CONFLICT DO NOTHING`` (:func:`insert_ignore`) and ranged
``UPDATE``s.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import Connection, Engine, Insert, Table, Update

from dlrpoll.errors import StoreError

#: Rows per INSERT statement on SQLite's fast path (``VALUES (…), (…), …``), fewer when
#: they would take more parameters than the SQLite build allows (999 in old builds)
GROUP_ROWS = 100


def _max_params() -> int:
    con = sqlite3.connect(":memory:")
    try:
        return con.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    finally:
        con.close()


def driver(conn: Connection) -> Any:
    """The DB-API connection under ``conn``, for statements inside ``conn``'s transaction
    that run as driver SQL: SQLAlchemy's set-up of a call and its result (~20 µs) cost
    more than a small statement, and a write of 200 receipts makes five or six calls.
    Its errors are the driver's, which :meth:`~dlrpoll.store.database.Database.errors`
    maps like any other; SQLAlchemy's cursor events do not see these statements."""
    return conn.connection.driver_connection


#: Rows per page when reading raw items back (payloads may be large) and per IN (...) list.
PAGE = 200


def chunks(items: Sequence[Any], size: int = PAGE) -> Iterator[Sequence[Any]]:
    """``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def runs(counts: dict[int, int]) -> Iterator[tuple[int, int, int]]:
    """``(first_id, last_id, n)`` for each run of consecutive raw ids with equal counts."""
    run: list[int] | None = None
    for raw_id in sorted(counts):
        n = counts[raw_id]
        if run is not None and raw_id == run[1] + 1 and n == run[2]:
            run[1] = raw_id
            continue
        if run is not None:
            yield run[0], run[1], run[2]
        run = [raw_id, raw_id, n]
    if run is not None:
        yield run[0], run[1], run[2]


def dialect_insert(target: Table, engine: Engine, where: str) -> Insert:
    """An ``INSERT`` that can take ``ON CONFLICT`` clauses, in the engine's dialect."""
    name = engine.dialect.name
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(target)
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(target)
    raise StoreError(
        f"{where}: dlrpoll supports SQLite and PostgreSQL, not {name}; "
        f"use sqlite:///PATH or postgresql://..."
    )


def insert_ignore(target: Table, engine: Engine, where: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING`` in the engine's dialect (any unique index)."""
    stmt: Any = dialect_insert(target, engine, where)
    done: Insert = stmt.on_conflict_do_nothing()
    return done


class Bulk:
    """An executemany statement. On SQLite it runs as the driver SQL SQLAlchemy compiled
    for it, with plain tuples: no per-row parameter processing, which is most of the cost
    of a bulk insert through Core; an insert takes :data:`GROUP_ROWS` rows per
    statement (:func:`driver`). Elsewhere it runs through Core with dicts."""

    def __init__(
        self, stmt: Insert | Update, cols: Sequence[str], engine: Engine, fast: bool
    ) -> None:
        self.stmt = stmt
        self.cols = tuple(cols)
        compiled = stmt.compile(dialect=engine.dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else ()
        # only when the driver SQL takes exactly our columns (in any order)
        self.fast = fast and sorted(order) == sorted(self.cols)
        self.sql = compiled.string
        # where each driver parameter is in our tuples, unless the orders agree
        self.pick = None if order == self.cols else [self.cols.index(n) for n in order]
        # an insert's rows go in groups, many rows per statement: one VALUES list per
        # group is a tenth cheaper than a statement run per row (and the same SQL)
        self.group, self.group_sql = 1, self.sql
        one = "(" + ", ".join("?" * len(order)) + ")"
        if self.fast and isinstance(stmt, Insert) and order and self.sql.count(one) == 1:
            self.group = min(GROUP_ROWS, _max_params() // len(order))
            self.group_sql = self.sql.replace(one, ", ".join([one] * self.group))

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]], count: bool = False) -> int:
        """Execute for every row; with ``count``, return how many rows it changed."""
        if self.fast:
            if self.pick is not None:
                pick = self.pick
                rows = [tuple(row[i] for i in pick) for row in rows]
            size = self.group
            full = len(rows) - len(rows) % size if size > 1 else 0
            db = driver(conn)
            changed: int = 0  # the driver's rowcount: the rows inserted or updated
            if full:
                groups = [
                    tuple(chain.from_iterable(rows[i : i + size])) for i in range(0, full, size)
                ]
                changed = db.executemany(self.group_sql, groups).rowcount
            if full < len(rows):
                changed += db.executemany(self.sql, rows[full:]).rowcount
            return changed

        dicts = [dict(zip(self.cols, row, strict=True)) for row in rows]
        res = conn.execute(self.stmt, dicts)
        if count and res.returns_rows:
            return len(res.all())
        return res.rowcount
