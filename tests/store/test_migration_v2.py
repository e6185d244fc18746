"""Schema 1 → 2: ``message_status`` turns from a view into a maintained table holding the same
rows, and time columns are declared DATETIME, with every row kept and foreign keys intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.errors import StoreError
from dlrpoll.store import ParsedRaw, Store, migrate_v2, migrations
from dlrpoll.store.tables import MESSAGE_STATUS_COLUMNS, MESSAGE_STATUS_QUERY

from .helpers import at, item, receipt, rows

SCHEMA_V1 = Path(__file__).parents[1] / "fixtures" / "schema-v1.sql"
TABLES = ("raw_messages", "receipts", "poll_runs", "source_state")

#: (message_id, state, state_code, final, done_at, error_code): a final that governs, a
#: late intermediate, a conflicting final, intermediates ordered by done date, none
RECEIPTS = [
    ("M1", "ENROUTE", 1, 0, "2026-11-22T10:00:00.000000Z", None),
    ("M1", "DELIVERED", 2, 1, "2026-11-22T10:05:00.000000Z", "000"),
    ("M1", "ENROUTE", 1, 0, "2026-11-22T11:00:00.000000Z", None),
    ("M1", "UNDELIVERABLE", 5, 1, None, "0B1"),
    ("M2", "ENROUTE", 1, 0, "2026-11-22T10:00:00.000000Z", None),
    ("M2", "ACCEPTED", 6, 0, "2026-11-22T09:00:00.000000Z", None),
    ("M3", "SCHEDULED", 0, 0, None, None),
]


def make_v1(path: Path) -> None:
    con = sqlite3.connect(path)
    con.executescript(SCHEMA_V1.read_text(encoding="utf-8"))
    for n, (mid, state, code, final, done, err) in enumerate(RECEIPTS, 1):
        when = f"2026-11-22T12:00:{n:02d}.000000Z"
        con.execute(
            "INSERT INTO raw_messages (source, remote_id, sha256, fetched_at, payload, format, "
            "receipts, parsed_at) VALUES ('box', ?, ?, ?, ?, 'text', 1, ?)",
            (f"u{n}", f"{n:064x}", when, f"raw {n}".encode(), when),
        )
        con.execute(
            "INSERT INTO receipts (raw_id, source, scope, message_id, state, state_code, final, "
            "provider_status, error_code, done_at, format, received_at) "
            "VALUES (?, 'box', 'box', ?, ?, ?, ?, ?, ?, ?, 'smpp', ?)",
            (n, mid, state, code, final, state[:7], err, done, when),
        )
    con.execute(
        "INSERT INTO poll_runs (source, started_at, finished_at, outcome, fetched, stored, "
        "duplicates, quarantined) VALUES ('box', '2026-11-22T12:00:00.000000Z', "
        "'2026-11-22T12:00:09.000000Z', 'ok', 7, 7, 0, 0)"
    )
    con.execute(
        "INSERT INTO source_state (source, last_started_at) "
        "VALUES ('box', '2026-11-22T12:00:00.000000Z')"
    )
    con.commit()
    con.close()


#: columns added after version 2 (match_id: 3; the operator columns: 4; the lease holder
#: and refused attempts: 5)
LATER = {
    "match_id",
    "dismissed_at",
    "pruned_at",
    "holder_host",
    "holder_pid",
    "holder_start",
    "last_started_by",
    "skipped",
    "last_skipped_at",
}


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row, in version 2's columns (later versions' columns are their own tests')."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for t in TABLES:
        names = [r[1] for r in rows(path, f"PRAGMA table_info({t})") if r[1] not in LATER]
        keep = ", ".join(f'"{n}"' for n in names)
        out[t] = rows(path, f"SELECT {keep} FROM {t} ORDER BY 1")
    cols = ", ".join(f'"{c}"' for c in MESSAGE_STATUS_COLUMNS if c != "match_id")
    out["message_status"] = rows(path, f"SELECT {cols} FROM message_status ORDER BY 1, 2")
    return out


def declared(path: Path, table: str) -> dict[str, str]:
    return {r[1]: r[2] for r in rows(path, f"PRAGMA table_info({table})")}


def test_a_version_1_file_is_migrated_keeping_every_row(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    make_v1(old)
    before = dump(old)
    assert [r[2] for r in before["message_status"]] == ["DELIVERED", "ENROUTE", "SCHEDULED"]
    with Store(f"sqlite:///{old}") as store:
        assert store.schema_version == migrations.SCHEMA_VERSION  # 2, then on to 3
    assert rows(old, "SELECT type FROM sqlite_master WHERE name = 'message_status'") == [("table",)]
    assert dump(old) == before  # the same rows everywhere, the status table included
    # later versions' columns get their defaults, not their names (SQLite reads a quoted
    # name that is no column as a string)
    assert rows(
        old, "SELECT holder_host, holder_pid, last_started_by, skipped FROM source_state"
    ) == [(None, None, None, 0)]
    assert rows(old, "PRAGMA foreign_key_check") == []
    assert rows(old, "PRAGMA integrity_check") == [("ok",)]
    assert rows(old, "SELECT DISTINCT typeof(done_at) FROM receipts ORDER BY 1") == [
        ("null",),
        ("text",),
    ]
    # the same declarations and indexes as a file created at the current version
    new = tmp_path / "new.sqlite"
    Store(f"sqlite:///{new}").close()
    for table in (*TABLES, "message_status"):
        assert declared(old, table) == declared(new, table), table
    index_sql = "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY 1"
    assert rows(old, index_sql) == rows(new, index_sql)
    assert declared(new, "receipts")["done_at"] == "DATETIME"
    assert declared(new, "poll_runs")["started_at"] == "DATETIME"


def test_the_migrated_table_keeps_following_the_rule(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    make_v1(path)
    with Store(f"sqlite:///{path}") as store:
        entries = store.journal("box", [item("n1"), item("n2")], at(0))
        store.store_parsed(
            "box",
            "box",
            [
                ParsedRaw(entries[0].raw_id, [receipt("M2", done=None)]),  # a final for M2
                ParsedRaw(entries[1].raw_id, [receipt("M4")]),
            ],
            at(1),
        )
    cols = ", ".join(f'"{c}"' for c in MESSAGE_STATUS_COLUMNS)
    table = rows(path, f"SELECT {cols} FROM message_status ORDER BY scope, message_id")
    assert table == rows(path, f"{MESSAGE_STATUS_QUERY} ORDER BY scope, message_id")
    assert [(r[1], r[2], r[6]) for r in table] == [
        ("M1", "DELIVERED", 4),
        ("M2", "DELIVERED", 3),
        ("M3", "SCHEDULED", 1),
        ("M4", "DELIVERED", 1),
    ]


def test_a_failed_migration_leaves_version_1_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite"
    make_v1(path)
    before = dump(path)

    def broken(conn: object) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(migrate_v2, "build_status", broken)
    with pytest.raises(StoreError, match="disk I/O error"):
        Store(f"sqlite:///{path}")
    assert rows(path, "PRAGMA user_version") == [(1,)]
    assert rows(path, "SELECT type FROM sqlite_master WHERE name = 'message_status'") == [("view",)]
    assert declared(path, "receipts")["done_at"] == "VARCHAR"
    assert dump(path) == before
