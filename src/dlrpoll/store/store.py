"""The store's public face: the operations the poller, the CLI and reports need.

Every write is one short transaction (``BEGIN IMMEDIATE`` on SQLite, so it waits for a busy
writer instead of failing), committed durably before the method returns. Dedupe is done by
UNIQUE indexes and ``INSERT … ON CONFLICT DO NOTHING``, never by looking first. The hot
path (journal, store_parsed) uses SQLAlchemy Core executemany, no ORM objects.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Insert,
    Table,
    Update,
    bindparam,
    column,
    func,
    null,
    or_,
    select,
    table,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

from dlrpoll.errors import DlrpollError, StorageFullError, StoreError
from dlrpoll.rawitem import RawItem
from dlrpoll.receipts.model import Receipt
from dlrpoll.store import migrations
from dlrpoll.store.engine import (
    DURABLE,
    RELAXED,
    WRITE_OPTION,
    describe,
    make_engine,
    map_error,
)
from dlrpoll.store.readonly import read_only_engine
from dlrpoll.store.tables import (
    MESSAGE_STATUS_COLUMNS,
    from_iso,
    iso,
    iso_or_none,
    poll_runs,
    raw_messages,
    receipts,
    source_state,
)

#: Rows per page when reading raw items back (payloads may be large) and per IN (...) list.
_PAGE = 200

ExportKind = Literal["receipts", "status"]
RECEIPT_COLUMNS: tuple[str, ...] = tuple(c.name for c in receipts.columns)
message_status = table("message_status", *(column(name) for name in MESSAGE_STATUS_COLUMNS))


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A raw item as journaled: its row id, and whether this call inserted it."""

    raw_id: int
    item: RawItem
    new: bool


@dataclass(frozen=True, slots=True)
class ParsedRaw:
    """The outcome of parsing one journaled raw item: receipts, or the reason it failed."""

    raw_id: int
    receipts: Sequence[Receipt]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoreCounts:
    """What one ``store_parsed`` call did: receipts new to the database, receipts already
    there (same scope, message id, state, done_at and error code), raw items quarantined."""

    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0


@dataclass(frozen=True, slots=True)
class PollRun:
    """One row of ``poll_runs``."""

    source: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # "ok" | "error" | "skipped"
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    error: str | None = None


def _chunks(items: Sequence[Any], size: int = _PAGE) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _raw_key(remote_id: str | None, sha256: str) -> tuple[str, str]:
    # the journal's identity of an item, as the two unique indexes define it
    return ("remote", remote_id) if remote_id is not None else ("sha256", sha256)


class Store:
    """Open (and migrate) the database at ``url``. See the README's schema section.

    ``url`` is any SQLAlchemy URL; ``sqlite:///path`` is the default and the tested one.
    ``busy_timeout`` is how long a write waits for another process's write lock before it
    fails with :class:`~dlrpoll.errors.StoreError`. Safe to share between threads.
    ``read_only``: never create, migrate or write the database (reporting commands; see
    :mod:`dlrpoll.store.readonly`); a database at another schema version is refused.
    """

    def __init__(self, url: str, *, busy_timeout: float = 30.0, read_only: bool = False) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self.engine = (
            read_only_engine(url, busy_timeout=busy_timeout)
            if read_only
            else make_engine(url, busy_timeout=busy_timeout)
        )
        #: how messages name the database: the file, or the URL without password
        self.where = describe(self.engine.url)
        self._dbapi_error: type[Exception] = self.engine.dialect.loaded_dbapi.Error
        try:
            self._prepare()  # first: it refuses a database kind we do not support
            self.schema_version = self._open()
        except BaseException:
            self.engine.dispose()
            raise

    def free_space(self) -> int | None:
        """Bytes free on the filesystem that holds an SQLite file; ``None`` when unknown
        (another database, or an in-memory one)."""
        path = self.engine.url.database
        if self.engine.dialect.name != "sqlite" or not path or path == ":memory:":
            return None
        try:
            st = os.statvfs(Path(path).resolve().parent)
        except OSError:
            return None
        return st.f_bavail * st.f_frsize

    def ensure_free_space(self, needed: int, what: str) -> None:
        """Raise :class:`StorageFullError` unless ``needed`` bytes are free for the database;
        called before a fetch that cannot be undone, so a full disk refuses it up front."""
        free = self.free_space()
        if free is not None and free < needed:
            raise StorageFullError(
                f"{self.where}: only {free / 2**20:.1f} MiB free on the database's filesystem "
                f"and {what} needs {needed / 2**20:.1f} MiB to journal its response; nothing "
                f"was fetched; free space on that filesystem and poll again"
            )

    # -- plumbing ----------------------------------------------------------------------------
    def _open(self) -> int:
        with self._errors(), self.engine.connect() as conn:
            with conn.begin():
                found = migrations.read_version(conn)
            if found > migrations.SCHEMA_VERSION:
                raise migrations.too_new(self.where, found)
            if self.read_only and found < migrations.SCHEMA_VERSION:
                raise migrations.needs_upgrade(self.where, found)
            if found < migrations.SCHEMA_VERSION:
                conn.execution_options(**{WRITE_OPTION: DURABLE})
                with conn.begin():
                    # read again under the write lock: another process may have migrated
                    migrations.migrate(conn, self.where)
        return migrations.SCHEMA_VERSION

    def _insert_ignore(self, target: Table) -> Insert:
        """``INSERT … ON CONFLICT DO NOTHING`` in the engine's dialect (any unique index)."""
        name = self.engine.dialect.name
        if name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(target).on_conflict_do_nothing()
        if name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(target).on_conflict_do_nothing()
        raise StoreError(
            f"{self.where}: dlrpoll supports SQLite and PostgreSQL, not {name}; "
            f"use sqlite:///PATH or postgresql://..."
        )

    def _prepare(self) -> None:
        # statements built once; on SQLite the hot ones run as driver SQL (see _Bulk)
        rm = raw_messages
        fast = self.engine.dialect.name == "sqlite"
        ins_raw = self._insert_ignore(rm).values({c: bindparam(c) for c in _RAW_COLS})
        self._ins_raw = _Bulk(ins_raw, _RAW_COLS, self.engine, fast)
        self._ins_raw_returning = ins_raw.returning(rm.c.id, rm.c.remote_id, rm.c.sha256)
        # journal_and_store: rows that arrive already parsed (count or error, and when)
        ins_done = self._insert_ignore(rm).values({c: bindparam(c) for c in _RAW_DONE_COLS})
        self._ins_raw_done = _Bulk(ins_done, _RAW_DONE_COLS, self.engine, fast)
        self._ins_raw_done_returning = ins_done.returning(rm.c.id, rm.c.remote_id, rm.c.sha256)
        ins_receipt = self._insert_ignore(receipts).values({c: bindparam(c) for c in _RECEIPT_COLS})
        if not self.engine.dialect.supports_sane_multi_rowcount:
            # the stored count comes from the inserted rows when rowcount cannot be trusted
            ins_receipt = ins_receipt.returning(receipts.c.id)
            fast = False
        self._ins_receipt = _Bulk(ins_receipt, _RECEIPT_COLS, self.engine, fast)
        self._mark_parsed = _Bulk(
            update(rm)
            .where(rm.c.id == bindparam("b_id"))
            .values(
                receipts=bindparam("b_n"),
                parse_error=bindparam("b_err"),
                parsed_at=bindparam("b_at"),
            ),
            ("b_n", "b_err", "b_at", "b_id"),
            self.engine,
            fast,
        )
        # a poll's raw rows have consecutive ids: marking them parsed is one ranged UPDATE
        self._mark_runs = _Bulk(
            update(rm)
            .where(rm.c.id.between(bindparam("b_lo"), bindparam("b_hi")))
            .values(receipts=bindparam("b_n"), parse_error=null(), parsed_at=bindparam("b_at")),
            ("b_n", "b_at", "b_lo", "b_hi"),
            self.engine,
            fast,
        )
        # journal: on SQLite, writers are serialized (BEGIN IMMEDIATE), so the rows with ids
        # above the largest before the insert are exactly the ones this call inserted; a
        # range scan is much cheaper than RETURNING through SQLAlchemy
        self._serialized_writes = self.engine.dialect.name == "sqlite"

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Map database errors into ours, once, here at the I/O edge."""
        try:
            yield
        except DlrpollError:
            raise
        except (SQLAlchemyError, OSError, self._dbapi_error) as exc:
            raise map_error(exc, self.where, self.busy_timeout) from exc

    @contextmanager
    def _write(self, *, durable: bool = True) -> Iterator[Connection]:
        """A write transaction, committed on leaving; ``durable=False`` only for writes the
        journal can redo (see engine.py)."""
        with self._errors(), self.engine.connect() as conn:
            conn.execution_options(**{WRITE_OPTION: DURABLE if durable else RELAXED})
            with conn.begin():
                yield conn

    @contextmanager
    def reader(self) -> Iterator[Connection]:
        """A connection in a read transaction (one consistent snapshot), with our errors.
        For reports; never blocks the poller and is never blocked by it."""
        with self._errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        """Close every pooled connection (SQLite then checkpoints the WAL)."""
        with self._errors():
            self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- journal ---------------------------------------------------------------------------
    def journal(self, source: str, items: Sequence[RawItem], now: datetime) -> list[JournalEntry]:
        """Insert raw items and commit durably before returning. Items already journaled
        (same source and remote id, or same sha256 when there is no remote id) are returned
        with ``new=False`` and their existing row id. An item the source marked with a
        ``parse_error`` is journaled quarantined."""
        if not items:
            return []
        fetched = iso(now)
        rows: list[tuple[Any, ...]] = []
        keys: list[tuple[str, str]] = []
        for item in items:
            digest = hashlib.sha256(item.payload).hexdigest()
            keys.append(_raw_key(item.remote_id, digest))
            rows.append(
                (
                    source,
                    item.remote_id,
                    digest,
                    fetched,
                    item.payload,
                    item.format,
                    item.sender,
                    iso_or_none(item.received_at),
                    item.parse_error,
                )
            )
        with self._write() as conn:
            ids = self._insert_raw(conn, source, rows, keys, done=False)
        return [
            JournalEntry(raw_id, item, new) for item, (raw_id, new) in zip(items, ids, strict=True)
        ]

    def journal_and_store(
        self,
        source: str,
        scope: str,
        parsed: Sequence[tuple[RawItem, ParsedRaw]],
        now: datetime,
        *,
        done: Sequence[int] = (),
        durable: bool = True,
    ) -> tuple[int, StoreCounts]:
        """Journal raw items that were parsed already and store their receipts, in one
        transaction: each ``(item, result)`` pairs a raw item with its parse outcome (the
        result's ``raw_id`` is ignored; the row gets its id here). Items already journaled
        are left alone, receipts and all, as :meth:`journal` would report them not new.
        ``done`` names journaled rows (a container whose items these are) to mark processed
        in the same transaction. Returns how many items were new, and the receipt counts.

        ``durable=False`` commits with SQLite's ``synchronous=NORMAL``: only for items whose
        bytes are already durable in the journal (inside a container row committed before),
        so that a power cut that rolls this back leaves the container unprocessed for the
        next poll to split again."""
        if not parsed and not done:
            return 0, StoreCounts()
        at = iso(now)
        rows: list[tuple[Any, ...]] = []
        keys: list[tuple[str, str]] = []
        for item, result in parsed:
            digest = hashlib.sha256(item.payload).hexdigest()
            keys.append(_raw_key(item.remote_id, digest))
            error = item.parse_error if item.parse_error is not None else result.error
            rows.append(
                (
                    source,
                    item.remote_id,
                    digest,
                    at,
                    item.payload,
                    item.format,
                    item.sender,
                    iso_or_none(item.received_at),
                    error,
                    None if error is not None else len(result.receipts),
                    at,
                )
            )
        with self._write(durable=durable) as conn:
            ids = self._insert_raw(conn, source, rows, keys, done=True) if rows else []
            receipt_rows: list[tuple[Any, ...]] = []
            new = quarantined = 0
            for (raw_id, is_new), row, (_item, result) in zip(ids, rows, parsed, strict=True):
                if not is_new:
                    continue
                new += 1
                if row[8] is not None:
                    quarantined += 1
                    continue
                receipt_rows.extend(
                    _receipt_row(raw_id, source, scope, r, at) for r in result.receipts
                )
            stored = self._ins_receipt.run(conn, receipt_rows, count=True) if receipt_rows else 0
            if done:
                marks = {raw_id: 0 for raw_id in done}
                self._mark_runs.run(conn, [(n, at, lo, hi) for lo, hi, n in _runs(marks)])
        return new, StoreCounts(stored, len(receipt_rows) - stored, quarantined)

    def _insert_raw(
        self,
        conn: Connection,
        source: str,
        rows: Sequence[tuple[Any, ...]],
        keys: Sequence[tuple[str, str]],
        *,
        done: bool,
    ) -> list[tuple[int, bool]]:
        """Insert journal rows (``_RAW_COLS``, or ``_RAW_DONE_COLS`` when ``done``), skipping
        those already there; ``(raw_id, new)`` for each row, in order."""
        rm = raw_messages
        bulk, returning = (
            (self._ins_raw_done, self._ins_raw_done_returning)
            if done
            else (self._ins_raw, self._ins_raw_returning)
        )
        if self._serialized_writes:
            # writers are serialized (BEGIN IMMEDIATE) and ids are max(id) + 1: when every
            # row went in, they got the ids after the largest before, in order
            before = conn.execute(select(func.max(rm.c.id))).scalar() or 0
            inserted_n = bulk.run(conn, rows)
            if inserted_n == len(rows):
                after = conn.execute(select(func.max(rm.c.id))).scalar() or 0
                if after == before + len(rows):
                    return [(before + 1 + i, True) for i in range(len(rows))]
            new_rows = conn.execute(
                select(rm.c.id, rm.c.remote_id, rm.c.sha256).where(rm.c.id > before)
            ).all()
        else:
            cols = _RAW_DONE_COLS if done else _RAW_COLS
            dicts = [dict(zip(cols, row, strict=True)) for row in rows]
            new_rows = conn.execute(returning, dicts).all()
        inserted = {_raw_key(r.remote_id, r.sha256): r.id for r in new_rows}
        missing = [k for k in dict.fromkeys(keys) if k not in inserted]
        existing = self._raw_ids(conn, source, missing) if missing else {}
        out: list[tuple[int, bool]] = []
        for key in keys:
            raw_id = inserted.pop(key, None)  # pop: a repeat within the batch is not new
            if raw_id is not None:
                out.append((raw_id, True))
                existing[key] = raw_id
            else:
                out.append((existing[key], False))
        return out

    def _raw_ids(
        self, conn: Connection, source: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        rm = raw_messages
        found: dict[tuple[str, str], int] = {}
        remote = [value for kind, value in keys if kind == "remote"]
        digests = [value for kind, value in keys if kind == "sha256"]
        for chunk in _chunks(remote):
            q = select(rm.c.id, rm.c.remote_id).where(
                rm.c.source == source, rm.c.remote_id.in_(chunk)
            )
            found.update({("remote", r.remote_id): r.id for r in conn.execute(q)})
        for chunk in _chunks(digests):
            q = select(rm.c.id, rm.c.sha256).where(
                rm.c.source == source, rm.c.remote_id.is_(None), rm.c.sha256.in_(chunk)
            )
            found.update({("sha256", r.sha256): r.id for r in conn.execute(q)})
        lost = [k for k in keys if k not in found]
        if lost:  # an insert that conflicted must have found its row
            raise StoreError(f"{self.where}: journal rows for {lost[:3]} vanished mid-insert")
        return found

    def known_remote_ids(self, source: str, remote_ids: Sequence[str]) -> set[str]:
        """Which of ``remote_ids`` are already journaled for ``source``."""
        rm = raw_messages
        known: set[str] = set()
        with self.reader() as conn:
            for chunk in _chunks(list(dict.fromkeys(remote_ids))):
                q = select(rm.c.remote_id).where(rm.c.source == source, rm.c.remote_id.in_(chunk))
                known.update(conn.execute(q).scalars())
        return known

    def quarantine(self, raw_id: int, reason: str, *, now: datetime | None = None) -> None:
        """Record why a journaled raw item cannot be parsed."""
        with self._write() as conn:
            self._mark_parsed.run(conn, [(None, reason, iso_or_none(now), raw_id)])

    def unprocessed(self, source: str | None = None) -> Iterator[tuple[int, str, RawItem]]:
        """Journaled rows neither parsed nor quarantined yet (a crash came between journal
        and store): ``(raw_id, source, item)``, oldest first."""
        rm = raw_messages
        return self._raw_items(rm.c.receipts.is_(None) & rm.c.parse_error.is_(None), source)

    def quarantined(self, source: str | None = None) -> Iterator[tuple[int, str, RawItem]]:
        """Quarantined rows no operator dismissed, for ``reparse``; each item carries its
        ``parse_error``."""
        rm = raw_messages
        return self._raw_items(rm.c.parse_error.is_not(None) & rm.c.dismissed_at.is_(None), source)

    def _raw_items(
        self, condition: ColumnElement[bool], source: str | None
    ) -> Iterator[tuple[int, str, RawItem]]:
        # keyset pages in short read transactions: bounded memory, no long-held snapshot
        rm = raw_messages
        cols = (
            rm.c.id,
            rm.c.source,
            rm.c.remote_id,
            rm.c.payload,
            rm.c.format,
            rm.c.parse_error,
            rm.c.sender,
            rm.c.received_at,
        )
        if source is not None:
            condition = condition & (rm.c.source == source)
        last = 0
        while True:
            q = select(*cols).where(condition, rm.c.id > last).order_by(rm.c.id).limit(_PAGE)
            with self.reader() as conn:
                page = conn.execute(q).all()
            for r in page:
                received = from_iso(r.received_at) if r.received_at else None
                item = RawItem(
                    r.remote_id, bytes(r.payload), r.format, r.parse_error, r.sender, received
                )
                yield r.id, r.source, item
            if len(page) < _PAGE:
                return
            last = page[-1].id

    # -- receipts --------------------------------------------------------------------------
    def store_parsed(
        self, source: str, scope: str, results: Sequence[ParsedRaw], now: datetime
    ) -> StoreCounts:
        """Store receipts (dedupe by scope, message id, state, done_at, error code) and mark
        each raw row parsed (its receipt count) or quarantined (its error), in one
        transaction."""
        if not results:
            return StoreCounts()
        at = iso(now)
        rows: list[tuple[Any, ...]] = []
        counts: dict[int, int] = {}
        failures: list[tuple[Any, ...]] = []
        for result in results:
            if result.error is not None:
                failures.append((None, result.error, at, result.raw_id))
                counts.pop(result.raw_id, None)
                continue
            counts[result.raw_id] = len(result.receipts)
            rows.extend(_receipt_row(result.raw_id, source, scope, r, at) for r in result.receipts)
        with self._write(durable=False) as conn:
            stored = self._ins_receipt.run(conn, rows, count=True) if rows else 0
            if counts:
                self._mark_runs.run(conn, [(n, at, lo, hi) for lo, hi, n in _runs(counts)])
            if failures:
                self._mark_parsed.run(conn, failures)
        return StoreCounts(stored, len(rows) - stored, len(failures))

    # -- scheduling ------------------------------------------------------------------------
    def claim(self, source: str, *, now: datetime, interval: float, ttl: float, owner: str) -> bool:
        """Atomically claim ``source`` for a poll starting ``now``. Refused when its last poll
        started less than ``interval`` seconds ago or another live claim holds it; a claim
        older than ``ttl`` seconds has expired."""
        ss = source_state
        now_s = iso(now)
        floor = iso(now - timedelta(seconds=interval))
        until = iso(now + timedelta(seconds=ttl))
        with self._write() as conn:
            conn.execute(self._insert_ignore(ss).values(source=source))
            granted = conn.execute(
                update(ss)
                .where(
                    ss.c.source == source,
                    or_(ss.c.last_started_at.is_(None), ss.c.last_started_at <= floor),
                    or_(ss.c.claimed_by.is_(None), ss.c.claimed_until <= now_s),
                )
                .values(last_started_at=now_s, claimed_by=owner, claimed_until=until)
            )
            return granted.rowcount == 1

    def release(self, source: str, owner: str) -> None:
        """End ``owner``'s claim on ``source``; a claim someone else took over is left alone."""
        ss = source_state
        with self._write() as conn:
            conn.execute(
                update(ss)
                .where(ss.c.source == source, ss.c.claimed_by == owner)
                .values(claimed_by=None, claimed_until=None)
            )

    def record_poll(self, run: PollRun) -> None:
        """Add one row to ``poll_runs``."""
        with self._write() as conn:
            conn.execute(
                poll_runs.insert().values(
                    source=run.source,
                    started_at=iso(run.started_at),
                    finished_at=iso(run.finished_at),
                    outcome=run.outcome,
                    fetched=run.fetched,
                    stored=run.stored,
                    duplicates=run.duplicates,
                    quarantined=run.quarantined,
                    error=run.error,
                )
            )

    def last_polls(
        self, sources: Iterable[str], *, include_skipped: bool = True
    ) -> dict[str, PollRun]:
        """The latest recorded poll of each of ``sources`` that has one."""
        pr = poll_runs
        out: dict[str, PollRun] = {}
        with self.reader() as conn:
            for name in dict.fromkeys(sources):
                q = select(pr).where(pr.c.source == name)
                if not include_skipped:
                    q = q.where(pr.c.outcome != "skipped")
                q = q.order_by(pr.c.started_at.desc(), pr.c.id.desc()).limit(1)
                r = conn.execute(q).first()
                if r is not None:
                    out[name] = PollRun(
                        r.source,
                        from_iso(r.started_at),
                        from_iso(r.finished_at),
                        r.outcome,
                        r.fetched,
                        r.stored,
                        r.duplicates,
                        r.quarantined,
                        r.error,
                    )
        return out

    # -- export ----------------------------------------------------------------------------
    def export_rows(
        self,
        what: ExportKind = "receipts",
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
        scope: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Stream ``receipts`` (by arrival; ``since <= received_at < until``) or
        ``message_status`` rows (by scope and message id; the window applies to
        ``last_received_at``) from one consistent snapshot. ``source`` filters receipts by
        source, or statuses by scope; ``scope`` filters either."""
        if what == "receipts":
            q = select(receipts).order_by(receipts.c.id)
            if since is not None:
                q = q.where(receipts.c.received_at >= iso(since))
            if until is not None:
                q = q.where(receipts.c.received_at < iso(until))
            if source is not None:
                q = q.where(receipts.c.source == source)
            if scope is not None:
                q = q.where(receipts.c.scope == scope)
        elif what == "status":
            ms = message_status
            q = select(ms).order_by(ms.c.scope, ms.c.message_id)
            if since is not None:
                q = q.where(ms.c.last_received_at >= iso(since))
            if until is not None:
                q = q.where(ms.c.last_received_at < iso(until))
            if source is not None or scope is not None:
                q = q.where(ms.c.scope == (scope if scope is not None else source))
        else:
            raise ValueError(f"cannot export {what!r}: choose receipts or status")
        with self.reader() as conn:
            result = conn.execution_options(yield_per=500).execute(q)
            for row in result.mappings():
                yield dict(row)


def export_columns(what: ExportKind) -> tuple[str, ...]:
    """The columns ``export_rows`` yields, in order (for a CSV header)."""
    return RECEIPT_COLUMNS if what == "receipts" else MESSAGE_STATUS_COLUMNS


#: ``raw_messages`` columns the journal writes, in the order of its row tuples.
_RAW_COLS: tuple[str, ...] = (
    "source",
    "remote_id",
    "sha256",
    "fetched_at",
    "payload",
    "format",
    "sender",
    "received_at",
    "parse_error",
)
#: ... and, for rows journaled already parsed, their outcome too.
_RAW_DONE_COLS: tuple[str, ...] = (*_RAW_COLS, "receipts", "parsed_at")
#: ``receipts`` columns in the order of :func:`_receipt_row`'s tuples.
_RECEIPT_COLS: tuple[str, ...] = RECEIPT_COLUMNS[1:]


def _receipt_row(raw_id: int, source: str, scope: str, r: Receipt, at: str) -> tuple[Any, ...]:
    """One ``receipts`` row, in :data:`_RECEIPT_COLS` order."""
    return (
        raw_id,
        source,
        scope,
        r.message_id,
        r.state.name,
        int(r.state),
        1 if r.final else 0,
        r.provider_status,
        r.error_code,
        None if r.submitted_at is None else iso(r.submitted_at),
        None if r.done_at is None else iso(r.done_at),
        r.sub,
        r.dlvrd,
        r.src_addr,
        r.dst_addr,
        r.client_ref,
        r.text,
        r.format,
        at,
    )


def _runs(counts: dict[int, int]) -> Iterator[tuple[int, int, int]]:
    """``(first_id, last_id, n)`` for each run of consecutive raw ids with equal counts."""
    run: list[int] | None = None
    for raw_id in sorted(counts):
        n = counts[raw_id]
        if run is not None and raw_id == run[1] + 1 and n == run[2]:
            run[1] = raw_id
            continue
        if run is not None:
            yield run[0], run[1], run[2]
        run = [raw_id, raw_id, n]
    if run is not None:
        yield run[0], run[1], run[2]


class _Bulk:
    """An executemany statement. On SQLite it runs as the driver SQL SQLAlchemy compiled
    for it, with plain tuples: no per-row parameter processing, which is most of the cost
    of a bulk insert through Core. Elsewhere it runs through Core with dicts."""

    def __init__(
        self, stmt: Insert | Update, cols: Sequence[str], engine: Engine, fast: bool
    ) -> None:
        self.stmt = stmt
        self.cols = tuple(cols)
        compiled = stmt.compile(dialect=engine.dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else ()
        # only when the driver SQL takes exactly our columns (in any order)
        self.fast = fast and sorted(order) == sorted(self.cols)
        self.sql = compiled.string
        # where each driver parameter is in our tuples, unless the orders agree
        self.pick = None if order == self.cols else [self.cols.index(n) for n in order]

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]], count: bool = False) -> int:
        """Execute for every row; with ``count``, return how many rows it changed."""
        if self.fast:
            if self.pick is not None:
                pick = self.pick
                rows = [tuple(row[i] for i in pick) for row in rows]
            result = conn.exec_driver_sql(self.sql, list(rows))
            return result.rowcount
        dicts = [dict(zip(self.cols, row, strict=True)) for row in rows]
        res = conn.execute(self.stmt, dicts)
        if count and res.returns_rows:
            return len(res.all())
        return res.rowcount
