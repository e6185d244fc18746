"""The engine: a database URL to a SQLAlchemy engine, and database errors to ours.

Everything SQLite-specific in dlrpoll is in this module:

- ``journal_mode=WAL``: readers (reports, the ``sqlite3`` shell) never block the poller and
  the poller never blocks them;
- ``synchronous=FULL``: a commit is on disk before the poller acknowledges anything to a
  source (a POP3 ``DELE``, a SOAP read flag), so a power cut cannot lose a receipt the
  provider has already let go of. One kind of write may ask for ``NORMAL`` instead
  (:data:`RELAXED`): storing parsed receipts, which the journal can always redo. In WAL
  mode a NORMAL commit survives any process crash; a power cut can roll back only such
  commits made after the last FULL one, never the FULL one itself (WAL frames are
  checksummed in sequence), and the rolled-back raw rows are then simply unprocessed
  again and completed by the next poll;
- ``busy_timeout``: a second writer waits for the lock instead of failing at once;
- ``foreign_keys=ON``;
- ``temp_store=MEMORY``: statement journals and small sorts stay out of temp files;
- ``wal_autocheckpoint`` at 4000 pages (a WAL of up to ~16 MiB; SQLite's default is 1000):
  a checkpoint copies each page once, however many commits changed it since the last one,
  and every write changes some of the same pages again (the indexes' right edges, the
  journal rows it marks), so checkpointing a quarter as often saves ~6% of the CPU time
  of storing receipts (measured over 300,000 receipts on the bench-store receipts path);
- write transactions start with ``BEGIN IMMEDIATE``: a deferred transaction that reads
  first and writes later cannot wait for the lock in WAL mode (it fails with "database is
  locked" at once when another writer committed in between), an immediate one waits.
"""

from __future__ import annotations

import errno
import sqlite3
import time
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from dlrpoll.errors import StorageFullError, StoreError

#: Execution option that marks a connection's transaction as a writer (``BEGIN IMMEDIATE``);
#: its value is :data:`DURABLE` or :data:`RELAXED`.
WRITE_OPTION = "dlrpoll_write"
DURABLE = "durable"
RELAXED = "relaxed"

_SQLITE_FULL = 13
#: pages of WAL after which a commit checkpoints (see the module docstring)
WAL_AUTOCHECKPOINT = 4000
_SYNCHRONOUS = {DURABLE: "PRAGMA synchronous = FULL", RELAXED: "PRAGMA synchronous = NORMAL"}


def describe(url: URL) -> str:
    """How messages name the database: the file for SQLite, the URL without password else."""
    if url.get_backend_name() == "sqlite":
        return url.database or ":memory:"
    return url.render_as_string(hide_password=True)


def masked_url(url: str) -> str:
    """``url`` as a user may see it: the password hidden; never raises."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def make_engine(url: str, *, busy_timeout: float = 30.0, readonly: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or any SQLAlchemy URL), SQLite tuned as
    the module docstring says. ``readonly``: connections that cannot write (SQLite opens the
    file with ``mode=ro``, so a reporting user needs only read access; PostgreSQL sessions
    are read-only)."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"{url!r} is not a database URL; write sqlite:///PATH or set [database] path"
        ) from exc
    kwargs: dict[str, Any] = {}
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        # the driver's own timeout is the busy timeout until the pragma below runs
        kwargs["connect_args"] = {"timeout": busy_timeout, "check_same_thread": False}
        if parsed.database in (None, "", ":memory:"):
            # one shared connection, or every thread would see its own empty database
            kwargs["poolclass"] = StaticPool
        else:
            # the daemon runs many polls at once and a writer holds its connection while it
            # waits for the lock; SQLite connections are cheap, so never make one wait twice
            kwargs.update(pool_size=5, max_overflow=100, pool_timeout=busy_timeout + 30)
            if readonly:
                path = parsed.database
                kwargs["creator"] = lambda: sqlite3.connect(
                    f"file:{quote(path)}?mode=ro", uri=True, **kwargs["connect_args"]
                )
    elif readonly and parsed.get_backend_name() == "postgresql":
        kwargs["connect_args"] = {"options": "-c default_transaction_read_only=on"}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"{describe(parsed)}: no database driver for {parsed.drivername!r}; install it "
            f"(PostgreSQL: pip install psycopg) or use sqlite:///PATH"
        ) from exc
    if sqlite:
        _tune_sqlite(engine, busy_timeout, readonly)
    return engine


def _wal(cur: Any, busy_timeout: float) -> None:
    """``PRAGMA journal_mode = WAL``, retried while the file is locked. On a new file that
    several processes open at once, switching it to WAL needs an exclusive lock, and SQLite
    answers "database is locked" at once, without its busy handler, to the one of two
    connections that would otherwise deadlock; once the other commits, the switch works (or
    is already done)."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            cur.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.02)


def _tune_sqlite(engine: Engine, busy_timeout: float, readonly: bool) -> None:
    ms = int(busy_timeout * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy's begin event below issue BEGIN, not the driver's implicit one
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {ms}")
            if not readonly:  # a reader takes the file as it is (WAL, or a snapshot's)
                _wal(cur, busy_timeout)
                cur.execute("PRAGMA synchronous = FULL")
                cur.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
            cur.execute("PRAGMA foreign_keys = ON")
            # statement journals and the small sorts of each write's status fold in memory,
            # not in temp files: a third of the cost of keeping message_status (status.py)
            cur.execute("PRAGMA temp_store = MEMORY")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # on the driver's connection: SQLAlchemy's set-up of a call costs more than these
        db: Any = conn.connection.driver_connection
        mode = conn.get_execution_options().get(WRITE_OPTION)
        if mode:
            # set on every write, so a relaxed one never leaks into the next durable one
            db.execute(_SYNCHRONOUS[mode])
            db.execute("BEGIN IMMEDIATE")
        else:
            db.execute("BEGIN")


def map_error(exc: BaseException, where: str, busy_timeout: float) -> StoreError:
    """Our error for a database failure: names the database and says what to do."""
    orig: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    text = str(orig).strip() or type(orig).__name__
    lowered = text.lower()
    code = getattr(orig, "sqlite_errorcode", None)
    if (
        code == _SQLITE_FULL
        or "database or disk is full" in lowered
        or (isinstance(orig, OSError) and orig.errno == errno.ENOSPC)
        or "no space left on device" in lowered
    ):
        return StorageFullError(
            f"{where}: the disk holding the database is full ({text}); "
            f"free space on that filesystem and poll again"
        )
    if "database is locked" in lowered or "database table is locked" in lowered:
        return StoreError(
            f"{where}: database is locked: another process has held the write lock for "
            f"longer than the busy timeout ({busy_timeout:g}s) (a sqlite3 shell or report "
            f"left inside a write transaction, or another poller); end its transaction "
            f"(`fuser {where}` shows who has the file open) or raise [database] busy_timeout"
        )
    if "unable to open database file" in lowered:
        return StoreError(
            f"{where}: cannot open the database file; check that its directory exists and "
            f"is writable by this user (SQLite also writes FILE-wal and FILE-shm beside it)"
        )
    if "readonly database" in lowered:
        return StoreError(
            f"{where}: the database file is read-only for this user; the poller needs write "
            f"access to the file, its directory and the FILE-wal and FILE-shm beside it"
        )
    if "file is not a database" in lowered or "malformed" in lowered:
        return StoreError(
            f"{where}: not a valid SQLite database ({text}); check [database] path, or "
            f"restore the file from a backup"
        )
    return StoreError(f"{where}: database error: {text}")
