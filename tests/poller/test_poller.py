"""The poller's order and bookkeeping, with a fake source (the protocol tests use real servers)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.config import LoadedConfig, parse_settings
from dlrpoll.poller import poll_source
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources import Batch
from dlrpoll.store import Store
from tests.support.clock import Clock
from tests.support.fake_source import FakeSource


def smpp(i: int, stat: str = "DELIVRD") -> bytes:
    return (
        f"id:{i:08d} sub:001 dlvrd:001 submit date:2611221200 done date:2611221201 "
        f"stat:{stat} err:000 text:"
    ).encode()


def envelope(payload: bytes) -> Batch:
    return Batch(envelope=RawItem(None, payload, RawFormat.SOAP_ENVELOPE))


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
    items = [RawItem(str(i), smpp(i), RawFormat.TEXT) for i in range(5)]
    items.append(RawItem("bad", b"this is not a receipt", RawFormat.TEXT))
    source = FakeSource(queue=[items])
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
    assert poll_source(config, cfg, FakeSource(), store, clock=clock).outcome == "ok"
    clock.advance(119)
    assert poll_source(config, cfg, FakeSource(), store, clock=clock).outcome == "skipped"
    clock.advance(1)
    assert poll_source(config, cfg, FakeSource(), store, clock=clock).outcome == "ok"


def test_already_journaled_items_are_not_stored_twice(config: LoadedConfig, store: Store) -> None:
    clock = Clock()
    cfg = config.settings.sources[0]
    items = [RawItem(str(i), smpp(i), RawFormat.TEXT) for i in range(3)]
    poll_source(config, cfg, FakeSource(queue=[items]), store, clock=clock)
    clock.advance(120)
    again = FakeSource(queue=[items])
    result = poll_source(config, cfg, again, store, clock=clock)
    assert (result.fetched, result.stored) == (0, 0)
    assert again.events == [("fetch", 0), ("ack", 3)]


def test_source_error_records_an_error_and_keeps_what_was_journaled(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    items = [RawItem(str(i), smpp(i), RawFormat.TEXT) for i in range(3)]
    source = FakeSource(queue=[items, items], fail_after_first=True)
    result = poll_source(config, config.settings.sources[0], source, store, clock=Clock())
    assert result.outcome == "error" and "connection reset" in (result.error or "")
    assert result.stored == 3
    [(outcome, error)] = rows(tmp_path, "select outcome, error from poll_runs")
    assert outcome == "error" and "source 'fake'" in error


def test_envelope_is_journaled_before_it_is_split(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    good = FakeSource(queue=[envelope(smpp(1) + b"\n" + smpp(2))])
    assert poll_source(config, config.settings.sources[0], good, store, clock=Clock()).stored == 2
    bad = FakeSource(queue=[envelope(b"<bad/>")])
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

    with pytest.raises(RuntimeError):
        poll_source(
            config, config.settings.sources[0], Broken(queue=[envelope(b"x")]), store, clock=Clock()
        )
    [(outcome, error)] = rows(tmp_path, "select outcome, error from poll_runs")
    assert outcome == "error" and "internal error: RuntimeError: boom" in error


# -- the source interface: what differs between kinds is declared by the source ------------


def test_a_consuming_fetch_waits_for_room_to_journal_its_answer(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    """A source kind the poller has never heard of declares that its fetch consumes and how
    much room it needs; the poller refuses the fetch without asking what kind it is."""
    items = [RawItem("1", smpp(1), RawFormat.TEXT)]
    greedy = FakeSource(queue=[items], consumes=True, fetch_headroom=2**62)
    result = poll_source(config, config.settings.sources[0], greedy, store, clock=Clock())
    assert result.outcome == "error" and "free space" in (result.error or "")
    assert greedy.events == []  # nothing was fetched, so nothing was consumed
    modest = FakeSource(queue=[items], consumes=True, fetch_headroom=1)
    clock = Clock()
    clock.tick()
    assert poll_source(config, config.settings.sources[0], modest, store, clock=clock).stored == 1


def test_containers_are_what_the_source_says_they_are(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    """A kind whose containers are text bundles: the poller journals the bundle, splits it
    through the source, and stores each line's receipt."""
    bundle = RawItem(None, smpp(7) + b"\n" + smpp(8), RawFormat.TEXT)
    source = FakeSource(queue=[Batch(envelope=bundle)], containers=frozenset({RawFormat.TEXT}))
    result = poll_source(config, config.settings.sources[0], source, store, clock=Clock())
    assert (result.outcome, result.fetched, result.stored) == ("ok", 2, 2)
    assert rows(tmp_path, "select count(*) from raw_messages") == [(3,)]


def test_items_held_on_the_server_make_the_poll_partial(
    config: LoadedConfig, store: Store, tmp_path: Path
) -> None:
    items = [RawItem("1", smpp(1), RawFormat.TEXT)]
    held = Batch(items=items, held=["message 2 is 3.0 MiB, over max_size 1 MiB"])
    source = FakeSource(queue=[held])
    result = poll_source(config, config.settings.sources[0], source, store, clock=Clock())
    assert (result.outcome, result.stored) == ("partial", 1)
    assert "over max_size" in (result.error or "")
    [(outcome,)] = rows(tmp_path, "select outcome from poll_runs")
    assert outcome == "partial"


def test_the_poller_knows_no_source_kind() -> None:
    """No isinstance on a source config and no format literals in the poller."""
    text = Path(__file__).parents[2].joinpath("src/dlrpoll/poller.py").read_text()
    assert "isinstance(" not in text
    assert "Pop3SourceConfig" not in text and "SoapSourceConfig" not in text
    for literal in ('"soap-envelope"', '"email-headers"', '"email"', '"destructive"'):
        assert literal not in text, literal
