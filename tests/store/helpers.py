"""Builders for the store tests: fixed instants, receipts and raw items, a read-only query."""

from __future__ import annotations

import queue
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from dlrpoll.rawitem import RawItem
from dlrpoll.receipts.model import Receipt, State
from dlrpoll.store import Store

T0 = datetime(2026, 11, 22, 14, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """A fixed instant ``seconds`` after T0 (tests never read the clock)."""
    return T0 + timedelta(seconds=seconds)


def receipt(
    message_id: str = "MSG1",
    state: State = State.DELIVERED,
    *,
    final: bool | None = None,
    done: float | None = 60,
    error_code: str | None = "000",
    status: str | None = None,
) -> Receipt:
    """A receipt as a parser would produce it; ``done`` is seconds after T0."""
    return Receipt(
        message_id=message_id,
        state=state,
        final=state.smpp_final if final is None else final,
        provider_status=status or state.name[:7],
        format="smpp",
        error_code=error_code,
        submitted_at=T0,
        done_at=None if done is None else at(done),
        sub=1,
        dlvrd=1,
        src_addr="ACME",
        dst_addr="447900000001",
        text="hello",
    )


def item(remote_id: str | None, payload: bytes | None = None, fmt: str = "text") -> RawItem:
    return RawItem(remote_id, payload if payload is not None else f"raw {remote_id}".encode(), fmt)


def rows(where: Path | Store, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Query the file with the plain sqlite3 module, read-only, as a reporting tool would;
    or, given a store, its database (SQLite or PostgreSQL) in one read transaction, the
    ``?`` placeholders turned into the driver's. Bytes come back as ``bytes``."""
    if isinstance(where, Store):
        driver_sql = sql if where.sqlite else sql.replace("%", "%%").replace("?", "%s")
        with where.reader() as conn:
            got = conn.exec_driver_sql(driver_sql, tuple(params)).fetchall()
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in got]
    con = sqlite3.connect(f"file:{where}?mode=ro", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


class Shell:
    """A real ``sqlite3`` shell process on the file, driven line by line over pipes.

    ``.timeout 0`` makes it fail at once instead of waiting on a lock, so a test sees any
    blocking as an error. Output lines arrive on a reader thread; :meth:`expect` waits
    for one with a timeout, never a sleep.
    """

    def __init__(self, path: Path, busy_ms: int = 0) -> None:
        self.proc = subprocess.Popen(
            ["sqlite3", "-batch", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.errors: list[str] = []
        self._threads = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines.put)),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.errors.append)),
        ]
        for t in self._threads:
            t.daemon = True
            t.start()
        self.send(f".timeout {busy_ms}")

    @staticmethod
    def _pump(stream: IO[str] | None, put: Callable[[str], None]) -> None:
        assert stream is not None
        for line in stream:
            put(line.rstrip("\n"))

    def send(self, sql: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(sql + "\n")
        self.proc.stdin.flush()

    def expect(self, tag: str, timeout: float = 30) -> list[str]:
        """Wait for the next output line starting with ``tag|``; its other fields."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(
                    f"sqlite3 said nothing tagged {tag!r}: {self.errors}"
                ) from None
            fields = line.split("|")
            if fields[0] == tag:
                return fields[1:]

    def close(self) -> list[str]:
        """End the shell; the error lines it printed."""
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._threads:
            t.join(timeout=5)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        return self.errors
