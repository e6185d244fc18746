"""Switching a new SQLite file to WAL while other processes open it: SQLite answers
"database is locked" at once (no busy handler) to a connection that would deadlock; the
switch is retried within the busy timeout, and any other error is raised."""

from __future__ import annotations

import sqlite3

import pytest

from dlrpoll.store.engine import _wal


class Cursor:
    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        self.calls = 0

    def execute(self, sql: str) -> None:
        assert sql == "PRAGMA journal_mode = WAL"
        self.calls += 1
        if self.failures:
            raise sqlite3.OperationalError(self.failures.pop(0))


def test_a_locked_file_is_retried_until_the_switch_works() -> None:
    cur = Cursor(["database is locked", "database is locked"])
    _wal(cur, busy_timeout=5)
    assert cur.calls == 3


def test_a_lock_that_outlasts_the_busy_timeout_is_raised() -> None:
    cur = Cursor(["database is locked"] * 1000)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _wal(cur, busy_timeout=0.05)
    assert 1 < cur.calls < 1000


def test_any_other_error_is_raised_at_once() -> None:
    cur = Cursor(["disk I/O error"])
    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _wal(cur, busy_timeout=5)
    assert cur.calls == 1
