"""Several processes opening one new (or old) database at the same instant: one creates or
migrates the schema under the lock (an advisory lock on PostgreSQL, the write lock on
SQLite), the others wait and find it ready. Seen before the lock: two of three daemons died
with ``duplicate key value violates unique constraint "pg_type_typname_nsp_index"``."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from dlrpoll.store import Store, migrations

from .helpers import at, rows

CHILD = Path(__file__).with_name("migrate_child.py")
PROCESSES = 4

#: what schema 4 added, so a database can be taken back to schema 3
V2_COLUMNS = (
    "holder_host",
    "holder_pid",
    "holder_start",
    "last_started_by",
    "skipped",
    "last_skipped_at",
)


def race(url: str) -> list[str]:
    go = time.time() + 1.5  # every child imports dlrpoll first, then they start together
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outs = [c.communicate(timeout=120) for c in children]
    assert [c.returncode for c in children] == [0] * PROCESSES, [err for _o, err in outs]
    return [out.strip() for out, _err in outs]


def to_schema_3(store: Store) -> None:
    with store.write() as conn:
        for column in V2_COLUMNS:
            conn.execute(text(f"ALTER TABLE source_state DROP COLUMN {column}"))
        if store.sqlite:
            conn.exec_driver_sql("PRAGMA user_version = 3")
        else:
            conn.execute(text(f"UPDATE {migrations.VERSION_TABLE} SET version = 3"))


@pytest.mark.parametrize("old", [False, True], ids=["new", "old"])
def test_processes_starting_together_migrate_once(store_url: str, old: bool) -> None:
    if old:
        with Store(store_url) as store:
            store.claim("a", now=at(0), interval=120, ttl=60, owner="h:1")
            to_schema_3(store)
    assert race(store_url) == [f"version {migrations.SCHEMA_VERSION}"] * PROCESSES
    with Store(store_url) as store:
        cols = rows(store, "SELECT * FROM source_state")
        assert len(cols) == (1 if old else 0)
        if old:  # the old row kept its floor and got the new columns' defaults
            assert cols[0][:2] == ("a", "2026-11-22T14:00:00.000000Z")
            assert rows(store, "SELECT skipped FROM source_state") == [(0,)]
        if not store.sqlite:
            got = rows(store, f"SELECT version FROM {migrations.VERSION_TABLE}")
            assert got == [(migrations.SCHEMA_VERSION,)]
