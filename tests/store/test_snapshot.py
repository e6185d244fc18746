"""``dlrpoll snapshot``: a consistent, self-contained copy, taken while a writer holds its
transaction, without waiting for it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.cli import main
from dlrpoll.errors import StoreError
from dlrpoll.store import Store, migrations
from dlrpoll.store.database import Database
from dlrpoll.store.snapshot import copy_rows
from dlrpoll.store.tables import TABLES

from . import reportdb
from .helpers import Shell, rows


def dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {t.name: rows(path, f"SELECT * FROM {t.name} ORDER BY 1, 2") for t in TABLES}


def test_a_snapshot_while_a_writer_holds_a_transaction(
    store: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reportdb.fill(store, reportdb.now())
    committed = dump(db_path)
    shell = Shell(db_path)
    try:
        shell.send("BEGIN IMMEDIATE;")
        shell.send("DELETE FROM poll_runs;")
        shell.send("INSERT INTO source_state (source) VALUES ('uncommitted');")
        shell.send("SELECT 'held', count(*) FROM poll_runs;")
        assert shell.expect("held") == ["0"]
        target = tmp_path / "out" / "dlrpoll.sqlite"
        target.parent.mkdir()
        assert main(["snapshot", str(target), "--database", str(db_path)]) == 0
        assert f"written to {target}" in capsys.readouterr().out
        shell.send("COMMIT;")
        shell.send("SELECT 'done', count(*) FROM poll_runs;")
        assert shell.expect("done") == ["0"]  # the writer went on unhindered
    finally:
        assert shell.close() == []
    assert dump(target) == committed  # as of its start: nothing of the open transaction
    assert [p.name for p in target.parent.iterdir()] == ["dlrpoll.sqlite"]  # one file
    assert target.read_bytes()[18:20] == b"\x01\x01"  # rollback journal, not WAL
    con = sqlite3.connect(f"file:{target}?immutable=1", uri=True)
    assert con.execute("SELECT count(*) FROM message_status").fetchone() == (6,)
    con.close()


def test_a_snapshot_refuses_to_overwrite_unless_forced(
    store: Store, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "copy.sqlite"
    target.write_bytes(b"precious")
    assert main(["snapshot", str(target), "--database", str(db_path)]) == 1
    assert "exists; name a new file, or pass --force" in capsys.readouterr().err
    assert target.read_bytes() == b"precious"
    assert main(["snapshot", str(db_path), "--database", str(db_path), "--force"]) == 1
    assert "that is the database itself" in capsys.readouterr().err
    assert main(["snapshot", str(target), "--database", str(db_path), "--force", "-q"]) == 0
    assert rows(target, "SELECT count(*) FROM receipts") == [(0,)]


def test_the_copy_for_other_databases_holds_the_same_rows(
    store: Store, db_path: Path, tmp_path: Path
) -> None:
    """The table-by-table copy used for PostgreSQL, run here from SQLite."""
    reportdb.fill(store, reportdb.now())
    target = tmp_path / "copy.sqlite"
    with Database(f"sqlite:///{db_path}", readonly=True) as db:
        copy_rows(db, target)
    assert dump(target) == dump(db_path)


def test_read_only_opening_writes_nothing_and_refuses_an_old_schema(
    store: Store, db_path: Path
) -> None:
    store.close()
    before = db_path.read_bytes()
    with Database(f"sqlite:///{db_path}", readonly=True) as db:
        assert db.schema_version == migrations.SCHEMA_VERSION
    assert db_path.read_bytes() == before
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA user_version = 1")
    con.close()
    with pytest.raises(StoreError, match=f"schema version 1, not {migrations.SCHEMA_VERSION}"):
        Database(f"sqlite:///{db_path}", readonly=True)
