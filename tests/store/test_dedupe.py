"""Dedupe (each receipt stored once) and the final-state rule of ``message_status``."""

from __future__ import annotations

from pathlib import Path

from dlrpoll.counts import Counts
from dlrpoll.receipts.model import Receipt, State
from dlrpoll.store import ParsedRaw, Store

from .helpers import at, item, receipt, rows


def store_one(store: Store, source: str, scope: str, raw: str, *receipts: Receipt) -> Counts:
    """Journal one raw item and store its receipts, as the poller does."""
    [entry] = store.journal(source, [item(raw)], at(0))
    return store.store_parsed(source, scope, [ParsedRaw(entry.raw_id, receipts)], at(1))


def status(path: Path, message_id: str = "MSG1", scope: str = "a") -> tuple[object, ...]:
    [row] = rows(
        path,
        "SELECT state, state_code, final, done_at, receipts, conflict FROM message_status "
        "WHERE scope = ? AND message_id = ?",
        scope,
        message_id,
    )
    return row


def test_the_same_raw_message_journaled_twice_is_stored_once(store: Store) -> None:
    first = store.journal("a", [item("uid-1")], at(0))
    again = store.journal("a", [item("uid-1")], at(200))
    assert [e.new for e in first] == [True]
    assert [e.new for e in again] == [False]
    assert again[0].raw_id == first[0].raw_id
    # the poller stores only new entries; a repeat of store_parsed is still harmless
    results = [ParsedRaw(first[0].raw_id, [receipt()])]
    assert store.store_parsed("a", "a", results, at(1)) == Counts(
        stored=1, duplicates=0, quarantined=0
    )
    assert store.store_parsed("a", "a", results, at(201)) == Counts(
        stored=0, duplicates=1, quarantined=0
    )
    assert rows(store, "SELECT count(*) FROM raw_messages") == [(1,)]
    assert rows(store, "SELECT count(*) FROM receipts") == [(1,)]


def test_the_same_receipt_inside_two_raw_messages_is_stored_once(store: Store) -> None:
    assert store_one(store, "a", "a", "mail-1", receipt()) == Counts(
        stored=1, duplicates=0, quarantined=0
    )
    assert store_one(store, "a", "a", "mail-2", receipt()) == Counts(
        stored=0, duplicates=1, quarantined=0
    )
    assert rows(store, "SELECT count(*) FROM raw_messages") == [(2,)]
    assert rows(store, "SELECT raw_id, message_id FROM receipts") == [(1, "MSG1")]
    # both raw rows are marked parsed with what they yielded, duplicate or not
    assert rows(store, "SELECT id, receipts, parse_error FROM raw_messages ORDER BY id") == [
        (1, 1, None),
        (2, 1, None),
    ]


def test_two_sources_sharing_a_scope_store_a_receipt_once(store: Store) -> None:
    assert store_one(store, "acme-soap", "acme", "soap-1", receipt()) == Counts(
        stored=1, duplicates=0, quarantined=0
    )
    assert store_one(store, "acme-mail", "acme", "mail-1", receipt()) == Counts(
        stored=0, duplicates=1, quarantined=0
    )
    assert rows(store, "SELECT source, scope FROM receipts") == [("acme-soap", "acme")]


def test_different_scopes_keep_their_own_copy(store: Store) -> None:
    store_one(store, "a", "a", "r1", receipt())
    store_one(store, "b", "b", "r1", receipt())
    assert rows(store, "SELECT scope FROM receipts ORDER BY scope") == [("a",), ("b",)]


def test_missing_done_at_and_error_code_still_dedupe(store: Store) -> None:
    # NULLs are distinct in a UNIQUE index; the key must treat "unknown" as one value
    bare = receipt(done=None, error_code=None)
    assert store_one(store, "a", "a", "r1", bare, bare) == Counts(
        stored=1, duplicates=1, quarantined=0
    )
    assert store_one(store, "a", "a", "r2", bare) == Counts(0, 0, 1, 0)
    assert rows(store, "SELECT done_at, error_code FROM receipts") == [(None, None)]


def test_each_part_of_the_key_distinguishes_receipts(store: Store) -> None:
    variants = [
        receipt(),
        receipt("MSG2"),
        receipt(state=State.UNDELIVERABLE),
        receipt(done=61),
        receipt(error_code="001"),
        receipt(done=None),
    ]
    assert store_one(store, "a", "a", "r1", *variants) == Counts(
        stored=6, duplicates=0, quarantined=0
    )
    # provider status text is not part of the key: the same event worded differently
    assert store_one(store, "a", "a", "r2", receipt(status="Delivered")) == Counts(
        stored=0, duplicates=1, quarantined=0
    )


def test_an_intermediate_receipt_after_a_final_one_is_kept_but_changes_nothing(
    store: Store, db_path: Path
) -> None:
    store_one(store, "a", "a", "r1", receipt(state=State.ENROUTE, done=10))
    assert status(db_path) == ("ENROUTE", 1, 0, at(10).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), 1, 0)
    store_one(store, "a", "a", "r2", receipt(state=State.DELIVERED, done=60))
    # a late ENROUTE, even one that claims a later time, is stored and ignored
    store_one(store, "a", "a", "r3", receipt(state=State.ENROUTE, done=120))
    assert rows(db_path, "SELECT count(*) FROM receipts") == [(3,)]
    assert status(db_path) == ("DELIVERED", 2, 1, "2026-11-22T14:01:00.000000Z", 3, 0)


def test_the_earliest_final_governs_and_conflicting_finals_are_flagged(
    store: Store, db_path: Path
) -> None:
    store_one(store, "a", "a", "r1", receipt(state=State.DELIVERED, done=60))
    store_one(store, "a", "a", "r2", receipt(state=State.UNDELIVERABLE, done=30))
    state, code, final, done_at, count, conflict = status(db_path)
    assert (state, code, final, count, conflict) == ("DELIVERED", 2, 1, 2, 1)
    assert done_at == "2026-11-22T14:01:00.000000Z"


def test_agreeing_finals_are_no_conflict(store: Store, db_path: Path) -> None:
    store_one(store, "a", "a", "r1", receipt(done=60))
    store_one(store, "a", "a", "r2", receipt(done=61, error_code="0"))
    assert status(db_path)[4:] == (2, 0)


def test_finality_belongs_to_the_receipt_not_the_state_name(store: Store, db_path: Path) -> None:
    # Ginota's "4 Accepted" is ACCEPTED but intermediate: a later state still governs
    store_one(store, "a", "a", "r1", receipt(state=State.ACCEPTED, final=False, done=10))
    store_one(store, "a", "a", "r2", receipt(state=State.ENROUTE, done=20))
    assert status(db_path)[:3] == ("ENROUTE", 1, 0)
    store_one(store, "a", "a", "r3", receipt(state=State.ACCEPTED, final=True, done=30))
    assert status(db_path)[:3] == ("ACCEPTED", 6, 1)


def test_without_a_final_the_latest_intermediate_by_done_at_then_arrival_governs(
    store: Store, db_path: Path
) -> None:
    store_one(store, "a", "a", "r1", receipt(state=State.ENROUTE, done=50))
    store_one(store, "a", "a", "r2", receipt(state=State.SCHEDULED, done=40))
    assert status(db_path)[:2] == ("ENROUTE", 1)  # later done_at wins over later arrival
    store_one(store, "a", "a", "r3", receipt(state=State.SCHEDULED, done=50))
    assert status(db_path)[:2] == ("SCHEDULED", 0)  # same done_at: the later arrival
    store_one(store, "a", "a", "r4", receipt(state=State.ENROUTE, done=None))
    assert status(db_path)[:2] == ("SCHEDULED", 0)  # no done_at counts as oldest


def test_one_status_row_per_scope_and_message(store: Store) -> None:
    store_one(store, "a", "a", "r1", receipt("M1"), receipt("M2", State.ENROUTE, done=5))
    store_one(store, "b", "b", "r1", receipt("M1", State.EXPIRED))
    got = rows(store, "SELECT scope, message_id, state FROM message_status ORDER BY 1, 2")
    assert got == [("a", "M1", "DELIVERED"), ("a", "M2", "ENROUTE"), ("b", "M1", "EXPIRED")]


def test_store_parsed_counts_quarantined_items_and_marks_them(store: Store) -> None:
    entries = store.journal("a", [item("ok"), item("bad"), item("empty")], at(0))
    results = [
        ParsedRaw(entries[0].raw_id, [receipt()]),
        ParsedRaw(entries[1].raw_id, [], "not a receipt: no id field"),
        ParsedRaw(entries[2].raw_id, []),
    ]
    assert store.store_parsed("a", "a", results, at(1)) == Counts(
        stored=1, duplicates=0, quarantined=1
    )
    assert rows(store, "SELECT remote_id, receipts, parse_error FROM raw_messages ORDER BY id") == [
        ("ok", 1, None),
        ("bad", None, "not a receipt: no id field"),
        ("empty", 0, None),
    ]
    assert list(store.unprocessed("a")) == []


def test_a_batch_with_repeats_inside_it_counts_them_as_duplicates(store: Store) -> None:
    entries = store.journal("a", [item(f"r{i}") for i in range(500)], at(0))
    results = [ParsedRaw(e.raw_id, [receipt(f"M{i % 250}")]) for i, e in enumerate(entries)]
    assert store.store_parsed("a", "a", results, at(1)) == Counts(
        stored=250, duplicates=250, quarantined=0
    )


def test_receipt_columns_hold_what_the_receipt_says(store: Store, db_path: Path) -> None:
    r = receipt(state=State.UNDELIVERABLE, error_code="001", status="UNDELIV")
    store_one(store, "src", "scope", "r1", r)
    [row] = rows(
        db_path,
        "SELECT raw_id, source, scope, message_id, state, state_code, final, provider_status, "
        "error_code, submitted_at, done_at, sub, dlvrd, src_addr, dst_addr, client_ref, text, "
        "format, received_at FROM receipts",
    )
    assert row == (
        1,
        "src",
        "scope",
        "MSG1",
        "UNDELIVERABLE",
        5,
        1,
        "UNDELIV",
        "001",
        "2026-11-22T14:00:00.000000Z",
        "2026-11-22T14:01:00.000000Z",
        1,
        1,
        "ACME",
        "447900000001",
        None,
        "hello",
        "smpp",
        "2026-11-22T14:00:01.000000Z",
    )


def test_writes_of_every_size_store_each_receipt_once_with_its_status(store: Store) -> None:
    """On SQLite an insert goes in groups of rows per statement, then the rest row by row:
    sizes around the group's edges, with repeats inside a write (in one group and across
    two) and of an earlier write, store each distinct receipt once, in arrival order, and
    fold each into its message's status."""
    group = max(store._receipts._insert.group, 2)
    sizes = sorted({1, group - 1, group, group + 1, 2 * group, 2 * group + 3})
    expected: list[tuple[object, ...]] = []
    seen: set[tuple[str, int]] = set()
    n = 0
    for write, size in enumerate(sizes):
        found, new = [], len(expected)
        for i in range(size):
            # every 5th repeats the receipt 3 before it (often in the group before); the
            # first of each write repeats the last of the write before
            k = n - 3 if i % 5 == 4 else (n - 1 if i == 0 and n else n)
            found.append(receipt(f"M{k // 2}", State.DELIVERED if k % 2 else State.ENROUTE))
            if (k // 2, k % 2) not in seen:
                seen.add((k // 2, k % 2))
                expected.append((f"M{k // 2}", "DELIVERED" if k % 2 else "ENROUTE"))
            n += 1
        entries = store.journal("a", [item(f"w{write}-{i}") for i in range(size)], at(write))
        results = [ParsedRaw(e.raw_id, [r]) for e, r in zip(entries, found, strict=True)]
        counts = store.store_parsed("a", "a", results, at(write))
        assert (counts.stored, counts.duplicates) == (len(expected) - new, size - counts.stored)
    assert rows(store, "SELECT message_id, state FROM receipts ORDER BY id") == expected
    status = rows(
        store, "SELECT message_id, state, receipts FROM message_status ORDER BY message_id"
    )
    by_message: dict[str, list[str]] = {}
    for message_id, state in expected:
        by_message.setdefault(message_id, []).append(state)
    assert status == [
        (m, "DELIVERED" if "DELIVERED" in states else "ENROUTE", len(states))
        for m, states in sorted(by_message.items())
    ]
