"""Shared helpers for the receipt tests: fixture files and the built-in profiles."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "receipts"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_lines(name: str) -> list[bytes]:
    return [line for line in fixture_bytes(name).splitlines() if line.strip()]


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
