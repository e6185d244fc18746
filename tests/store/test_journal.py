"""The journal: identity of raw items, what is returned, and the unprocessed/quarantined views."""

from __future__ import annotations

import hashlib
from datetime import timedelta, timezone

from dlrpoll.rawitem import RawItem
from dlrpoll.store import ParsedRaw, Store

from .helpers import at, item, receipt, rows


def test_new_items_get_ids_in_order_and_are_committed(store: Store) -> None:
    entries = store.journal("a", [item("u1"), item("u2"), item(None, b"no id")], at(0))
    assert [(e.raw_id, e.new) for e in entries] == [(1, True), (2, True), (3, True)]
    assert [e.item.remote_id for e in entries] == ["u1", "u2", None]
    # committed: another connection sees the rows as soon as journal() returns
    assert rows(store, "SELECT id, source, remote_id, sha256, format FROM raw_messages") == [
        (1, "a", "u1", hashlib.sha256(b"raw u1").hexdigest(), "text"),
        (2, "a", "u2", hashlib.sha256(b"raw u2").hexdigest(), "text"),
        (3, "a", None, hashlib.sha256(b"no id").hexdigest(), "text"),
    ]


def test_known_items_come_back_with_their_existing_id(store: Store) -> None:
    store.journal("a", [item("u1"), item(None, b"x")], at(0))
    entries = store.journal(
        "a", [item("u2"), item("u1"), item(None, b"x"), item(None, b"y")], at(1)
    )
    got = [(e.raw_id, e.new) for e in entries]
    assert got[1:3] == [(1, False), (2, False)]
    # new rows get new, increasing ids (PostgreSQL's sequence also spends one per conflict)
    assert got[0][1] and got[3][1] and 2 < got[0][0] < got[3][0]


def test_a_repeat_inside_one_batch_is_new_only_once(store: Store) -> None:
    entries = store.journal(
        "a", [item("u1"), item("u1"), item(None, b"z"), item(None, b"z")], at(0)
    )
    got = [(e.raw_id, e.new) for e in entries]
    first, second = got[0][0], got[2][0]
    assert got == [(first, True), (first, False), (second, True), (second, False)]
    assert first < second


def test_identity_is_per_source_and_by_remote_id_when_there_is_one(store: Store) -> None:
    a = store.journal("a", [item("u1", b"same")], at(0))
    b = store.journal("b", [item("u1", b"same")], at(0))
    # same bytes, different remote id: two distinct items of one source
    c = store.journal("a", [item("u2", b"same")], at(0))
    # same bytes without a remote id: identified by sha256, apart from the ones with ids
    d = store.journal("a", [item(None, b"same")], at(0))
    assert [x[0].new for x in (a, b, c, d)] == [True, True, True, True]
    assert len({x[0].raw_id for x in (a, b, c, d)}) == 4


def test_large_batches_span_pages(store: Store) -> None:
    first = store.journal("a", [item(f"u{i}") for i in range(1200)], at(0))
    mixed = [item(f"u{i}") for i in range(600, 1800)]
    again = store.journal("a", mixed, at(1))
    assert sum(e.new for e in first) == 1200
    assert [e.new for e in again] == [False] * 600 + [True] * 600
    assert [e.raw_id for e in again[:600]] == [e.raw_id for e in first[600:]]
    assert store.known_remote_ids("a", [f"u{i}" for i in range(1790, 1810)]) == {
        f"u{i}" for i in range(1790, 1800)
    }


def test_known_remote_ids_is_per_source(store: Store) -> None:
    store.journal("a", [item("u1"), item("u2")], at(0))
    assert store.known_remote_ids("a", ["u1", "u3"]) == {"u1"}
    assert store.known_remote_ids("b", ["u1"]) == set()
    assert store.known_remote_ids("a", []) == set()


def test_unprocessed_returns_what_a_crash_left_behind(store: Store) -> None:
    received = at(-30).astimezone(timezone(timedelta(hours=2)))
    full = RawItem("u1", b"\x00bytes\xff", "email", None, "dlr@acme.example", received)
    entries = store.journal("a", [full, item("u2"), item("u3")], at(0))
    store.journal("b", [item("u1")], at(0))
    store.store_parsed("a", "a", [ParsedRaw(entries[1].raw_id, [receipt()])], at(1))
    pending = list(store.unprocessed("a"))
    assert [(raw_id, src) for raw_id, src, _ in pending] == [(1, "a"), (3, "a")]
    back = pending[0][2]
    assert (back.remote_id, back.payload, back.format, back.sender, back.parse_error) == (
        "u1",
        b"\x00bytes\xff",
        "email",
        "dlr@acme.example",
        None,
    )
    assert back.received_at == received  # the same instant, read back in UTC
    assert len(list(store.unprocessed())) == 3


def test_unprocessed_pages_through_many_rows(store: Store) -> None:
    store.journal("a", [item(f"u{i}") for i in range(450)], at(0))
    assert [raw_id for raw_id, _, _ in store.unprocessed("a")] == list(range(1, 451))


def test_quarantine_and_quarantined(store: Store) -> None:
    entries = store.journal("a", [item("u1"), item("u2")], at(0))
    store.quarantine(entries[0].raw_id, "unreadable envelope", now=at(5))
    [(raw_id, src, got)] = list(store.quarantined("a"))
    assert (raw_id, src, got.parse_error) == (1, "a", "unreadable envelope")
    assert [r for r, _, _ in store.unprocessed("a")] == [2]
    assert rows(store, "SELECT parsed_at FROM raw_messages WHERE id = 1") == [
        ("2026-11-22T14:00:05.000000Z",)
    ]


def test_items_a_source_marked_unparseable_are_journaled_quarantined(store: Store) -> None:
    too_big = RawItem("u1", b"", "email", "larger than max_size (2 MiB); not fetched")
    store.journal("a", [too_big], at(0))
    assert list(store.unprocessed("a")) == []
    assert [i.parse_error for _, _, i in store.quarantined("a")] == [too_big.parse_error]


def test_reparse_flow_clears_the_quarantine(store: Store) -> None:
    [entry] = store.journal("a", [item("u1")], at(0))
    store.store_parsed("a", "a", [ParsedRaw(entry.raw_id, [], "no profile for this")], at(1))
    assert len(list(store.quarantined("a"))) == 1
    # after the profile was fixed, the same raw item parses: stored once, however often
    for _ in range(2):
        store.store_parsed("a", "a", [ParsedRaw(entry.raw_id, [receipt()])], at(2))
    assert list(store.quarantined("a")) == []
    assert rows(store, "SELECT receipts, parse_error FROM raw_messages") == [(1, None)]
    assert rows(store, "SELECT count(*) FROM receipts") == [(1,)]
