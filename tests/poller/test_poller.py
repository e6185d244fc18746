"""The poller's order and bookkeeping, with a fake source (the protocol tests use real servers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dlrpoll.config import LoadedConfig, parse_settings
from dlrpoll.errors import SourceConnectError, SourceResponseError
from dlrpoll.poller import poll_source
from dlrpoll.rawitem import RawItem
from dlrpoll.sources import Batch, KnownIds
from dlrpoll.store import Store

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def smpp(i: int, stat: str = "DELIVRD") -> bytes:
    return (
        f"id:{i:08d} sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 "
        f"stat:{stat} err:000 text:"
    ).encode()


class FakeSession:
    def __init__(self, source: FakeSource) -> None:
        self.source = source

    def batches(self, known: KnownIds) -> Iterator[Batch]:
        for batch in self.source.queue:
            ids = [i.remote_id for i in batch if i.remote_id is not None]
            seen = known(ids)
            new = [i for i in batch if i.remote_id not in seen]
            self.source.events.append(("fetch", len(new)))
            yield Batch(items=new, known=sorted(seen))
            if self.source.fail_after_first:
                raise SourceConnectError(self.source.name, "connection reset by peer")

    def acknowledge(self, batch: Batch) -> None:
        self.source.events.append(("ack", len(batch.items) + len(batch.known)))
        self.source.acked.extend(i.remote_id for i in batch.items)


class FakeSource:
    name = "fake"

    def __init__(self, queue: list[list[RawItem]], *, fail_after_first: bool = False) -> None:
        self.queue = queue
        self.events: list[tuple[str, int]] = []
        self.acked: list[str | None] = []
        self.fail_after_first = fail_after_first

    @contextmanager
    def open(self) -> Iterator[FakeSession]:
        yield FakeSession(self)

    def split(self, envelope: RawItem) -> list[RawItem]:
        if envelope.payload.startswith(b"<bad"):
            raise SourceResponseError(self.name, "expected NewSMSMessage items")
        return [
            RawItem(f"env-{n}", line, "text")
            for n, line in enumerate(envelope.payload.splitlines())
        ]


@pytest.fixture
def config() -> LoadedConfig:
    settings = parse_settings(
        {
            "sources": [
                {
                    "name": "fake",
                    "kind": "soap",
                    "wsdl": "unused.wsdl",
                    "profile": "smpp",
                }
            ]
        }
    )
    return LoadedConfig(settings=settings, path=None, secrets={})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(f"sqlite:///{tmp_path / 'dlr.sqlite'}")
    yield s
    s.close()


def rows(tmp_path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "dlr.sqlite") as conn:
        return conn.execute(sql).fetchall()


def test_journal_parse_store_then_acknowledge(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    items = [RawItem(str(i), smpp(i), "text") for i in range(5)]
    items.append(RawItem("bad", b"this is not a receipt", "text"))
    source = FakeSource([items])
    result = poll_source(config, config.settings.sources[0], source, store, clock=Clock())
    assert (result.outcome, result.fetched, result.stored, result.quarantined) == ("ok", 6, 5, 1)
    assert source.events == [("fetch", 6), ("ack", 6)]
    assert rows(tmp_path, "select count(*) from receipts") == [(5,)]
    [(reason,)] = rows(tmp_path, "select parse_error from raw_messages where remote_id = 'bad'")
    assert isinstance(reason, str) and reason
    [(outcome, fetched, stored)] = rows(tmp_path, "select outcome, fetched, stored from poll_runs")
    assert (outcome, fetched, stored) == ("ok", 6, 5)


def test_second_poll_inside_the_floor_is_skipped(config: LoadedConfig, store: Store) -> None:
    clock = Clock()
    cfg = config.settings.sources[0]
    assert poll_source(config, cfg, FakeSource([]), store, clock=clock).outcome == "ok"
    clock.advance(119)
    assert poll_source(config, cfg, FakeSource([]), store, clock=clock).outcome == "skipped"
    clock.advance(1)
    assert poll_source(config, cfg, FakeSource([]), store, clock=clock).outcome == "ok"


def test_already_journaled_items_are_not_stored_twice(config: LoadedConfig, store: Store) -> None:
    clock = Clock()
    cfg = config.settings.sources[0]
    items = [RawItem(str(i), smpp(i), "text") for i in range(3)]
    poll_source(config, cfg, FakeSource([items]), store, clock=clock)
    clock.advance(120)
    again = FakeSource([items])
    result = poll_source(config, cfg, again, store, clock=clock)
    assert (result.fetched, result.stored) == (0, 0)
    assert again.events == [("fetch", 0), ("ack", 3)]


def test_source_error_records_an_error_and_keeps_what_was_journaled(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    items = [RawItem(str(i), smpp(i), "text") for i in range(3)]
    source = FakeSource([items, items], fail_after_first=True)
    result = poll_source(config, config.settings.sources[0], source, store, clock=Clock())
    assert result.outcome == "error" and "connection reset" in (result.error or "")
    assert result.stored == 3
    [(outcome, error)] = rows(tmp_path, "select outcome, error from poll_runs")
    assert outcome == "error" and "source 'fake'" in error


def test_envelope_is_journaled_before_it_is_split(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    class EnvelopeSource(FakeSource):
        def __init__(self, payload: bytes) -> None:
            super().__init__([])
            self.payload = payload

        @contextmanager
        def open(self) -> Iterator[FakeSession]:  # type: ignore[override]
            session = FakeSession(self)
            session.batches = lambda known: iter(  # type: ignore[method-assign]
                [Batch(envelope=RawItem(None, self.payload, "soap-envelope"))]
            )
            yield session

    good = EnvelopeSource(smpp(1) + b"\n" + smpp(2))
    assert poll_source(config, config.settings.sources[0], good, store, clock=Clock()).stored == 2
    bad = EnvelopeSource(b"<bad/>")
    clock = Clock()
    clock.advance(600)
    result = poll_source(config, config.settings.sources[0], bad, store, clock=clock)
    assert result.outcome == "error"
    [(reason,)] = rows(
        tmp_path, "select parse_error from raw_messages where payload = x'3c6261642f3e'"
    )
    assert "expected NewSMSMessage" in reason


def test_an_internal_error_is_recorded_as_error_not_ok(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    class Broken(FakeSource):
        def split(self, envelope: RawItem) -> list[RawItem]:
            raise RuntimeError("boom")

        @contextmanager
        def open(self) -> Iterator[FakeSession]:  # type: ignore[override]
            session = FakeSession(self)
            session.batches = lambda known: iter(  # type: ignore[method-assign]
                [Batch(envelope=RawItem(None, b"x", "soap-envelope"))]
            )
            yield session

    with pytest.raises(RuntimeError):
        poll_source(config, config.settings.sources[0], Broken([]), store, clock=Clock())
    [(outcome, error)] = rows(tmp_path, "select outcome, error from poll_runs")
    assert outcome == "error" and "internal error: RuntimeError: boom" in error
