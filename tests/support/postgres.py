"""A private PostgreSQL 15 for tests and benchmarks, on 127.0.0.1 only.

Debian's ``postgresql-15`` (binaries under ``/usr/lib/postgresql/15/bin``, not on PATH).
``initdb`` and the server refuse to run as root, so both run as the ``postgres`` account,
in a directory of their own under ``/tmp`` (data, unix socket, log), on a free port:

    with Postgres.start() as pg:
        url = pg.create_database()     # postgresql+psycopg://dlrpoll@127.0.0.1:PORT/dlrpoll_t1
        store = Store(url)
        pg.query("SELECT count(*) FROM receipts", database=...)

Trust authentication (no password) is safe because the server listens on 127.0.0.1 only
and its unix socket sits in the private directory. ``fsync``, ``synchronous_commit`` and
``full_page_writes`` are off: a crash of this machine loses a test cluster, never data
anyone keeps; never quote a durability claim measured on it. Stopping sends SIGINT to the
postmaster ("fast" shutdown: sessions are ended, not waited for).

Facts from the shared note "postgresql-for-tests". The driver is psycopg 3 (the
``postgresql`` extra of the project); without it :meth:`Postgres.start` fails saying so.
"""

from __future__ import annotations

import itertools
import os
import pwd
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.support.server import (
    READY_TIMEOUT,
    Server,
    ServerError,
    free_port,
    private_dir,
    retry_port_clash,
)

__all__ = ["PG_BIN", "Postgres", "PostgresError", "SUPERUSER"]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_ACCOUNT = "postgres"
#: the cluster's superuser, and the user in every URL
SUPERUSER = "dlrpoll"

_db_seq = itertools.count(1)

#: server settings for a fast, private, throwaway cluster
SETTINGS: dict[str, str] = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
    "autovacuum": "off",
    "log_min_messages": "warning",
    "log_line_prefix": "%m [%p] %d ",
}


class PostgresError(ServerError):
    """The private PostgreSQL would not start or answer; the message carries its log."""


class Postgres(Server):
    """A running private PostgreSQL; see the module docstring. ``port`` on 127.0.0.1."""

    error = PostgresError

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.port = free_port()
        self.data = root / "data"
        self.sockets = root / "run"
        self._admin: Any = None  # one autocommit connection for CREATE/DROP DATABASE
        self._admin_lock = threading.Lock()

    @classmethod
    @retry_port_clash
    def start(
        cls,
        *,
        settings: Mapping[str, str] | None = None,
        in_memory: bool = True,
        timeout: float = READY_TIMEOUT,
    ) -> Postgres:
        """``initdb`` and start the server; returns once it accepts a query (0.4-0.5 s in
        memory). ``settings`` add to or override :data:`SETTINGS`. With ``in_memory`` the
        cluster lives on the ``/dev/shm`` tmpfs when there is one: measured here under
        load from other test runs, start took 0.45 s there against 1.3-4 s on the ext4
        root, and ``CREATE DATABASE`` 17 ms against 100-300 ms. Raises
        :class:`PostgresError`."""
        _check_installed()
        parent = "/dev/shm" if in_memory and os.path.isdir("/dev/shm") else "/tmp"
        server = cls(private_dir("pg", parent=parent))
        with server.starting():
            account = pwd.getpwnam(PG_ACCOUNT)
            os.chown(server.root, account.pw_uid, account.pw_gid)
            server.sockets.mkdir()
            os.chown(server.sockets, account.pw_uid, account.pw_gid)
            server._run_as_postgres(
                [str(PG_BIN / "initdb"), "-D", str(server.data), "-A", "trust",
                 "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"],
                what="initdb",
            )  # fmt: skip
            argv = [str(PG_BIN / "postgres"), "-D", str(server.data), "-p", str(server.port),
                    "-k", str(server.sockets)]  # fmt: skip
            for key, value in {**SETTINGS, **(settings or {})}.items():
                argv += ["-c", f"{key}={value}"]
            server.spawn(
                argv,
                log="postgres.log",
                user=account.pw_uid,
                group=account.pw_gid,
                stop_signal=signal.SIGINT,
                signal_group=False,
            )
            server.wait_until(server._answers, what="SELECT 1", timeout=timeout)
        return server

    def _run_as_postgres(self, argv: list[str], *, what: str) -> None:
        account = pwd.getpwnam(PG_ACCOUNT)
        proc = subprocess.run(
            argv,
            cwd=self.root,
            user=account.pw_uid,
            group=account.pw_gid,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            self.fail(f"{what} failed ({proc.returncode}): {proc.stdout}{proc.stderr}")

    def _answers(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.dsn("postgres"), connect_timeout=2) as conn:
                return conn.execute("SELECT 1").fetchone() == (1,)
        except psycopg.OperationalError as exc:
            raise PostgresError(str(exc).strip()) from exc

    # -- addresses --------------------------------------------------------------------------
    def dsn(self, database: str) -> str:
        """A libpq connection string for psycopg (over TCP to 127.0.0.1)."""
        return f"host=127.0.0.1 port={self.port} user={SUPERUSER} dbname={database}"

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` (driver psycopg 3)."""
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    # -- databases --------------------------------------------------------------------------
    def create_database(self, name: str | None = None, *, template: str = "template1") -> str:
        """``CREATE DATABASE`` as a copy of ``template`` (by default the empty ``template1``;
        about 20 ms in memory) and return its SQLAlchemy URL. Names default to ``dlrpoll_tN``.
        ``template`` must have no open sessions while it is copied."""
        name = name or f"dlrpoll_t{next(_db_seq)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, ending any sessions still connected to it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute(self, sql: str) -> None:
        """Run one statement in the ``postgres`` database outside a transaction (as
        ``CREATE DATABASE`` needs), on a connection kept for the server's life."""
        import psycopg

        with self._admin_lock:
            if self._admin is None or self._admin.closed:
                self._admin = psycopg.connect(self.dsn("postgres"), autocommit=True)
                self.on_stop(self._admin.close)
            try:
                self._admin.execute(sql.encode())
            except psycopg.Error as exc:
                raise PostgresError(f"{sql}: {exc}".strip()) from exc

    def query(self, sql: str, *args: Any, database: str = "postgres") -> list[tuple[Any, ...]]:
        """The rows of one query (``%s`` placeholders for ``args``)."""
        import psycopg

        with psycopg.connect(self.dsn(database)) as conn:
            return list(conn.execute(sql.encode(), args).fetchall())


def _check_installed() -> None:
    if not (PG_BIN / "postgres").exists():
        raise PostgresError(
            f"{PG_BIN}/postgres is missing: run scripts/setup-system as root, or "
            "apt-get install --no-install-recommends postgresql-15"
        )
    try:
        pwd.getpwnam(PG_ACCOUNT)
    except KeyError:
        raise PostgresError(
            f"there is no {PG_ACCOUNT!r} account (Debian's postgresql-common creates it): "
            "run scripts/setup-system as root"
        ) from None
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise PostgresError(
            f"the PostgreSQL driver is missing ({exc}): pip install -e '.[test]' "
            "(psycopg is in the postgresql and test extras)"
        ) from exc
