"""The private PostgreSQL: it answers on loopback only, gives each test a fresh database
cheaply, stops cleanly, and dlrpoll's Store opens and migrates a fresh database on it."""

from __future__ import annotations

import socket
from collections.abc import Callable

import psycopg
import pytest
from sqlalchemy import inspect

from dlrpoll.store import Store, migrations
from tests.support.postgres import Postgres, PostgresError


def test_the_server_is_a_private_postgresql_15(postgres: Postgres) -> None:
    [(version, listen, fsync)] = postgres.query(
        "SELECT current_setting('server_version_num')::int, current_setting('listen_addresses'),"
        " current_setting('fsync')"
    )
    assert 150000 <= version < 160000
    assert (listen, fsync) == ("127.0.0.1", "off")
    assert postgres.root.stat().st_uid != 0  # owned by the postgres account


def test_each_url_is_a_fresh_database(postgres: Postgres, postgres_urls: Callable[[], str]) -> None:
    first, second = postgres_urls(), postgres_urls()
    assert first != second and first.startswith("postgresql+psycopg://dlrpoll@127.0.0.1:")
    one, two = first.rsplit("/", 1)[1], second.rsplit("/", 1)[1]
    with psycopg.connect(postgres.dsn(one)) as conn:
        conn.execute("CREATE TABLE probe (n int)")
    assert postgres.query("SELECT count(*) FROM pg_tables WHERE tablename = 'probe'",
                          database=one) == [(1,)]  # fmt: skip
    assert postgres.query("SELECT count(*) FROM pg_tables WHERE tablename = 'probe'",
                          database=two) == [(0,)]  # fmt: skip


def test_store_opens_and_migrates_a_fresh_database(postgres_url: str) -> None:
    with Store(postgres_url) as store:
        assert store.schema_version == migrations.SCHEMA_VERSION
        names = set(inspect(store.engine).get_table_names())
    assert {"raw_messages", "receipts"} <= names
    with Store(postgres_url) as again:  # an up-to-date schema opens as it is
        assert again.schema_version == migrations.SCHEMA_VERSION


def test_database_url_gives_both_kinds(database_url: str) -> None:
    with Store(database_url) as store:
        kind = store.engine.dialect.name
        assert store.schema_version == migrations.SCHEMA_VERSION
    assert kind == database_url.split(":", 1)[0].split("+", 1)[0]


def test_a_second_server_starts_and_stops_cleanly() -> None:
    server = Postgres.start()
    port, root = server.port, server.root
    assert server.query("SELECT 1") == [(1,)]
    server.stop()
    assert not root.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_bad_setting_fails_loudly_with_the_servers_log() -> None:
    with pytest.raises(PostgresError, match="(?s)postgres exited.*no_such_setting"):
        Postgres.start(settings={"no_such_setting": "1"})
