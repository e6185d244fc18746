"""A poller SIGKILLed between journal commit and receipt storage loses nothing."""

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

    # the next run: the mailbox still offers everything (nothing was acknowledged), plus one
    offered = [RawItem(f"uid-{i}", f"receipt M{i}".encode(), "text") for i in range(51)]
    mailbox = Mailbox(offered)
    cfg = config()
    with Store(store_url) as store:
        assert rows(store, "SELECT count(*), count(receipts) FROM raw_messages") == [(50, 0)]
        result = poll_source(
            cfg,
            cfg.settings.sources[0],
            mailbox,  # type: ignore[arg-type]
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
        counted = rows(store, "SELECT count(*), count(DISTINCT message_id) FROM receipts")
        assert counted == [(51, 51)]
        assert rows(store, "SELECT count(*) FROM raw_messages WHERE receipts = 1") == [(51,)]
