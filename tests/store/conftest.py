"""Fixtures for the store tests: a fresh database per test, on SQLite and on PostgreSQL.

A test that takes ``store`` (or ``store_url``) but not ``db_path`` runs twice, on a fresh
SQLite file and on a fresh PostgreSQL database (``tests/support/postgres.py``), and reads
back through :func:`tests.store.helpers.rows` with the store itself. A test that takes
``db_path`` is about the SQLite file (pragmas, the ``sqlite3`` shell, its bytes) and runs
on SQLite only.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.store import Store

KINDS = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    params = inspect.signature(metafunc.function).parameters
    if ("store" in params or "store_url" in params) and "db_path" not in params:
        metafunc.parametrize("db_kind", KINDS)


@pytest.fixture
def db_kind() -> str:
    """The kind of database ``store`` is (SQLite unless the test is parametrised)."""
    return "sqlite"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "dlr.sqlite"


@pytest.fixture
def store_url(request: pytest.FixtureRequest, db_kind: str, db_path: Path) -> str:
    """The URL ``store`` opened: the SQLite file, or a fresh PostgreSQL database."""
    if db_kind == "sqlite":
        return f"sqlite:///{db_path}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(db_path: Path) -> Iterator[Store]:
    """A store on a SQLite file, for tests of SQLite's own settings."""
    s = Store(f"sqlite:///{db_path}")
    yield s
    s.close()
