"""Fixtures for the IMAP source's tests: a fresh user per test on the session's private
Dovecot (IMAP, POP3, OAuth2: fixture ``dovecot_imap`` in tests/support/fixtures.py), and
helpers that build configs, sources and polls."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import DatabaseConfig, ImapSourceConfig, LoadedConfig, Secret, Settings
from dlrpoll.poller import PollResult, poll_source
from dlrpoll.sources.imap import ImapSource
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.store import Store
from tests.support.clock import Clock
from tests.support.dovecot import Dovecot, Mailbox


@pytest.fixture
def mailbox(dovecot_imap: Dovecot) -> Mailbox:
    """A fresh user of the session's IMAP Dovecot (fixture ``dovecot_imap``)."""
    return dovecot_imap.mailbox()


def cfg_for(box: Mailbox, tls: str = "ssl", **overrides: Any) -> ImapSourceConfig:
    """A source config for ``box`` (password sign-in) over ``tls``, trusting the test CA."""
    server = box.server
    values: dict[str, Any] = {
        "kind": "imap",
        "name": "box",
        "host": "127.0.0.1",
        "port": server.imaps_port if tls == "ssl" else server.imap_port,
        "tls": tls,
        "allow_plaintext": tls == "none",
        "ca_file": str(server.ca_file),
        "username": box.user,
        "password": {"env": "DLRPOLL_TEST_IMAP_PASSWORD"},
        "after_store": "move",
        "move_to": "Done",
        "timeout": 10,
        "max_messages": 100_000,
    }
    values.update(overrides)
    if "auth" in overrides:
        values.pop("password")
    return ImapSourceConfig.model_validate(values)


def source_for(box: Mailbox, cfg: ImapSourceConfig, *, password: str | None = None) -> ImapSource:
    secret = Secret(box.password if password is None else password, "test")
    return ImapSource(cfg, password=secret, retry=RetryPolicy(attempts=1))


@dataclass
class Poller:
    """Polls one IMAP source into one database, a floor apart each time."""

    box: Mailbox
    cfg: ImapSourceConfig
    db: Path
    clock: Clock

    @property
    def config(self) -> LoadedConfig:
        settings = Settings(database=DatabaseConfig(path=str(self.db)), sources=[self.cfg])
        return LoadedConfig(settings, None, {(self.cfg.name, "password"): Secret("-", "test")})

    def poll(self, source: ImapSource | None = None) -> PollResult:
        self.clock.tick()
        store = Store(f"sqlite:///{self.db}")
        try:
            src = source or source_for(self.box, self.cfg)
            return poll_source(self.config, self.cfg, src, store, clock=self.clock)
        finally:
            store.close()

    def receipts(self) -> list[str]:
        with sqlite3.connect(self.db) as conn:
            return [r[0] for r in conn.execute("SELECT message_id FROM receipts ORDER BY id")]

    def journal(self) -> list[tuple[str, bytes]]:
        """``(remote_id, payload)`` of every journaled item, in order."""
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute("SELECT remote_id, payload FROM raw_messages ORDER BY id")
            return [(r[0], bytes(r[1])) for r in rows]


@pytest.fixture
def poller(mailbox: Mailbox, tmp_path: Path) -> Poller:
    return Poller(mailbox, cfg_for(mailbox), tmp_path / "db.sqlite", Clock())


def make_poller(box: Mailbox, tmp_path: Path, **overrides: Any) -> Poller:
    return Poller(box, cfg_for(box, **overrides), tmp_path / "db.sqlite", Clock())
