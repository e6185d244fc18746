"""Pytest fixtures for the private servers, shared by every test directory (imported by
``tests/conftest.py``). Each fails the test, never skips it, when its server cannot start.

Session-scoped servers (one per test run; tests take fresh users/databases from them):

``dovecot``           :class:`~tests.support.dovecot.Dovecot` with POP3 (STLS, POP3S) and
                      passwords; ``dovecot.mailbox()`` per test
``token_endpoint``    :class:`~tests.support.oauth2.TokenEndpoint`, the OAuth2 introspection
                      endpoint ``dovecot_imap`` asks (``.grant(user)`` registers a token)
``dovecot_imap``      :class:`~tests.support.dovecot.Dovecot` with POP3, IMAP (STARTTLS,
                      IMAPS) and OAuth2 against ``token_endpoint``; ``.mailbox()`` per test
``postgres``          :class:`~tests.support.postgres.Postgres`, a private PostgreSQL 15
``postgres_urls``     ``() -> str``: a fresh empty database's SQLAlchemy URL at each call
``popa3d``            :class:`~tests.support.popa3d.Popa3d`, the second POP3 server

Per test:

``postgres_url``      one fresh PostgreSQL database URL
``database_url``      parametrised: a SQLite file URL, then a fresh PostgreSQL URL
``second_pop3``       a fresh popa3d user (host, port, user, password, deliver, count, ...)
``node_soap``         :class:`~tests.support.node_soap.NodeSoap`, an empty queue
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.dovecot import Dovecot
from tests.support.node_soap import NodeSoap
from tests.support.oauth2 import TokenEndpoint
from tests.support.popa3d import Mbox, Popa3d
from tests.support.postgres import Postgres

__all__ = [
    "database_url",
    "dovecot",
    "dovecot_imap",
    "node_soap",
    "popa3d",
    "postgres",
    "postgres_url",
    "postgres_urls",
    "second_pop3",
    "token_endpoint",
]


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One private Dovecot serving POP3 (STLS, POP3S) with passwords, for the whole
    session (the POP3 and reliability tests)."""
    with Dovecot.start() as server:
        yield server


@pytest.fixture(scope="session")
def token_endpoint() -> Iterator[TokenEndpoint]:
    """The OAuth2 introspection endpoint of ``dovecot_imap``, for the whole session."""
    with TokenEndpoint() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def dovecot_imap(token_endpoint: TokenEndpoint) -> Iterator[Dovecot]:
    """One private Dovecot serving POP3 (STLS, POP3S) and IMAP (STARTTLS, IMAPS), with
    password and OAuth2 (XOAUTH2, OAUTHBEARER) sign-in, for the whole session (the IMAP,
    OAuth2 and infrastructure tests). Separate from ``dovecot`` so that the POP3 tests need
    only dovecot-pop3d and meet a server that offers passwords alone, as most do."""
    with Dovecot.start(imap=True, oauth2=token_endpoint) as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One private PostgreSQL 15 on 127.0.0.1 for the whole session."""
    with Postgres.start() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_urls(postgres: Postgres) -> Callable[[], str]:
    """``postgres_urls()`` creates a fresh, empty database (a copy of ``template1``, about
    20 ms) and returns its SQLAlchemy URL (``postgresql+psycopg://...``)."""
    return postgres.create_database


@pytest.fixture
def postgres_url(postgres: Postgres) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped after it."""
    url = postgres.create_database()
    yield url
    postgres.drop_database(url.rsplit("/", 1)[1])


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Runs the test twice: with a fresh SQLite file's URL, then a fresh PostgreSQL
    database's URL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'dlrpoll.sqlite'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def node_soap() -> Iterator[NodeSoap]:
    """The node ``soap`` event feed with an empty queue (credentials ``feed-client`` /
    ``feed-passphrase``, at most 100 events per DrainEvents), started for this test."""
    with NodeSoap.start() as service:
        yield service


@pytest.fixture(scope="session")
def popa3d() -> Iterator[Popa3d]:
    """One private popa3d (plain POP3 only) for the whole session."""
    with Popa3d.start() as server:
        yield server


@pytest.fixture
def second_pop3(popa3d: Popa3d) -> Mbox:
    """A fresh account on the second POP3 server: ``host``, ``port``, ``user``,
    ``password``, ``deliver(messages)``, ``count()``, ``messages()``, ``clear()``."""
    return popa3d.mailbox()
