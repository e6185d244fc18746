"""Schema version 1 → 2: ``message_status`` becomes a maintained table, and time columns
are declared ``DATETIME`` on SQLite.

Runs inside the migration's one write transaction, so a failure leaves version 1 as it was.
On a large file it takes a while (it reads every receipt once, and on SQLite copies the
tables whose declared types change); it is logged at INFO.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Table, inspect, text
from sqlalchemy.schema import CreateIndex, CreateTable

from dlrpoll.store import migrate_v3
from dlrpoll.store.tables import (
    MESSAGE_STATUS_COLUMNS,
    MESSAGE_STATUS_QUERY,
    message_status,
    poll_runs,
    raw_messages,
    receipts,
    source_state,
)

log = logging.getLogger(__name__)

#: Tables whose time columns change their declared type on SQLite; parents before children.
RETYPED: tuple[Table, ...] = (raw_messages, receipts, poll_runs, source_state)


def upgrade(conn: Connection) -> None:
    """Turn a version-1 database into a version-2 one, inside ``conn``'s transaction."""
    conn.execute(text("DROP VIEW IF EXISTS message_status"))
    # the tables below are built from the current definitions: give receipts the columns
    # later versions added first (filled by their own steps), so every query here finds them
    migrate_v3.add_missing_columns(conn, receipts)
    if conn.dialect.name == "sqlite":
        _retype(conn)
    build_status(conn)


def build_status(conn: Connection) -> int:
    """Create ``message_status`` and fill it from ``receipts`` with the rule's reference
    query (:data:`~dlrpoll.store.tables.MESSAGE_STATUS_QUERY`), indexes last (faster than
    keeping them up to date row by row). Returns how many messages it holds."""
    log.info("building message_status from the receipts (once; a minute at 10^6 receipts)")
    conn.execute(CreateTable(message_status))
    cols = ", ".join(f'"{c}"' for c in MESSAGE_STATUS_COLUMNS)
    done = conn.execute(
        text(
            f"INSERT INTO message_status ({cols}) SELECT {cols} FROM ({MESSAGE_STATUS_QUERY}) AS s"
        )
    )
    for index in sorted(message_status.indexes, key=lambda i: str(i.name)):
        conn.execute(CreateIndex(index))
    return int(done.rowcount or 0)


def _retype(conn: Connection) -> None:
    """Give the tables their version-2 declarations by copying them (SQLite cannot change a
    column's declared type in place; this is its documented table rebuild). Foreign keys
    stay on: each old table is renamed away first, which points the old children at it,
    and every new child is filled from its new parent before the old ones are dropped."""
    for table in RETYPED:
        log.info("declaring the time columns of %s as DATETIME (copying the table)", table.name)
        old = f"_v1_{table.name}"
        conn.exec_driver_sql(f'ALTER TABLE "{table.name}" RENAME TO "{old}"')
        conn.execute(CreateTable(table))
        # the columns the old table has: CreateTable makes the newest shape (a later version
        # may have added columns), and SQLite would read a missing "name" as a string
        had = {c["name"] for c in inspect(conn).get_columns(old)}
        cols = ", ".join(f'"{c.name}"' for c in table.columns if c.name in had)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({cols}) SELECT {cols} FROM "{old}"')
    for table in reversed(RETYPED):  # children first: dropping them frees their parents
        conn.exec_driver_sql(f'DROP TABLE "_v1_{table.name}"')
    for table in RETYPED:
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            conn.execute(CreateIndex(index))
