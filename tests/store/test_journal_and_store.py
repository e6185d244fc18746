"""journal_and_store: already-parsed items journaled and stored in one transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlrpoll.counts import Counts
from dlrpoll.errors import StoreError
from dlrpoll.rawitem import RawItem
from dlrpoll.store import ParsedRaw, Store

from .helpers import at, item, receipt, rows


def ok(*message_ids: str) -> ParsedRaw:
    return ParsedRaw(0, [receipt(m) for m in message_ids])


def test_items_are_journaled_parsed_and_their_receipts_stored(store: Store, db_path: Path) -> None:
    parsed = [(item("u1"), ok("M1")), (item("u2"), ok("M2", "M3")), (item("u3"), ok())]
    new, counts = store.journal_and_store("a", "a", parsed, at(1))
    assert (new, counts) == (3, Counts(0, 3, 0, 0))
    assert rows(
        db_path,
        "SELECT id, remote_id, receipts, parse_error, parsed_at IS NOT NULL "
        "FROM raw_messages ORDER BY id",
    ) == [(1, "u1", 1, None, 1), (2, "u2", 2, None, 1), (3, "u3", 0, None, 1)]
    assert rows(db_path, "SELECT raw_id, message_id FROM receipts ORDER BY id") == [
        (1, "M1"),
        (2, "M2"),
        (2, "M3"),
    ]
    assert list(store.unprocessed("a")) == []


def test_known_items_are_skipped_receipts_and_all(store: Store) -> None:
    store.journal_and_store("a", "a", [(item("u1"), ok("M1"))], at(1))
    parsed = [
        (item("u1"), ok("M1", "X")),  # already journaled: not stored again, not counted
        (item("u2"), ok("M1")),  # a new raw item carrying a known receipt: a duplicate
        (item("u2"), ok("M2")),  # a repeat inside the batch is new only once
        (item(None, b"no id"), ok("M3")),
    ]
    new, counts = store.journal_and_store("a", "a", parsed, at(2))
    assert (new, counts) == (2, Counts(0, 1, 1, 0))
    assert rows(store, "SELECT message_id FROM receipts ORDER BY id") == [("M1",), ("M3",)]
    # (PostgreSQL's sequence also spends an id on each conflicting row: compare the order)
    assert rows(store, "SELECT remote_id FROM raw_messages ORDER BY id") == [
        ("u1",),
        ("u2",),
        (None,),
    ]


def test_parse_failures_and_source_verdicts_are_quarantined(store: Store) -> None:
    hostile = RawItem("u3", b"<!DOCTYPE x>", "text", "hostile: a DTD")
    parsed = [
        (item("u1"), ok("M1")),
        (item("u2"), ParsedRaw(0, (), "no stat: field")),
        (hostile, ParsedRaw(0, ())),
    ]
    new, counts = store.journal_and_store("a", "a", parsed, at(1))
    assert (new, counts) == (3, Counts(0, 1, 0, 2))
    assert [(r, i.remote_id, i.parse_error) for r, _s, i in store.quarantined("a")] == [
        (2, "u2", "no stat: field"),
        (3, "u3", "hostile: a DTD"),
    ]
    assert rows(store, "SELECT receipts FROM raw_messages ORDER BY id") == [
        (1,),
        (None,),
        (None,),
    ]


def test_the_container_is_marked_done_in_the_same_transaction(store: Store) -> None:
    [envelope] = store.journal("a", [item("env", b"<Envelope/>", "soap-envelope")], at(0))
    assert [r for r, _s, _i in store.unprocessed("a")] == [envelope.raw_id]
    new, counts = store.journal_and_store(
        "a", "a", [(item("u1"), ok("M1"))], at(1), done=[envelope.raw_id], durable=False
    )
    assert (new, counts) == (1, Counts(0, 1, 0, 0))
    assert list(store.unprocessed("a")) == []
    assert rows(store, "SELECT receipts, parse_error FROM raw_messages WHERE id = 1") == [(0, None)]


def test_a_failure_rolls_back_the_journal_rows_too(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One transaction: receipts that cannot be stored leave no item journaled as done,
    and the container stays unprocessed for the next poll."""
    [envelope] = store.journal("a", [item("env", b"<Envelope/>", "soap-envelope")], at(0))

    def broken(*_args: object, **_kw: object) -> int:
        raise StoreError("disk trouble")

    monkeypatch.setattr(store._receipts, "insert", broken)
    with pytest.raises(StoreError, match="disk trouble"):
        store.journal_and_store("a", "a", [(item("u1"), ok("M1"))], at(1), done=[envelope.raw_id])
    assert rows(store, "SELECT id FROM raw_messages") == [(envelope.raw_id,)]
    assert [r for r, _s, _i in store.unprocessed("a")] == [envelope.raw_id]


def test_ids_are_right_when_another_source_interleaves(store: Store, db_path: Path) -> None:
    store.journal("b", [item("u1")], at(0))
    store.journal_and_store("a", "a", [(item("u1"), ok("M1")), (item("u2"), ok("M2"))], at(1))
    store.journal("b", [item("u2")], at(2))
    store.journal_and_store("a", "a", [(item("u2"), ok("X")), (item("u3"), ok("M3"))], at(3))
    assert rows(
        db_path,
        "SELECT r.message_id, m.source, m.remote_id FROM receipts r "
        "JOIN raw_messages m ON m.id = r.raw_id ORDER BY r.id",
    ) == [("M1", "a", "u1"), ("M2", "a", "u2"), ("M3", "a", "u3")]
