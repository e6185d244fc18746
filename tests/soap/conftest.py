"""Fixtures for the SOAP source's tests: the sandbox inbox, the independent PHP relay, and
helpers that go through TOML → ``load_config`` → ``make_source`` like a user's setup."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import LoadedConfig, SoapSourceConfig, load_config
from dlrpoll.poller import PollResult, poll_source
from dlrpoll.sandbox.soap_inbox import SoapInbox
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.sources.soap import SoapSource
from dlrpoll.store import Store
from tests.support.php_soap import PhpRelay

TOKEN = "sbx-token-7f3a9c"
SIGNATURE = "sbx-signature-51d2e8"
RELAY_ACCOUNT = "acme"
RELAY_KEY = "relay-key-9b8c7d"
#: the relay's WSDL is unlike the provider's: these keys are all it takes to read it
RELAY_DESTRUCTIVE = """
operation = "PullReceipts"
args = { account = "acme", apiKey = { env = "DLRPOLL_TEST_RELAY_KEY" }, limit = 300 }
items = "receipts.receipt"
fields = { remote_id = "meta.ref", body = "text", sender = "meta.origin", received_at = "meta.at" }
profile = "smpp"
"""
RELAY_TWO_PHASE = """
mode = "two-phase"
operation = "PullReceipts"
peek_operation = "PeekReceipt"
peek_items = "receipt"
ack_operation = "ConfirmReceipt"
ack_arg = "ref"
args = { account = "acme", apiKey = { env = "DLRPOLL_TEST_RELAY_KEY" }, limit = 300 }
items = "receipts.receipt"
fields = { remote_id = "meta.ref", body = "text", sender = "meta.origin", received_at = "meta.at" }
profile = "smpp"
"""


@pytest.fixture
def inbox() -> Iterator[SoapInbox]:
    """A fresh sandbox inbox on a free port."""
    with SoapInbox(token=TOKEN, signature=SIGNATURE, stall_seconds=10) as server:
        yield server


@pytest.fixture
def relay() -> Iterator[PhpRelay]:
    """The independent PHP SoapServer relay, with an empty queue."""
    with PhpRelay.start(account=RELAY_ACCOUNT, api_key=RELAY_KEY) as server:
        yield server


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLRPOLL_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("DLRPOLL_TEST_SIGNATURE", SIGNATURE)
    monkeypatch.setenv("DLRPOLL_TEST_RELAY_KEY", RELAY_KEY)


def sandbox_toml(
    inbox: SoapInbox, extra: str = "", *, name: str = "upside", timeout: float = 2
) -> str:
    """A ``[[sources]]`` table for the sandbox, as a user would write it."""
    return f"""
[[sources]]
name = "{name}"
kind = "soap"
wsdl = "{inbox.wsdl_url}"
args.token = {{ env = "DLRPOLL_TEST_TOKEN" }}
args.signature = {{ env = "DLRPOLL_TEST_SIGNATURE" }}
timeout = {timeout}
retries = 1
{extra}
"""


def relay_toml(relay: PhpRelay, extra: str, *, name: str = "relay") -> str:
    return f"""
[[sources]]
name = "{name}"
kind = "soap"
wsdl = "{relay.wsdl_url}"
timeout = 5
retries = 1
{extra}
"""


def write_config(directory: Path, sources: str) -> Path:
    path = directory / "dlrpoll.toml"
    path.write_text(f'[database]\npath = "{directory / "dlrpoll.sqlite"}"\n{sources}')
    os.chmod(path, 0o600)
    return path


@dataclass
class Deployment:
    """One config file, its store, and a clock that moves 10 minutes per poll, so the
    two-minute floor never refuses a test's next poll."""

    config: LoadedConfig
    store: Store
    db_path: Path
    base: datetime = field(default_factory=lambda: datetime.now(UTC))
    polls: int = 0

    @property
    def cfg(self) -> SoapSourceConfig:
        src = self.config.settings.sources[0]
        assert isinstance(src, SoapSourceConfig)
        return src

    def source(self) -> SoapSource:
        src = make_source(self.config, self.cfg, RetryPolicy(attempts=2, wait_initial=0.0))
        assert isinstance(src, SoapSource)
        return src

    def poll(self, source: SoapSource | None = None) -> PollResult:
        self.polls += 1
        now = self.base + timedelta(minutes=10 * self.polls)
        return poll_source(
            self.config, self.cfg, source or self.source(), self.store, clock=lambda: now
        )

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(sql, args).fetchall()

    def message_ids(self) -> list[str]:
        return [r[0] for r in self.query("SELECT message_id FROM receipts ORDER BY id")]

    def journal(self, fmt: str) -> list[tuple[Any, ...]]:
        """(remote_id, payload, parse_error) of journaled rows of one format."""
        return self.query(
            "SELECT remote_id, payload, parse_error FROM raw_messages WHERE format = ? ORDER BY id",
            fmt,
        )


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator[Any]:
    """``deploy(sources_toml)`` → a :class:`Deployment` with its own SQLite file."""
    made: list[Store] = []

    def make(sources: str) -> Deployment:
        path = write_config(tmp_path, sources)
        config = load_config(path)
        store = Store(config.database_url)
        made.append(store)
        return Deployment(config, store, tmp_path / "dlrpoll.sqlite")

    yield make
    for store in made:
        store.close()


def smpp(n: int, *, stat: str = "DELIVRD") -> str:
    """One SMPP Appendix B receipt text whose message id is ``M{n:07d}``."""
    return (
        f"id:M{n:07d} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
        f"stat:{stat} err:000 text:"
    )
