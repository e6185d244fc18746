"""The file as an interface: names, pragmas, timestamps, schema versions and error mapping."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import Connection, event, text

from dlrpoll.errors import SchemaTooNewError, StorageFullError, StoreError
from dlrpoll.store import ParsedRaw, Store, migrations
from dlrpoll.store.engine import map_error
from dlrpoll.store.tables import MESSAGE_STATUS_COLUMNS, from_iso, iso

from .helpers import at, item, receipt, rows

CONTRACT = {
    "raw_messages": [
        "id",
        "source",
        "remote_id",
        "sha256",
        "fetched_at",
        "payload",
        "format",
        "sender",
        "received_at",
        "parse_error",
        "receipts",
        "parsed_at",
        "dismissed_at",
        "pruned_at",
    ],
    "receipts": [
        "id",
        "raw_id",
        "source",
        "scope",
        "message_id",
        "state",
        "state_code",
        "final",
        "provider_status",
        "error_code",
        "submitted_at",
        "done_at",
        "sub",
        "dlvrd",
        "src_addr",
        "dst_addr",
        "client_ref",
        "text",
        "format",
        "received_at",
        "match_id",
    ],
    "poll_runs": [
        "id",
        "source",
        "started_at",
        "finished_at",
        "outcome",
        "fetched",
        "stored",
        "duplicates",
        "quarantined",
        "error",
    ],
    "source_state": [
        "source",
        "last_started_at",
        "claimed_by",
        "claimed_until",
        "holder_host",
        "holder_pid",
        "holder_start",
        "last_started_by",
        "skipped",
        "last_skipped_at",
    ],
    "message_status": list(MESSAGE_STATUS_COLUMNS),
}


def columns(path: Path, name: str) -> list[str]:
    return [r[1] for r in rows(path, f"PRAGMA table_info({name})")]


def test_the_public_names_are_exactly_the_documented_ones(store: Store, db_path: Path) -> None:
    for name, cols in CONTRACT.items():
        assert columns(db_path, name) == cols, name
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section: schema -->", 1)[1].split("<!-- section:", 1)[0]
    for name, cols in CONTRACT.items():
        assert f"`{name}`" in section, name
        for col in cols:
            assert f"`{col}`" in section, f"{name}.{col} is not documented"


def test_the_reports_have_their_indexes(sqlite_store: Store) -> None:
    store = sqlite_store
    plans = {
        "SELECT * FROM receipts WHERE message_id = 'x'": "ix_receipts_message_id",
        "SELECT * FROM receipts WHERE state = 'DELIVERED' AND done_at >= '2026-01-01'": (
            "ix_receipts_state_done"
        ),
        "SELECT * FROM receipts WHERE source = 'a' AND received_at >= '2026'": (
            "ix_receipts_source_received"
        ),
        "SELECT * FROM poll_runs WHERE source = 'a' ORDER BY started_at DESC": (
            "ix_poll_runs_source_started"
        ),
        # the join a reporting tool writes against its own sent messages (schema 3)
        "SELECT * FROM receipts WHERE match_id = 'x'": "ix_receipts_match_id",
        "SELECT * FROM message_status WHERE match_id = 'x'": "ix_message_status_match_id",
        # message_status: a lookup by message id, with or without its scope, is the key
        "SELECT * FROM message_status WHERE message_id = 'x'": "ix_message_status_message_id",
        "SELECT * FROM message_status WHERE scope = 's' AND message_id = 'x'": (
            "sqlite_autoindex_message_status_1 (scope=? AND message_id=?)"
        ),
        "SELECT state, count(*) FROM message_status GROUP BY state": (
            "COVERING INDEX ix_message_status_state"
        ),
        "SELECT count(*) FROM message_status WHERE final = 1 AND done_at >= '2026-11-21'": (
            "COVERING INDEX ix_message_status_done_final"
        ),
        "SELECT * FROM message_status WHERE source = 'a' AND done_at >= '2026-11-21'": (
            "ix_message_status_source_done"
        ),
    }
    for sql, index in plans.items():
        plan = " ".join(r[3] for r in rows(store, f"EXPLAIN QUERY PLAN {sql}"))
        assert index in plan, (sql, plan)


def test_pragmas_on_every_connection(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as conn:
        got = {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in (
                "journal_mode",
                "synchronous",
                "foreign_keys",
                "busy_timeout",
                "wal_autocheckpoint",
            )
        }
    assert got == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 30000,
        "wal_autocheckpoint": 4000,
    }


def test_the_journal_commits_with_synchronous_full(sqlite_store: Store) -> None:
    store = sqlite_store
    # the commit before a destructive acknowledgement must be FULL; storing parsed
    # receipts (which the journal can redo) runs NORMAL; each write sets its own level
    seen: list[str] = []

    def watch(statement: str) -> None:
        if statement.startswith("PRAGMA synchronous"):
            seen.append(statement.split("=")[1].strip())

    # the store sets it on the driver's connection: SQLite's trace hook sees it
    store.engine.dispose()
    event.listen(store.engine, "connect", lambda dbapi, _rec: dbapi.set_trace_callback(watch))
    [entry] = store.journal("a", [item("u1")], at(0))
    store.store_parsed("a", "a", [ParsedRaw(entry.raw_id, [receipt()])], at(1))
    store.journal("a", [item("u2")], at(2))
    assert seen == ["FULL", "NORMAL", "FULL"]


def test_timestamps_are_fixed_width_utc_text_in_time_order() -> None:
    plus2 = timezone(timedelta(hours=2))
    assert iso(datetime(2026, 11, 22, 16, 7, 53, 123456, tzinfo=plus2)) == (
        "2026-11-22T14:07:53.123456Z"
    )
    assert iso(datetime(2026, 11, 22, 14, 7, 53)) == "2026-11-22T14:07:53.000000Z"  # naive: UTC
    instants = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=s) for s in (0, 0.5, 9, 10)]
    texts = [iso(t) for t in instants]
    assert sorted(texts) == texts and len(set(map(len, texts))) == 1
    assert [from_iso(t) for t in texts] == instants
    # sqlite's own date functions read them
    con = sqlite3.connect(":memory:")
    assert con.execute("SELECT datetime(?)", (texts[1],)).fetchone() == ("2026-01-01 00:00:00",)


def test_a_new_file_is_created_at_the_current_version(store: Store, db_path: Path) -> None:
    assert rows(db_path, "PRAGMA user_version") == [(migrations.SCHEMA_VERSION,)]
    assert store.schema_version == migrations.SCHEMA_VERSION
    store.close()
    Store(f"sqlite:///{db_path}").close()  # opening again changes nothing
    assert rows(db_path, "PRAGMA user_version") == [(migrations.SCHEMA_VERSION,)]


def test_a_file_from_a_newer_dlrpoll_is_refused_untouched(db_path: Path) -> None:
    Store(f"sqlite:///{db_path}").close()
    newer = migrations.SCHEMA_VERSION + 1
    con = sqlite3.connect(db_path)
    con.execute(f"PRAGMA user_version = {newer}")
    con.close()
    before = db_path.read_bytes()
    with pytest.raises(SchemaTooNewError) as info:
        Store(f"sqlite:///{db_path}")
    message = str(info.value)
    assert str(db_path) in message and f"version {newer}" in message
    assert "Upgrade dlrpoll" in message
    assert db_path.read_bytes() == before


def _add_note_column(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE poll_runs ADD COLUMN note TEXT"))


def _broken_step(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE poll_runs ADD COLUMN half TEXT"))
    conn.execute(text("this is not sql"))


def test_an_older_file_is_migrated_forward_at_open(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(f"sqlite:///{db_path}").close()
    nxt = migrations.SCHEMA_VERSION + 1
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", nxt)
    monkeypatch.setitem(migrations.STEPS, nxt, _add_note_column)
    Store(f"sqlite:///{db_path}").close()
    assert rows(db_path, "PRAGMA user_version") == [(nxt,)]
    assert "note" in columns(db_path, "poll_runs")


def test_a_failed_migration_leaves_the_file_as_it_was(
    store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.journal("a", [item("u1")], at(0))
    store.close()
    now = migrations.SCHEMA_VERSION
    monkeypatch.setattr(migrations, "SCHEMA_VERSION", now + 1)
    monkeypatch.setitem(migrations.STEPS, now + 1, _broken_step)
    with pytest.raises(StoreError, match="database error"):
        Store(f"sqlite:///{db_path}")
    assert rows(db_path, "PRAGMA user_version") == [(now,)]
    assert "half" not in columns(db_path, "poll_runs")
    assert rows(db_path, "SELECT remote_id FROM raw_messages") == [("u1",)]


def test_a_database_of_something_else_is_refused(db_path: Path) -> None:
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE invoices (id INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="not a dlrpoll database"):
        Store(f"sqlite:///{db_path}")
    assert [r[0] for r in rows(db_path, "SELECT name FROM sqlite_master")] == ["invoices"]


def test_a_missing_directory_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "no" / "such" / "dlr.sqlite"
    with pytest.raises(StoreError) as info:
        Store(f"sqlite:///{path}")
    assert str(path) in str(info.value) and "directory exists" in str(info.value)


def test_a_file_that_is_not_sqlite_is_reported(db_path: Path) -> None:
    db_path.write_bytes(b"this is a text file, not a database\n" * 100)
    with pytest.raises(StoreError, match="not a valid SQLite database"):
        Store(f"sqlite:///{db_path}")


def test_a_bad_url_is_reported() -> None:
    with pytest.raises(StoreError, match="not a database URL"):
        Store("no url at all")


def test_a_full_disk_raises_storage_full(store: Store, db_path: Path) -> None:
    # max_page_count makes SQLite report SQLITE_FULL, exactly as a full filesystem does
    pages = rows(db_path, "PRAGMA page_count")[0][0]

    @event.listens_for(store.engine, "connect")
    def _cap(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 1}")

    store.engine.dispose()
    with pytest.raises(StorageFullError) as info:
        store.journal("a", [item(f"u{i}", b"x" * 4000) for i in range(50)], at(0))
    assert str(db_path) in str(info.value) and "free space" in str(info.value)
    assert rows(db_path, "SELECT count(*) FROM raw_messages") == [(0,)]  # all or nothing


def test_error_mapping_says_what_to_do() -> None:
    locked = map_error(sqlite3.OperationalError("database is locked"), "/var/dlr.sqlite", 30)
    assert type(locked) is StoreError
    assert "another process" in str(locked) and "busy_timeout" in str(locked)
    assert "/var/dlr.sqlite" in str(locked)
    full = map_error(OSError(28, "No space left on device"), "/var/dlr.sqlite", 30)
    assert isinstance(full, StorageFullError)
    readonly = map_error(sqlite3.OperationalError("attempt to write a readonly database"), "f", 1)
    assert "read-only" in str(readonly)


def test_the_readme_queries_run_read_only(sqlite_store: Store, db_path: Path) -> None:
    store = sqlite_store  # the README's examples are written for the SQLite file
    [entry] = store.journal("a", [item("u1")], at(0))
    store.store_parsed("a", "a", [ParsedRaw(entry.raw_id, [receipt("0A1B2C3D")])], at(1))
    store.quarantine(store.journal("a", [item("u2")], at(2))[0].raw_id, "bad", now=at(3))
    store.claim("a", now=at(0), interval=120, ttl=600, owner="h:1")
    # the sending application's own table, for the README's join example
    con = sqlite3.connect(db_path)
    con.execute(
        "CREATE TABLE sent_sms (id INTEGER PRIMARY KEY, sent_at TEXT, recipient TEXT, "
        "provider_message_id TEXT)"
    )
    con.execute(
        "INSERT INTO sent_sms VALUES (7, datetime('now', '-1 day', 'start of day', '+1 hour'), "
        "'447900000001', '0A1B2C3D')"
    )
    con.commit()
    con.close()
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section: schema -->", 1)[1].split("<!-- section:", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```sql\n")[1:]]
    statements = [s.strip() for b in blocks for s in b.split(";") if s.strip()]
    assert len(statements) >= 6
    results = [rows(store, sql) for sql in statements]
    assert results[0] == [
        (
            "2026-11-22T14:00:01.000000Z",
            "DELIVERED",
            "DELIVER",
            "000",
            "2026-11-22T14:01:00.000000Z",
        )
    ]
    assert all(isinstance(r, list) for r in results)
    joined = [r for sql, r in zip(statements, results, strict=True) if "sent_sms" in sql]
    assert joined == [
        [(7, joined[0][0][1], "447900000001", "DELIVERED", 1, "2026-11-22T14:01:00.000000Z", "000")]
    ]
