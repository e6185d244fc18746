"""Schema versions: ``PRAGMA user_version`` on SQLite, forward migrations at open.

A new database is created at :data:`SCHEMA_VERSION` in one go. An older one is brought up
step by step, every step in the one transaction that also writes the new version, so a
failure leaves the file exactly as it was. A file from a newer dlrpoll is refused untouched.

To change the schema: change ``tables.py``, add ``STEPS[n]`` that turns version ``n - 1``
into ``n`` (ALTER TABLE, DROP and CREATE VIEW ...), bump :data:`SCHEMA_VERSION`, and
document the change in the README's schema section.

Versions: 1, the first; 2, ``message_status`` a maintained table instead of a view, and
time columns declared ``DATETIME`` on SQLite (``migrate_v2.py``); 3, ``match_id`` in
``receipts`` and ``message_status`` (``migrate_v3.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, inspect, text
from sqlalchemy.schema import CreateColumn
from sqlmodel import SQLModel

from dlrpoll.errors import SchemaTooNewError, StoreError
from dlrpoll.store import migrate_v2, migrate_v3, tables

log = logging.getLogger(__name__)

#: The schema this dlrpoll writes.
SCHEMA_VERSION = 5


def add_operator_columns(conn: Connection) -> None:
    """Version 4 (issue 16): ``raw_messages.dismissed_at`` (``dlrpoll quarantine dismiss``)
    and ``raw_messages.pruned_at`` (``[retention] raw_payloads``), nullable timestamps,
    declared as a new file declares them; existing rows stay undismissed and unpruned.
    A file coming from version 1 has them already: version 2 rebuilds ``raw_messages`` from
    the current definition."""
    have = set(conn.execute(text("SELECT * FROM raw_messages WHERE 1 = 0")).keys())
    for name in ("dismissed_at", "pruned_at"):
        if name in have:
            continue
        spec = CreateColumn(tables.raw_messages.c[name]).compile(dialect=conn.dialect)
        conn.exec_driver_sql(f"ALTER TABLE raw_messages ADD COLUMN {spec}")


def _leases(conn: Connection) -> None:
    """Version 5 (issue 15): ``source_state`` records the lease's holder process and the
    refused attempts (version 2's SQLite rebuild may have made them already)."""
    log.info("adding the lease holder and refused attempts to source_state")
    migrate_v3.add_missing_columns(conn, tables.source_state)


#: ``STEPS[n]`` upgrades a database at version ``n - 1`` to version ``n`` (n >= 2).
STEPS: dict[int, Callable[[Connection], None]] = {
    2: migrate_v2.upgrade,
    3: migrate_v3.upgrade,
    4: add_operator_columns,
    5: _leases,
}

#: Where databases other than SQLite keep the version (they have no ``user_version``).
VERSION_TABLE = "dlrpoll_schema"


def _is_sqlite(conn: Connection) -> bool:
    return conn.dialect.name == "sqlite"


def read_version(conn: Connection) -> int:
    """The schema version of the database ``conn`` is connected to; 0 when it has none."""
    if _is_sqlite(conn):
        return int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
    if not inspect(conn).has_table(VERSION_TABLE):
        return 0
    got = conn.execute(text(f"SELECT max(version) FROM {VERSION_TABLE}")).scalar()
    return int(got or 0)


def _write_version(conn: Connection, version: int) -> None:
    if _is_sqlite(conn):
        # an integer we produce, never user input; PRAGMA takes no bound parameters
        conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
        return
    conn.execute(text(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)"))
    conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
    conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version) VALUES (:v)"), {"v": version})


def too_new(where: str, version: int) -> SchemaTooNewError:
    return SchemaTooNewError(
        f"{where}: the database is at schema version {version}, written by a newer dlrpoll; "
        f"this dlrpoll reads versions up to {SCHEMA_VERSION}. Upgrade dlrpoll (the file was "
        f"left unchanged)"
    )


def needs_upgrade(where: str, version: int) -> StoreError:
    """For a read-only command that finds an older (or no) schema: it may not migrate."""
    if version == 0:
        return StoreError(
            f"{where}: not a dlrpoll database yet (no schema); a read-only command never "
            f"creates one: run `dlrpoll poll` once as the poller's user"
        )
    return StoreError(
        f"{where}: the database is at schema version {version} and this dlrpoll reads "
        f"{SCHEMA_VERSION}; a read-only command never migrates it: the poller upgrades it at "
        f"its next start (or run `dlrpoll poll` once as the poller's user)"
    )


def create_current(conn: Connection) -> None:
    """Create every table, index, view and trigger of the current schema."""
    SQLModel.metadata.create_all(conn, tables=list(tables.TABLES))
    for sql in tables.VIEWS.values():
        conn.execute(text(sql))


def _check_empty(conn: Connection, where: str) -> None:
    names = set(inspect(conn).get_table_names()) | set(inspect(conn).get_view_names())
    if not _is_sqlite(conn):
        # a shared server database holds other applications' tables; only ours matter
        names &= {t.name for t in tables.TABLES} | set(tables.VIEWS)
    if names:
        shown = ", ".join(sorted(names)[:5])
        raise StoreError(
            f"{where}: the database has tables ({shown}) but no dlrpoll schema version, so it "
            f"is not a dlrpoll database; point [database] at a new file"
        )


#: The PostgreSQL advisory lock that serializes schema creation and migration (any 64-bit
#: key of our own: the bytes of "dlrpoll!").
ADVISORY_KEY = int.from_bytes(b"dlrpoll!", "big") - 2**63


def lock(conn: Connection) -> None:
    """Hold the migration lock until ``conn``'s transaction ends, so that processes starting
    together migrate one after the other and the later ones find the schema ready. SQLite:
    the write transaction's lock (``BEGIN IMMEDIATE``) is that lock already. PostgreSQL: a
    transaction-level advisory lock (CREATE TABLE takes no lock that would make a second
    creator wait; it fails on the catalogue's unique index instead)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})


def migrate(conn: Connection, where: str) -> int:
    """Bring the database to :data:`SCHEMA_VERSION` inside ``conn``'s (write) transaction,
    under the migration :func:`lock`. Returns the version found before."""
    lock(conn)
    found = read_version(conn)
    if found > SCHEMA_VERSION:
        raise too_new(where, found)
    if found == SCHEMA_VERSION:
        return found
    if found == 0:
        _check_empty(conn, where)
        log.info("%s: creating the dlrpoll schema, version %d", where, SCHEMA_VERSION)
        create_current(conn)
    else:
        for version in range(found + 1, SCHEMA_VERSION + 1):
            log.info("%s: migrating the schema to version %d", where, version)
            STEPS[version](conn)
    _write_version(conn, SCHEMA_VERSION)
    return found
