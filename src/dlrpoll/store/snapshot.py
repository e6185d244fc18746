"""``dlrpoll snapshot``: a consistent copy of the database in one SQLite file.

For tools that must open a file read-only or ``immutable=1`` (Datasette's ``-i``, a copy on
another machine): the copy is taken in one read transaction, so it is consistent as of its
start, and it never blocks the poller (WAL: readers and the writer do not wait for each
other). SQLite uses ``VACUUM INTO`` (compact, and in rollback-journal mode, so the copy is
one self-contained file); another database is copied table by table into a new SQLite file
with the same schema, inside one repeatable-read transaction. The copy is written beside
``target`` and renamed into place, so ``target`` is whole or untouched.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sqlalchemy import select

from dlrpoll.errors import StoreError
from dlrpoll.store.database import Database
from dlrpoll.store.tables import TABLES

#: Rows per insert when copying from a database other than SQLite.
_CHUNK = 1000


def snapshot(db: Database, target: str | os.PathLike[str], *, replace: bool = False) -> Path:
    """Copy ``db`` into the SQLite file ``target``; returns its path. Raises
    :class:`~dlrpoll.errors.StoreError` when ``target`` exists (unless ``replace``), is the
    database itself, or cannot be written, and for database failures."""
    dest = Path(target).expanduser().absolute()
    source = db.engine.url.database if db.sqlite else None
    if source and dest.exists() and os.path.samefile(source, dest):
        raise StoreError(f"{dest}: that is the database itself; name a new file")
    if dest.exists() and not replace:
        raise StoreError(f"{dest}: exists; name a new file, or pass --force to replace it")
    partial = dest.with_name(f".{dest.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        if db.sqlite:
            _vacuum_into(db, partial)
        else:
            copy_rows(db, partial)
        os.replace(partial, dest)
    except OSError as exc:
        raise StoreError(f"{dest}: cannot write the snapshot: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return dest


def _vacuum_into(db: Database, partial: Path) -> None:
    with db.errors():
        raw = db.engine.raw_connection()
        try:
            # no BEGIN of ours: VACUUM runs in its own read transaction
            raw.driver_connection.execute("VACUUM INTO ?", (str(partial),))  # type: ignore[union-attr]
        finally:
            raw.close()


def copy_rows(db: Database, partial: Path) -> None:
    """Copy every table of ``db`` into a new SQLite file at ``partial`` with the current
    schema, from one snapshot (any dialect; SQLite itself uses ``VACUUM INTO``)."""
    from dlrpoll.store.store import Store  # the schema, created as any new database is

    Store(f"sqlite:///{partial}").close()
    dest = sqlite3.connect(partial, isolation_level=None)
    try:
        dest.execute("PRAGMA journal_mode = DELETE")
        dest.execute("BEGIN")
        with db.errors(), db.engine.connect() as conn:
            if not db.sqlite:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                for table in TABLES:
                    names = ", ".join(f'"{c.name}"' for c in table.columns)
                    marks = ", ".join("?" * len(table.columns))
                    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"
                    result = conn.execution_options(yield_per=_CHUNK).execute(select(table))
                    for chunk in result.partitions():
                        dest.executemany(sql, [tuple(row) for row in chunk])
        dest.execute("COMMIT")
    finally:
        dest.close()
