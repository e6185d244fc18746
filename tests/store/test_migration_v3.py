"""Schema 2 → 3: ``match_id`` in ``receipts`` and ``message_status``, indexed, filled from
``message_id`` for the rows already there; then kept by every write, under the profile's
rule; and the join the README shows works against it."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from dlrpoll.errors import StoreError
from dlrpoll.store import ParsedRaw, Store, migrate_v3, migrations

from .helpers import at, item, receipt, rows
from .test_migration_v2 import make_v1

NEW_INDEXES = ("ix_receipts_match_id", "ix_message_status_match_id")


def make_v2(path: Path) -> None:
    """A version-2 file: version 1 migrated to the current schema, then version 3's columns
    and indexes taken away again (SQLite >= 3.35 drops columns)."""
    make_v1(path)
    Store(f"sqlite:///{path}").close()
    con = sqlite3.connect(path)
    for name in NEW_INDEXES:
        con.execute(f"DROP INDEX {name}")
    con.execute("ALTER TABLE receipts DROP COLUMN match_id")
    con.execute("ALTER TABLE message_status DROP COLUMN match_id")
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()


def declared(path: Path, table: str) -> list[tuple[object, ...]]:
    """Every column's name, declared type, NOT NULL and default, in order."""
    return [r[1:5] for r in rows(path, f"PRAGMA table_info({table})")]


def indexes(path: Path) -> list[tuple[object, ...]]:
    return rows(path, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' ORDER BY 1")


@pytest.mark.parametrize("make", [make_v1, make_v2], ids=["from-v1", "from-v2"])
def test_an_older_file_gets_match_id_like_a_new_one(tmp_path: Path, make: object) -> None:
    old = tmp_path / "old.sqlite"
    make(old)  # type: ignore[operator]
    if make is make_v2:
        assert "match_id" not in [c[0] for c in declared(old, "receipts")]
    before = rows(old, "SELECT id, message_id FROM receipts ORDER BY id")
    with Store(f"sqlite:///{old}") as store:
        assert store.schema_version == migrations.SCHEMA_VERSION
    # every row kept, its match_id its message_id (what the default rule gives)
    assert rows(old, "SELECT id, match_id FROM receipts ORDER BY id") == before
    assert rows(old, "SELECT count(*) FROM message_status WHERE match_id <> message_id") == [(0,)]
    assert rows(old, "SELECT count(*) FROM message_status") == [(3,)]
    # declared, ordered and indexed like a new file's: match_id last, NOT NULL DEFAULT ''
    new = tmp_path / "new.sqlite"
    Store(f"sqlite:///{new}").close()
    for table in ("receipts", "message_status"):
        assert declared(old, table) == declared(new, table), table
        assert declared(new, table)[-1] == ("match_id", "VARCHAR", 1, "''")
    assert indexes(old) == indexes(new)
    assert {n for n, _t in indexes(new)} >= set(NEW_INDEXES)
    assert rows(old, "PRAGMA integrity_check") == [("ok",)]


def test_a_failed_migration_leaves_version_2_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "old.sqlite"
    make_v2(path)
    before = declared(path, "receipts"), rows(path, "SELECT * FROM receipts ORDER BY id")

    def broken(conn: object, table: object) -> list[str]:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(migrate_v3, "add_missing_columns", broken)
    with pytest.raises(StoreError, match="disk I/O error"):
        Store(f"sqlite:///{path}")
    assert rows(path, "PRAGMA user_version") == [(2,)]
    assert (declared(path, "receipts"), rows(path, "SELECT * FROM receipts ORDER BY id")) == before


def store_receipts(path: Path, *found: object) -> None:
    with Store(f"sqlite:///{path}") as store:
        entries = store.journal("box", [item(f"u{i}") for i in range(len(found))], at(0))
        store.store_parsed(
            "box",
            "box",
            [ParsedRaw(e.raw_id, [r]) for e, r in zip(entries, found, strict=True)],  # type: ignore[list-item]
            at(1),
        )


@pytest.mark.parametrize("serialized", [True, False], ids=["sqlite-fold", "returning-fold"])
def test_every_write_keeps_match_id_in_both_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, serialized: bool
) -> None:
    from dlrpoll.store import receipts as store_receipts_module

    original = store_receipts_module.Receipts.__init__

    def init(self: object, db: object, *, serialized_: bool | None = None) -> None:
        original(self, db, serialized=serialized)  # type: ignore[arg-type]

    monkeypatch.setattr(store_receipts_module.Receipts, "__init__", init)
    path = tmp_path / "db.sqlite"
    first = dataclasses.replace(receipt("169552957"), match_id="0A1B2C3D")
    store_receipts(path, first, receipt("M-plain"))
    assert rows(path, "SELECT message_id, match_id FROM receipts ORDER BY id") == [
        ("169552957", "0A1B2C3D"),
        ("M-plain", "M-plain"),
    ]
    assert rows(path, "SELECT message_id, match_id FROM message_status ORDER BY 1") == [
        ("169552957", "0A1B2C3D"),
        ("M-plain", "M-plain"),
    ]


def readme_join() -> str:
    """The README's join of a sending application's table with ``message_status``."""
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- section: schema -->", 1)[1].split("<!-- section:", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```sql\n")[1:]]
    [join] = [s.strip() for b in blocks for s in b.split(";") if "sent_sms" in s]
    return join


def test_the_readmes_join_goes_through_match_id(tmp_path: Path) -> None:
    """The submit response said 0A1B2C3D, the receipts say 169552957: the profile's
    decimal-to-hex rule makes them meet, through the index."""
    path = tmp_path / "dlr.sqlite"
    store_receipts(
        path,
        dataclasses.replace(receipt("169552957"), match_id="0A1B2C3D"),
        dataclasses.replace(receipt("169552958"), match_id="0A1B2C3E"),
    )
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE sent_sms (id INTEGER PRIMARY KEY, sent_at TEXT, recipient TEXT, "
        "provider_message_id TEXT)"
    )
    con.executemany(
        "INSERT INTO sent_sms VALUES (?, datetime('now', '-1 day', 'start of day', '+1 hour'), "
        "'447900000001', ?)",
        [(1, "0A1B2C3D"), (2, "0A1B2C3E"), (3, "0A1B2C3F")],
    )
    con.commit()
    got = con.execute(readme_join() + " ORDER BY s.id").fetchall()
    plan = " ".join(
        str(r[3])
        for r in con.execute("EXPLAIN QUERY PLAN SELECT * FROM message_status WHERE match_id = 'x'")
    )
    con.close()
    assert [(r[0], r[3], r[6]) for r in got] == [
        (1, "DELIVERED", "000"),
        (2, "DELIVERED", "000"),
        (3, None, None),
    ]
    assert "ix_message_status_match_id" in plan
