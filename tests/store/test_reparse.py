"""``reparse`` streams: a batch per transaction, progress at INFO, a kill keeps what was done."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from dlrpoll.config import LoadedConfig, load_config
from dlrpoll.counts import Counts
from dlrpoll.errors import StoreError
from dlrpoll.reparse import reparse
from dlrpoll.store import ParsedRaw, Store

from .helpers import at, item, rows


def smpp(n: int) -> bytes:
    return (
        f"id:M{n:04d} sub:001 dlvrd:001 submit date:2611221400 done date:2611221401 "
        f"stat:DELIVRD err:000 text:hello"
    ).encode()


@pytest.fixture
def config(tmp_path: Path, db_path: Path) -> LoadedConfig:
    path = tmp_path / "dlrpoll.toml"
    path.write_text(
        f'[database]\npath = "{db_path.name}"\n\n[[sources]]\nname = "box"\nkind = "soap"\n'
        'wsdl = "inbox.wsdl"\nprofile = "smpp"\n',
        encoding="utf-8",
    )
    return load_config(str(path))


def backlog(store: Store, n: int) -> None:
    """``n`` quarantined rows that parse now, and one that never will."""
    items = [item(f"u{i}", smpp(i)) for i in range(n)] + [item("bad", b"still garbage")]
    entries = store.journal("box", items, at(0))
    store.store_parsed(
        "box", "box", [ParsedRaw(e.raw_id, [], "old profile") for e in entries], at(1)
    )


def test_a_failure_mid_way_keeps_the_batches_before_it_and_a_rerun_finishes(
    config: LoadedConfig, store: Store, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backlog(store, 10)
    calls = 0
    real = store.store_parsed

    def failing_third(*args: object, **kwargs: object) -> Counts:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise StoreError("database or disk is full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "store_parsed", failing_third)
    with pytest.raises(StoreError):
        reparse(config, store, clock=lambda: at(60), batch=3)
    # two batches of three committed, each in its own transaction
    assert rows(db_path, "SELECT count(*) FROM receipts") == [(6,)]
    assert rows(db_path, "SELECT count(*) FROM raw_messages WHERE parse_error IS NULL") == [(6,)]
    monkeypatch.setattr(store, "store_parsed", real)
    assert reparse(config, store, clock=lambda: at(120), batch=3) == {"box": Counts(0, 4, 0, 1)}
    assert rows(db_path, "SELECT count(*), count(DISTINCT message_id) FROM receipts") == [(10, 10)]
    assert rows(db_path, "SELECT count(*) FROM message_status") == [(10,)]


def test_progress_is_logged_at_info(
    config: LoadedConfig, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    backlog(store, 9)
    with caplog.at_level(logging.INFO, logger="dlrpoll.reparse"):
        got = reparse(config, store, clock=lambda: at(60), batch=4, progress_every=4)
    assert got == {"box": Counts(0, 9, 0, 1)}
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert [line.split(" (")[0] for line in lines[:2]] == [
        "reparse box: 4 rows so far",
        "reparse box: 8 rows so far",
    ]
    assert lines[-1] == ("reparse box: done, 10 rows: stored 9, duplicates 0, still quarantined 1")


def test_batches_never_hold_more_than_the_batch_size(
    config: LoadedConfig, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    backlog(store, 25)
    sizes: list[int] = []
    real = store.store_parsed

    def spy(source: str, scope: str, results: list[ParsedRaw], now: object) -> Counts:
        sizes.append(len(results))
        return real(source, scope, results, now)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "store_parsed", spy)
    reparse(config, store, clock=lambda: at(60), batch=10)
    assert sizes == [10, 10, 6]
