"""The store's plumbing: the engine, the one error edge, and the two kinds of transaction.

Every write is one short transaction (``BEGIN IMMEDIATE`` on SQLite, so it waits for a busy
writer instead of failing), committed durably before it returns unless it asks otherwise.
Every read that reports on the database (``status``, metrics, export, reports) is one read
transaction (one consistent snapshot). Both go through :meth:`Database.errors`, the one place
where database exceptions become ours.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Insert, Table
from sqlalchemy.exc import SQLAlchemyError

from dlrpoll.errors import DlrpollError, StorageFullError, StoreError
from dlrpoll.store import migrations
from dlrpoll.store.bulk import insert_ignore
from dlrpoll.store.engine import DURABLE, RELAXED, WRITE_OPTION, describe, make_engine, map_error
from dlrpoll.store.readonly import read_only_engine


class Database:
    """An open, migrated database at ``url``; see :class:`~dlrpoll.store.Store`.

    ``readonly=True`` opens it for reading only (reports, ``snapshot``): nothing is ever
    written, not even a migration, so a reporting user with read access alone can open it;
    a file at another schema version is refused with a message saying what to do.
    """

    def __init__(self, url: str, *, busy_timeout: float = 30.0, readonly: bool = False) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self.readonly = readonly
        # a read-only SQLite file is opened the way a reporting user can (see readonly.py:
        # immutable when its -shm cannot be created), never created
        self.engine = (
            read_only_engine(url, busy_timeout=busy_timeout)
            if readonly and url.startswith("sqlite")
            else make_engine(url, busy_timeout=busy_timeout, readonly=readonly)
        )
        #: how messages name the database: the file, or the URL without password
        self.where = describe(self.engine.url)
        #: SQLite: the fast path of :mod:`~dlrpoll.store.bulk`, and serialized writers
        self.sqlite = self.engine.dialect.name == "sqlite"
        self._dbapi_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        try:
            self._prepare()  # first: it refuses a database kind we do not support
            self.schema_version = self._open()
        except BaseException:
            self.engine.dispose()
            raise

    def _prepare(self) -> None:
        """Build the statements the store reuses; subclasses extend it."""

    def _open(self) -> int:
        with self.errors(), self.engine.connect() as conn:
            with conn.begin():
                found = migrations.read_version(conn)
            if found > migrations.SCHEMA_VERSION:
                raise migrations.too_new(self.where, found)
            if found < migrations.SCHEMA_VERSION and self.readonly:
                raise StoreError(
                    f"{self.where}: the database is at schema version {found}, not "
                    f"{migrations.SCHEMA_VERSION}; it is upgraded when the poller (or any "
                    f"dlrpoll command with write access) next opens it; run `dlrpoll status` "
                    f"as the poller's user once, then try again"
                    if found
                    else f"{self.where}: not a dlrpoll database (no schema version); check "
                    f"the path or URL"
                )
            if found < migrations.SCHEMA_VERSION:
                conn.execution_options(**{WRITE_OPTION: DURABLE})
                with conn.begin():
                    # read again under the write lock: another process may have migrated
                    migrations.migrate(conn, self.where)
        return migrations.SCHEMA_VERSION

    def insert_ignore(self, target: Table) -> Insert:
        """``INSERT … ON CONFLICT DO NOTHING`` in this database's dialect."""
        return insert_ignore(target, self.engine, self.where)

    @contextmanager
    def errors(self) -> Iterator[None]:
        """Map database errors into ours, once, here at the I/O edge."""
        try:
            yield
        except DlrpollError:
            raise
        except (SQLAlchemyError, OSError, self._dbapi_error) as exc:
            raise map_error(exc, self.where, self.busy_timeout) from exc

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction, committed on leaving; ``durable=False`` only for writes the
        journal can redo (see engine.py)."""
        with self.errors(), self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: DURABLE if durable else RELAXED})
            with conn.begin():
                yield conn

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A connection in a read transaction (one consistent snapshot), with our errors.
        For reports; never blocks the poller and is never blocked by it."""
        with self.errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    def free_space(self) -> int | None:
        """Bytes free on the filesystem that holds an SQLite file; ``None`` when unknown
        (another database, or an in-memory one)."""
        path = self.engine.url.database
        if not self.sqlite or not path or path == ":memory:":
            return None
        try:
            st = os.statvfs(Path(path).resolve().parent)
        except OSError:
            return None
        return st.f_bavail * st.f_frsize

    def ensure_free_space(self, needed: int, what: str) -> None:
        """Raise :class:`StorageFullError` unless ``needed`` bytes are free for the database;
        called before a fetch that cannot be undone, so a full disk refuses it up front."""
        free = self.free_space()
        if free is not None and free < needed:
            raise StorageFullError(
                f"{self.where}: only {free / 2**20:.1f} MiB free on the database's filesystem "
                f"and {what} needs {needed / 2**20:.1f} MiB to journal its response; nothing "
                f"was fetched; free space on that filesystem and poll again"
            )

    def close(self) -> None:
        """Close every pooled connection (SQLite then checkpoints the WAL)."""
        with self.errors():
            self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
