"""The journal (``raw_messages``): every raw item, committed before any acknowledgement.

An item is identified by its source and remote id, or by its source and SHA-256 when it has
no remote id (the two unique indexes); inserting one already there is not an error, it
tells the caller the row it already has. Statements are built once per store.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, bindparam, func, null, select, update

from dlrpoll.errors import StoreError
from dlrpoll.rawitem import RawItem
from dlrpoll.store.bulk import PAGE, Bulk, chunks, driver
from dlrpoll.store.database import Database
from dlrpoll.store.tables import raw_messages
from dlrpoll.timestamps import from_text, to_text_or_none

#: ``raw_messages`` columns the journal writes, in the order of its row tuples.
RAW_COLS: tuple[str, ...] = (
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
RAW_DONE_COLS: tuple[str, ...] = (*RAW_COLS, "receipts", "parsed_at")
#: where ``parse_error`` is in those tuples
ERROR_AT = RAW_COLS.index("parse_error")

RawKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A raw item as journaled: its row id, and whether this call inserted it."""

    raw_id: int
    item: RawItem
    new: bool


def raw_key(remote_id: str | None, sha256: str) -> RawKey:
    """The journal's identity of an item, as the two unique indexes define it."""
    return ("remote", remote_id) if remote_id is not None else ("sha256", sha256)


def raw_row(
    source: str, item: RawItem, at: str, error: str | None
) -> tuple[RawKey, tuple[Any, ...]]:
    """An item's key and its row in :data:`RAW_COLS` order."""
    digest = hashlib.sha256(item.payload).hexdigest()
    row = (
        source,
        item.remote_id,
        digest,
        at,
        item.payload,
        item.format,
        item.sender,
        to_text_or_none(item.received_at),
        error,
    )
    return raw_key(item.remote_id, digest), row


class Journal:
    """The journal's statements and queries, on a store's connections."""

    def __init__(self, db: Database) -> None:
        self.db = db
        rm = raw_messages
        fast = db.sqlite
        ins_raw = db.insert_ignore(rm).values({c: bindparam(c) for c in RAW_COLS})
        self._ins_raw = Bulk(ins_raw, RAW_COLS, db.engine, fast)
        self._ins_raw_returning = ins_raw.returning(rm.c.id, rm.c.remote_id, rm.c.sha256)
        # journal_and_store: rows that arrive already parsed (count or error, and when)
        ins_done = db.insert_ignore(rm).values({c: bindparam(c) for c in RAW_DONE_COLS})
        self._ins_raw_done = Bulk(ins_done, RAW_DONE_COLS, db.engine, fast)
        self._ins_raw_done_returning = ins_done.returning(rm.c.id, rm.c.remote_id, rm.c.sha256)
        self._max_id = str(select(func.max(rm.c.id)).compile(dialect=db.engine.dialect))
        #: ``(n, error, at, raw_id)``: one row's outcome
        self.mark_parsed = Bulk(
            update(rm)
            .where(rm.c.id == bindparam("b_id"))
            .values(
                receipts=bindparam("b_n"),
                parse_error=bindparam("b_err"),
                parsed_at=bindparam("b_at"),
            ),
            ("b_n", "b_err", "b_at", "b_id"),
            db.engine,
            fast,
        )
        #: ``(n, at, first_id, last_id)``: a poll's raw rows have consecutive ids, so
        #: marking them parsed is one ranged UPDATE per run of equal counts
        self.mark_runs = Bulk(
            update(rm)
            .where(rm.c.id.between(bindparam("b_lo"), bindparam("b_hi")))
            .values(receipts=bindparam("b_n"), parse_error=null(), parsed_at=bindparam("b_at")),
            ("b_n", "b_at", "b_lo", "b_hi"),
            db.engine,
            fast,
        )

    def insert(
        self,
        conn: Connection,
        source: str,
        rows: Sequence[tuple[Any, ...]],
        keys: Sequence[RawKey],
        *,
        done: bool,
    ) -> list[tuple[int, bool]]:
        """Insert journal rows (:data:`RAW_COLS`, or :data:`RAW_DONE_COLS` when ``done``),
        skipping those already there; ``(raw_id, new)`` for each row, in order."""
        rm = raw_messages
        bulk, returning = (
            (self._ins_raw_done, self._ins_raw_done_returning)
            if done
            else (self._ins_raw, self._ins_raw_returning)
        )
        if self.db.sqlite:
            # writers are serialized (BEGIN IMMEDIATE) and ids are max(id) + 1: when every
            # row went in, they got the ids after the largest before, in order; otherwise
            # the rows above it are exactly this call's (a range scan, much cheaper than
            # RETURNING through SQLAlchemy)
            db = driver(conn)
            before = db.execute(self._max_id).fetchone()[0] or 0
            inserted_n = bulk.run(conn, rows)
            if inserted_n == len(rows):
                after = db.execute(self._max_id).fetchone()[0] or 0
                if after == before + len(rows):
                    return [(before + 1 + i, True) for i in range(len(rows))]
            new_rows = conn.execute(
                select(rm.c.id, rm.c.remote_id, rm.c.sha256).where(rm.c.id > before)
            ).all()
        else:
            cols = RAW_DONE_COLS if done else RAW_COLS
            dicts = [dict(zip(cols, row, strict=True)) for row in rows]
            new_rows = list(conn.execute(returning, dicts).all())
        inserted = {raw_key(r.remote_id, r.sha256): r.id for r in new_rows}
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

    def _raw_ids(self, conn: Connection, source: str, keys: Sequence[RawKey]) -> dict[RawKey, int]:
        rm = raw_messages
        found: dict[RawKey, int] = {}
        remote = [value for kind, value in keys if kind == "remote"]
        digests = [value for kind, value in keys if kind == "sha256"]
        for chunk in chunks(remote):
            q = select(rm.c.id, rm.c.remote_id).where(
                rm.c.source == source, rm.c.remote_id.in_(chunk)
            )
            found.update({("remote", r.remote_id): r.id for r in conn.execute(q)})
        for chunk in chunks(digests):
            q = select(rm.c.id, rm.c.sha256).where(
                rm.c.source == source, rm.c.remote_id.is_(None), rm.c.sha256.in_(chunk)
            )
            found.update({("sha256", r.sha256): r.id for r in conn.execute(q)})
        lost = [k for k in keys if k not in found]
        if lost:  # an insert that conflicted must have found its row
            raise StoreError(f"{self.db.where}: journal rows for {lost[:3]} vanished mid-insert")
        return found

    def known_remote_ids(self, source: str, remote_ids: Sequence[str]) -> set[str]:
        """Which of ``remote_ids`` are already journaled for ``source``."""
        rm = raw_messages
        known: set[str] = set()
        with self.db.reader() as conn:
            for chunk in chunks(list(dict.fromkeys(remote_ids))):
                q = select(rm.c.remote_id).where(rm.c.source == source, rm.c.remote_id.in_(chunk))
                known.update(conn.execute(q).scalars())
        return known

    def items(
        self, condition: ColumnElement[bool], source: str | None, *, after: int = 0
    ) -> Iterator[tuple[int, str, RawItem]]:
        """``(raw_id, source, item)`` for the rows matching ``condition`` with ids above
        ``after``, oldest first: keyset pages in short read transactions (bounded memory, no
        long-held snapshot)."""
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
        last = after
        while True:
            q = select(*cols).where(condition, rm.c.id > last).order_by(rm.c.id).limit(PAGE)
            with self.db.reader() as conn:
                page = conn.execute(q).all()
            for r in page:
                received = from_text(r.received_at) if r.received_at else None
                item = RawItem(
                    r.remote_id, bytes(r.payload), r.format, r.parse_error, r.sender, received
                )
                yield r.id, r.source, item
            if len(page) < PAGE:
                return
            last = page[-1].id
