"""Fixtures for the POP3 source's tests: the session's private Dovecot (fixture ``dovecot``
in tests/support/fixtures.py; one fresh user and Maildir per test), two Dovecots configured
otherwise, and factories for source configs and sources."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dlrpoll.config import DatabaseConfig, LoadedConfig, Pop3SourceConfig, Secret, Settings
from dlrpoll.sources.pop3 import Pop3Source
from dlrpoll.sources.retry import RetryPolicy
from tests.support.clock import Clock
from tests.support.dovecot import Dovecot, Mailbox

CfgFactory = Callable[..., Pop3SourceConfig]
SourceFactory = Callable[..., Pop3Source]


@pytest.fixture(scope="session")
def dovecot_dup_uidl() -> Iterator[Dovecot]:
    """A Dovecot whose UIDLs are the mailbox's UIDVALIDITY alone: every message in a
    mailbox shares one UIDL, as on a broken server."""
    with Dovecot.start(extra_config="pop3_uidl_format = %08Xv\n") as server:
        yield server


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Mailbox:
    """A fresh user with an empty Maildir."""
    return dovecot.mailbox()


def cfg_for(box: Mailbox, tls: str = "ssl", **overrides: Any) -> Pop3SourceConfig:
    """A source config pointing at ``box`` over ``tls``, trusting the test CA."""
    server = box.server
    values: dict[str, Any] = {
        "kind": "pop3",
        "name": "box",
        "host": "127.0.0.1",
        "port": server.ssl_port if tls == "ssl" else server.port,
        "tls": tls,
        "allow_plaintext": tls == "none",
        "ca_file": str(server.ca_file),
        "username": box.user,
        "password": {"env": "DLRPOLL_TEST_POP3_PASSWORD"},
        "timeout": 10,
        "max_messages": 100_000,
    }
    values.update(overrides)
    return Pop3SourceConfig.model_validate(values)


def source_for(
    box: Mailbox,
    tls: str = "ssl",
    *,
    password: str | None = None,
    retry: RetryPolicy | None = None,
    **overrides: Any,
) -> Pop3Source:
    """A :class:`Pop3Source` for ``box``; one attempt only unless ``retry`` says more."""
    cfg = cfg_for(box, tls, **overrides)
    secret = Secret(box.password if password is None else password, "test")
    return Pop3Source(cfg, secret, retry or RetryPolicy(attempts=1))


@pytest.fixture
def make_source() -> SourceFactory:
    return source_for


def loaded_config(cfg: Pop3SourceConfig, password: str, db_path: str) -> LoadedConfig:
    """A :class:`LoadedConfig` holding just ``cfg``, its password resolved."""
    settings = Settings(database=DatabaseConfig(path=db_path), sources=[cfg])
    return LoadedConfig(
        settings=settings, path=None, secrets={(cfg.name, "password"): Secret(password, "test")}
    )


def SteppingClock(start: datetime | None = None) -> Clock:  # noqa: N802
    """A test clock: one second passes at every reading (a poll stays well inside its
    claim), and ``jump`` moves past the two-minute floor between polls."""
    return Clock(start or datetime(2030, 1, 1, tzinfo=UTC), step=1.0)


@pytest.fixture(scope="session")
def dovecot_locking() -> Iterator[Dovecot]:
    """A Dovecot that lets one POP3 session at a time hold a mailbox (``[IN-USE]``)."""
    with Dovecot.start(extra_config="pop3_lock_session = yes\n") as server:
        yield server
