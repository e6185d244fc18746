"""The store's one-home facts: the receipt row derived from the model, one counts type, one
timestamp format, and reports behind the store's error edge."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from dlrpoll.counts import Counts
from dlrpoll.errors import StoreError
from dlrpoll.receipts.model import RECEIPT_FIELDS, Receipt, State
from dlrpoll.store import ParsedRaw, PollRun, Store, reports
from dlrpoll.store.export import export_columns
from dlrpoll.store.receipts import RECEIPT_COLS, receipt_row
from dlrpoll.store.tables import receipts
from dlrpoll.timestamps import from_text, parse_iso, to_text

from .helpers import at, item, rows


def full_receipt() -> Receipt:
    return Receipt(
        message_id="M1",
        state=State.UNDELIVERABLE,
        final=True,
        provider_status="UNDELIV",
        format="smpp",
        error_code="0B1",
        submitted_at=datetime(2026, 11, 22, 15, 0, tzinfo=timezone(timedelta(hours=1))),
        done_at=datetime(2026, 11, 22, 14, 5, tzinfo=UTC),
        sub=1,
        dlvrd=0,
        src_addr="ACME",
        dst_addr="447900000001",
        client_ref="ref-7",
        text="hello",
    )


def test_the_receipt_row_holds_every_field_in_its_column() -> None:
    r = full_receipt()
    row = dict(zip(RECEIPT_COLS, receipt_row(7, "src", "scope", r, "AT"), strict=True))
    assert row == {
        "raw_id": 7,
        "source": "src",
        "scope": "scope",
        "message_id": "M1",
        "state": "UNDELIVERABLE",
        "state_code": 5,
        "final": 1,
        "provider_status": "UNDELIV",
        "error_code": "0B1",
        "submitted_at": "2026-11-22T14:00:00.000000Z",
        "done_at": "2026-11-22T14:05:00.000000Z",
        "sub": 1,
        "dlvrd": 0,
        "src_addr": "ACME",
        "dst_addr": "447900000001",
        "client_ref": "ref-7",
        "text": "hello",
        "format": "smpp",
        "received_at": "AT",
        "match_id": "M1",
    }
    # every field of the model has its column, and the export header is the table's
    assert set(RECEIPT_FIELDS) <= set(row)
    assert export_columns("receipts") == tuple(c.name for c in receipts.columns)


def test_a_stored_receipt_reads_back_as_the_model_wrote_it(store: Store) -> None:
    [entry] = store.journal("a", [item("u1")], at(0))
    r = full_receipt()
    store.store_parsed("a", "a", [ParsedRaw(entry.raw_id, [r])], at(1))
    [got] = store.export_rows("receipts")
    for name in RECEIPT_FIELDS:
        value = getattr(r, name)
        if isinstance(value, datetime):
            assert from_text(got[name]) == value, name
        elif isinstance(value, State):
            assert (got[name], got["state_code"]) == (value.name, value.value)
        else:
            assert got[name] == (int(value) if isinstance(value, bool) else value), name


def test_counts_add_up_and_stay_frozen() -> None:
    total = Counts(1, 2, 3, 4) + Counts(10, 20, 30, 40)
    assert total == Counts(11, 22, 33, 44)
    assert sum([Counts(stored=1)] * 3, Counts()) == Counts(stored=3)
    assert total.describe() == "fetched 11, stored 22, duplicates 33, quarantined 44"
    with pytest.raises(dataclasses.FrozenInstanceError):
        total.stored = 0  # type: ignore[misc]


def test_one_timestamp_format_both_ways() -> None:
    when = datetime(2026, 11, 22, 16, 7, 53, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert to_text(when) == "2026-11-22T14:07:53.123456Z"
    assert from_text("2026-11-22T14:07:53.123456Z") == when
    assert from_text(datetime(2026, 11, 22, 14, 7)) == datetime(2026, 11, 22, 14, 7, tzinfo=UTC)
    assert reports.to_time("2026-11-22T14:07:53.123456Z") == when
    paris = timezone(timedelta(hours=1))
    assert parse_iso("2026-11-22T14:00", paris) == datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    assert parse_iso("2026-11-22") == datetime(2026, 11, 22, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_iso("yesterday")


def test_reports_read_through_the_stores_error_edge(store: Store, db_path: Path) -> None:
    store.engine.dispose()
    for extra in ("-wal", "-shm"):
        Path(f"{db_path}{extra}").unlink(missing_ok=True)
    db_path.write_bytes(b"not a database at all\n" * 512)
    for call in (
        lambda: reports.overview(store, ["a"], now=at(0)),
        lambda: reports.last_starts(store),
        lambda: reports.message_sample(store),
    ):
        with pytest.raises(StoreError) as info:
            call()
        assert str(db_path) in str(info.value)
        assert "not a valid SQLite database" in str(info.value)


def test_an_overview_is_one_snapshot(store: Store) -> None:
    store.record_poll(PollRun("a", at(0), at(1), "ok", Counts(3, 2, 1, 0)))
    view = reports.overview(store, ["a"], now=at(60))
    assert view.sources["a"].counts == Counts(3, 2, 1, 0)
    assert view.sources["a"].polls == {"ok": 1}
    assert rows(store, "SELECT count(*) FROM poll_runs") == [(1,)]
