"""``[retention]`` and ``dlrpoll prune``: payloads of stored or dismissed items and old poll
runs go; rows, keys, waiting quarantine, each source's latest runs and receipts stay."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlrpoll.cli import main
from dlrpoll.config import parse_settings
from dlrpoll.errors import ConfigError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.store import ParsedRaw, PollRun, Store
from dlrpoll.store.quarantine import dismiss

OLD = datetime.now(UTC) - timedelta(days=100)
RECENT = datetime.now(UTC) - timedelta(days=1)
GOOD = b"id:1 sub:001 dlvrd:001 stat:DELIVRD err:000 text:"


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        got = conn.execute(sql).fetchall()
    conn.close()
    return got


@pytest.fixture
def config(tmp_path: Path) -> Path:
    from dlrpoll.receipts import BUILTIN_PROFILES, parse_payload

    db = tmp_path / "dlr.sqlite"
    with Store(f"sqlite:///{db}") as store:
        items = [
            RawItem("stored-old", GOOD, RawFormat.TEXT),
            RawItem("quarantined-old", b"not a receipt", RawFormat.TEXT),
            RawItem("dismissed-old", b"not a receipt either", RawFormat.TEXT),
        ]
        entries = store.journal("box", items, OLD)
        receipts = parse_payload(GOOD, "text", BUILTIN_PROFILES["smpp"], UTC)
        store.store_parsed(
            "box",
            "box",
            [
                ParsedRaw(entries[0].raw_id, receipts),
                ParsedRaw(entries[1].raw_id, (), "no receipt"),
                ParsedRaw(entries[2].raw_id, (), "no receipt at all"),
            ],
            OLD,
        )
        dismiss(store, OLD, ids=[entries[2].raw_id])
        [recent] = store.journal("box", [RawItem("stored-new", GOOD, RawFormat.TEXT)], RECENT)
        store.store_parsed("box", "box", [ParsedRaw(recent.raw_id, receipts)], RECENT)
        for days, outcome in (
            (120, "ok"),
            (110, "ok"),
            (100, "error"),
            (30, "skipped"),
            (20, "skipped"),
            (1, "skipped"),
        ):
            at = datetime.now(UTC) - timedelta(days=days)
            store.record_poll(PollRun("box", at, at, outcome))
    path = tmp_path / "dlrpoll.toml"
    path.write_text(f'[database]\npath = "{db}"\n')
    return path


def test_dry_run_counts_and_changes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = (tmp_path / "dlr.sqlite").read_bytes()
    assert main(["prune", "--dry-run", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "would prune payloads of 2 raw item(s)" in out
    # ok: the older of two goes; error: the only one stays; skipped: 30 and 20 days old go
    assert "1 poll run(s), 2 skipped poll(s)" in out
    assert (tmp_path / "dlr.sqlite").read_bytes() == before


def test_prune_keeps_what_dedupe_status_and_reparse_need(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "dlr.sqlite"
    assert main(["prune", "--config", str(config)]) == 0
    assert "pruned payloads of 2 raw item(s)" in capsys.readouterr().out
    got = dict(rows(db, "SELECT remote_id, length(payload) FROM raw_messages"))
    assert got == {
        "stored-old": 0,  # stored long ago: bytes gone, row and keys kept
        "quarantined-old": len(b"not a receipt"),  # still waiting for reparse: kept whole
        "dismissed-old": 0,
        "stored-new": len(GOOD),  # recent: kept
    }
    pruned = rows(db, "SELECT remote_id FROM raw_messages WHERE pruned_at IS NOT NULL")
    assert sorted(r for (r,) in pruned) == ["dismissed-old", "stored-old"]
    with Store(f"sqlite:///{db}") as store:  # dedupe still recognises a pruned item
        assert store.known_remote_ids("box", ["stored-old"]) == {"stored-old"}
    assert rows(db, "SELECT count(*) FROM receipts") == [(1,)]  # the same receipt, stored once
    runs = rows(db, "SELECT outcome FROM poll_runs ORDER BY id")
    assert runs == [("ok",), ("error",), ("skipped",)]  # the latest of each outcome stays
    # a second prune has nothing left to do
    assert main(["prune", "--config", str(config)]) == 0
    assert "pruned payloads of 0 raw item(s) (0.0 MiB), 0 poll run(s), 0 skipped" in (
        capsys.readouterr().out
    )


def test_retention_settings() -> None:
    keep = parse_settings({"retention": {"raw_payloads": "30d", "poll_runs": "forever"}})
    assert keep.retention.raw_payloads == 30 * 86400 and keep.retention.poll_runs is None
    assert parse_settings({}).retention.skipped_polls == 7 * 86400
    with pytest.raises(ConfigError, match="retention.raw_payloads: '1h' is less than a day"):
        parse_settings({"retention": {"raw_payloads": "1h"}})
    with pytest.raises(ConfigError, match="retention.receipts: is not a known setting"):
        parse_settings({"retention": {"receipts": "30d"}})
