"""Fixtures for the store tests: a fresh SQLite file per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "dlr.sqlite"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{db_path}")
    yield s
    s.close()
