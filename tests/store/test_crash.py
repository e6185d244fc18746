"""A poller SIGKILLed between journal commit and receipt storage loses nothing, and one killed
inside the receipts' transaction leaves no receipt without its status (or the reverse)."""

from __future__ import annotations

import signal
import subprocess
import sys
from datetime import UTC, timedelta
from pathlib import Path

from dlrpoll.config import LoadedConfig, parse_settings
from dlrpoll.poller import Parser, poll_source
from dlrpoll.rawitem import RawItem
from dlrpoll.receipts import BUILTIN_PROFILES
from dlrpoll.store import ParsedRaw, Store
from dlrpoll.store.tables import MESSAGE_STATUS_COLUMNS, MESSAGE_STATUS_QUERY
from tests.support.fake_source import FakeSource

from .helpers import at, receipt, rows

CHILD = Path(__file__).with_name("crash_child.py")


class ReceiptParser(Parser):
    """Reads the child's ``receipt M<n>`` payloads without the real parsers."""

    def __init__(self) -> None:
        super().__init__(BUILTIN_PROFILES["smpp"], UTC)

    def parse(self, raw_id: int, item: RawItem) -> ParsedRaw:
        message_id = item.payload.decode().removeprefix("receipt ")
        return ParsedRaw(raw_id, [receipt(message_id)])


def Mailbox(items: list[RawItem]) -> FakeSource:  # noqa: N802
    """A source that offers the same items again, as a mailbox never acknowledged would."""
    return FakeSource("box", queue=[items])


def config() -> LoadedConfig:
    settings = parse_settings(
        {
            "sources": [
                {
                    "name": "box",
                    "kind": "pop3",
                    "host": "127.0.0.1",
                    "username": "dlr",
                    "password": {"env": "UNUSED"},
                }
            ]
        }
    )
    return LoadedConfig(settings=settings, path=None, secrets={})


def test_a_killed_poller_is_completed_by_the_next_run_without_duplicates(store_url: str) -> None:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), store_url, "50"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().split() == ["journaled", "50"]
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    assert rows_at(store_url, "SELECT count(*), count(receipts) FROM raw_messages") == [(50, 0)]

    # the next run: the mailbox still offers everything (nothing was acknowledged), plus one
    offered = [RawItem(f"uid-{i}", f"receipt M{i}".encode(), "text") for i in range(51)]
    mailbox = Mailbox(offered)
    cfg = config()
    with Store(store_url) as store:
        result = poll_source(
            cfg,
            cfg.settings.sources[0],
            mailbox,
            store,
            clock=lambda: at(300),
            parser=ReceiptParser(),
        )
        assert (result.outcome, result.stored, result.duplicates) == ("ok", 51, 0)
        assert len(mailbox.acknowledged) == 51
        assert list(store.unprocessed()) == []
        # and again: nothing new, nothing twice
        again = poll_source(
            cfg,
            cfg.settings.sources[0],
            Mailbox(offered),
            store,
            clock=lambda: at(300) + timedelta(minutes=5),
            parser=ReceiptParser(),
        )
        assert (again.outcome, again.fetched, again.stored) == ("ok", 0, 0)
    assert rows_at(store_url, "SELECT count(*), count(DISTINCT message_id) FROM receipts") == [
        (51, 51)
    ]
    assert rows_at(store_url, "SELECT count(*) FROM raw_messages WHERE receipts = 1") == [(51,)]
    assert status_table(store_url) == status_rule(store_url)
    assert len(status_table(store_url)) == 51


def rows_at(url: str, sql: str) -> list[tuple[object, ...]]:
    """``sql``'s rows, read through a store of its own (SQLite or PostgreSQL)."""
    with Store(url) as store:
        return rows(store, sql)


def status_table(url: str) -> list[tuple[object, ...]]:
    cols = ", ".join(f'"{c}"' for c in MESSAGE_STATUS_COLUMNS)
    return rows_at(url, f"SELECT {cols} FROM message_status ORDER BY scope, message_id")


def status_rule(url: str) -> list[tuple[object, ...]]:
    return rows_at(url, f"{MESSAGE_STATUS_QUERY} ORDER BY scope, message_id")


def kill_child(url: str, n: int, *mode: str) -> list[list[str]]:
    """Run the child until it has said as many lines as it will, then SIGKILL it."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), url, str(n), *mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    said: list[list[str]] = []
    try:
        assert child.stdout is not None
        said.append(child.stdout.readline().split())
        if mode:
            said.append(child.stdout.readline().split())
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    return said


def test_a_kill_between_receipts_and_their_statuses_keeps_neither(store_url: str) -> None:
    """One transaction: receipts inserted, then SIGKILL before message_status is updated;
    the receipts are gone with the statuses, and the next run stores both."""
    assert kill_child(store_url, 20, "mid-store") == [["journaled", "20"], ["inserted"]]
    assert rows_at(store_url, "SELECT count(*) FROM receipts") == [(0,)]
    assert rows_at(store_url, "SELECT count(*) FROM message_status") == [(0,)]
    assert rows_at(store_url, "SELECT count(*), count(receipts) FROM raw_messages") == [(20, 0)]
    offered = [RawItem(f"uid-{i}", f"receipt M{i}".encode(), "text") for i in range(20)]
    cfg = config()
    with Store(store_url) as store:
        result = poll_source(
            cfg,
            cfg.settings.sources[0],
            Mailbox(offered),
            store,
            clock=lambda: at(300),
            parser=ReceiptParser(),
        )
    assert (result.outcome, result.stored) == ("ok", 20)
    assert len(status_table(store_url)) == 20
    assert status_table(store_url) == status_rule(store_url)
