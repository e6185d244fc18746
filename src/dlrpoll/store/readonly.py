"""Opening the database for reading only: ``status``, ``export`` and ``quarantine list`` run
as reporting users who may read the file but not write it or its directory.

Such a command never creates, migrates or writes the database. On SQLite the file is opened
with ``mode=ro``. A reader that may not write the directory can use a WAL database only while
its ``-wal`` and ``-shm`` files exist, that is while a poller has it open (SQLite ≥ 3.22);
when the database is at rest (no ``-wal`` file: everything is in the main file) such a
reader opens it ``immutable=1`` instead, which needs no ``-shm``. A poller that starts in
the short moment of that read appends to the ``-wal`` file first, which an immutable reader
does not look at, so it still reads a consistent state: the one before that poll. On other
databases every transaction is ``READ ONLY``.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from dlrpoll.errors import StoreError
from dlrpoll.store.engine import make_engine


def _missing(path: Path) -> StoreError:
    return StoreError(
        f"{path}: no such database: nothing has been polled into it yet, or [database] "
        f"path names another file; a read-only command never creates it (run "
        f"`dlrpoll poll` once as the poller's user)"
    )


def _sqlite_connect(path: Path, busy_timeout: float) -> Any:
    """A ``connect()`` for SQLAlchemy's ``creator``: ``mode=ro``, or ``immutable=1`` when the
    file is at rest and this user cannot create its ``-shm`` beside it."""
    quoted = path.resolve().as_posix().replace("?", "%3f").replace("#", "%23")

    def opener(extra: str) -> sqlite3.Connection:
        conn = sqlite3.connect(
            f"file:{quoted}?mode=ro{extra}",
            uri=True,
            timeout=busy_timeout,
            check_same_thread=False,
            isolation_level=None,  # transactions are begun below, not by the driver
        )
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        return conn

    def connect() -> sqlite3.Connection:
        if not path.exists():
            raise _missing(path)
        conn = opener("")
        try:
            conn.execute("PRAGMA user_version").fetchone()
            return conn
        except sqlite3.OperationalError as exc:
            conn.close()
            at_rest = not Path(f"{path}-wal").exists()
            if at_rest and "readonly" in str(exc).lower():
                return opener("&immutable=1")
            raise

    return connect


def read_only_engine(url: str, *, busy_timeout: float = 30.0) -> Engine:
    """An engine that can only read the database at ``url``; raises :class:`StoreError`
    when an SQLite file does not exist."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return make_engine(url, busy_timeout=busy_timeout)  # its error names the fix
    if parsed.get_backend_name() != "sqlite":
        engine = make_engine(url, busy_timeout=busy_timeout)

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            try:
                cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            finally:
                cur.close()
            dbapi_conn.commit()

        return engine
    if parsed.database in (None, "", ":memory:"):
        raise StoreError("an in-memory database cannot be opened read-only; set [database] path")
    path = Path(parsed.database)
    if not path.exists():
        raise _missing(path)
    engine = create_engine(parsed, creator=_sqlite_connect(path, busy_timeout), poolclass=NullPool)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")  # one snapshot per read transaction

    return engine
