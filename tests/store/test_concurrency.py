"""Real second processes on the file: a reader in a long transaction, a writer holding the lock."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from dlrpoll.counts import Counts
from dlrpoll.errors import StoreError
from dlrpoll.store import ParsedRaw, Store

from .helpers import Shell, at, item, receipt, rows


def write_batch(store: Store, n: int, size: int = 3) -> Counts:
    """One poller batch: journal ``size`` raw items, then store a receipt for each."""
    entries = store.journal("a", [item(f"b{n}-{i}") for i in range(size)], at(n))
    results = [ParsedRaw(e.raw_id, [receipt(f"M{n}-{i}")]) for i, e in enumerate(entries)]
    return store.store_parsed("a", "a", results, at(n))


def test_a_reader_holding_a_transaction_open_never_blocks_the_poller(
    store: Store, db_path: Path
) -> None:
    write_batch(store, 0)
    shell = Shell(db_path, busy_ms=0)  # the reader fails at once if anything locks it out
    try:
        shell.send("BEGIN; SELECT 'start', count(*) FROM receipts;")
        assert shell.expect("start") == ["3"]
        for n in range(1, 1001):
            assert write_batch(store, n) == Counts(0, 3, 0, 0)
            if n == 500:
                # still inside its snapshot, reading while the poller writes
                shell.send("SELECT 'mid', count(*) FROM receipts;")
                assert shell.expect("mid") == ["3"]
        shell.send("SELECT 'end', count(*) FROM receipts; COMMIT;")
        assert shell.expect("end") == ["3"]
        shell.send("SELECT 'fresh', count(*), count(DISTINCT message_id) FROM receipts;")
        assert shell.expect("fresh") == ["3003", "3003"]
    finally:
        errors = shell.close()
    assert errors == []  # never "database is locked" on the reader's side either


def test_a_writer_holding_the_lock_makes_the_poller_wait_then_succeed(
    store: Store, db_path: Path
) -> None:
    shell = Shell(db_path, busy_ms=0)
    outcome: list[object] = []
    try:
        shell.send(
            "BEGIN IMMEDIATE; INSERT INTO poll_runs (source, started_at, finished_at, outcome, "
            "fetched, stored, duplicates, quarantined) VALUES ('other', '2026', '2026', 'ok', "
            "0, 0, 0, 0); SELECT 'locked';"
        )
        shell.expect("locked")

        def poll() -> None:
            try:
                outcome.append(write_batch(store, 1))
            except StoreError as exc:  # pragma: no cover - reported by the assertion below
                outcome.append(exc)

        poller = threading.Thread(target=poll)
        poller.start()
        # the poller must still be waiting for the lock two seconds later
        poller.join(timeout=2.0)
        assert poller.is_alive() and outcome == []
        shell.send("COMMIT; SELECT 'released';")
        shell.expect("released")
        poller.join(timeout=30)
        assert not poller.is_alive()
    finally:
        errors = shell.close()
    assert outcome == [Counts(0, 3, 0, 0)]
    assert errors == []
    # nothing lost on either side
    assert rows(db_path, "SELECT source FROM poll_runs") == [("other",)]
    assert rows(db_path, "SELECT count(*) FROM receipts") == [(3,)]


def test_a_lock_held_past_the_busy_timeout_fails_with_a_clear_message(db_path: Path) -> None:
    Store(f"sqlite:///{db_path}").close()
    impatient = Store(f"sqlite:///{db_path}", busy_timeout=0.2)
    shell = Shell(db_path)
    try:
        shell.send("BEGIN IMMEDIATE; SELECT 'locked';")
        shell.expect("locked")
        with pytest.raises(StoreError) as info:
            impatient.journal("a", [item("u1")], at(0))
        message = str(info.value)
        assert "another process has held the write lock" in message
        assert str(db_path) in message and "busy_timeout" in message
        # reads are not blocked by the writer
        assert impatient.known_remote_ids("a", ["u1"]) == set()
        shell.send("ROLLBACK;")
    finally:
        shell.close()
        impatient.close()


def test_many_threads_share_one_store(store: Store, db_path: Path) -> None:
    # the daemon polls many sources at once through one Store
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for k in range(5):
                write_batch(store, n * 100 + k, size=2)
        except BaseException as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == [] and not any(t.is_alive() for t in threads)
    assert rows(db_path, "SELECT count(*), count(DISTINCT raw_id) FROM receipts") == [(240, 240)]
    assert rows(db_path, "SELECT count(*) FROM raw_messages WHERE receipts = 1") == [(240,)]
