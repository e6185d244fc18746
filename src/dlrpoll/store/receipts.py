"""Receipts: the row a :class:`~dlrpoll.receipts.model.Receipt` becomes, and the insert that
dedupes it (``ON CONFLICT DO NOTHING`` on the dedupe index, never "look, then insert") and
folds the receipts it stored into ``message_status`` in the same transaction
(:mod:`~dlrpoll.store.status`): there is no way to store a receipt without its status.

The row is derived from the receipt's fields and the table's plan
(:data:`~dlrpoll.store.tables.RECEIPT_PLAN`): :func:`receipt_row` is generated once at import,
as :mod:`dataclasses` generates ``__init__``, so that the hot path is one tuple display
with no loop over fields.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from dlrpoll.receipts.model import Receipt
from dlrpoll.store.bulk import Bulk
from dlrpoll.store.database import Database
from dlrpoll.store.status import STATUS_INPUT, StatusWriter, since_upsert
from dlrpoll.store.tables import RECEIPT_PLAN, Stored, receipts
from dlrpoll.timestamps import to_text

#: Every ``receipts`` column, in table order.
RECEIPT_COLUMNS: tuple[str, ...] = tuple(c.name for c in receipts.columns)
#: The columns a row tuple holds (all but ``id``), in :func:`receipt_row`'s order.
RECEIPT_COLS: tuple[str, ...] = RECEIPT_COLUMNS[1:]


@dataclass(frozen=True, slots=True)
class ParsedRaw:
    """The outcome of parsing one journaled raw item: receipts, or the reason it failed."""

    raw_id: int
    receipts: Sequence[Receipt]
    error: str | None = None


RowBuilder = Callable[[int, str, str, Receipt, str], tuple[Any, ...]]


def _row_builder() -> RowBuilder:
    exprs = ["raw_id", "source", "scope"]
    for name, how, _nullable, _kind in RECEIPT_PLAN:
        value = f"r.{name}"
        if how is Stored.STATE:
            exprs += [f"{value}.name", f"int({value})"]
        elif how is Stored.FLAG:
            exprs.append(f"(1 if {value} else 0)")
        elif how is Stored.TIME:
            exprs.append(f"(None if {value} is None else _iso({value}))")
        else:
            exprs.append(value)
    exprs.append("at")
    if len(exprs) != len(RECEIPT_COLS):
        raise AssertionError("receipt_row and the receipts table disagree")
    source = f"def receipt_row(raw_id, source, scope, r, at):\n    return ({', '.join(exprs)},)\n"
    namespace: dict[str, Any] = {"_iso": to_text}
    exec(compile(source, "<dlrpoll.store.receipts.receipt_row>", "exec"), namespace)
    built: RowBuilder = namespace["receipt_row"]
    built.__doc__ = "One ``receipts`` row, in :data:`RECEIPT_COLS` order."
    return built


#: ``receipt_row(raw_id, source, scope, receipt, received_at_text)``: one ``receipts`` row,
#: in :data:`RECEIPT_COLS` order.
receipt_row: RowBuilder = _row_builder()


def receipt_rows(
    raw_id: int, source: str, scope: str, found: Sequence[Receipt], at: str
) -> list[tuple[Any, ...]]:
    """The rows of one raw item's receipts."""
    return [receipt_row(raw_id, source, scope, r, at) for r in found]


class Receipts:
    """The receipts insert, and the status fold that goes with it, on a store's connections.

    ``serialized`` (SQLite's default): the new receipts are those above the largest id
    before the insert, folded in SQL (:func:`~dlrpoll.store.status.since_upsert`);
    otherwise the insert returns the new rows and :class:`StatusWriter` folds them. In the
    same transaction either way.
    """

    def __init__(self, db: Database, *, serialized: bool | None = None) -> None:
        self.serialized = db.sqlite if serialized is None else serialized
        stmt = db.insert_ignore(receipts).values({c: bindparam(c) for c in RECEIPT_COLS})
        if not self.serialized:
            # the inserted rows themselves say which receipts were new (not duplicates)
            stmt = stmt.returning(*(receipts.c[name] for name in STATUS_INPUT))
        self._insert = Bulk(stmt, RECEIPT_COLS, db.engine, self.serialized)
        self._status = StatusWriter(db)
        self._since = since_upsert(db.engine, db.where)
        self._max_id = select(func.max(receipts.c.id))

    def insert(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert ``rows`` (duplicates are skipped) and fold the new ones into
        ``message_status``, inside ``conn``'s transaction; how many were new."""
        if not rows:
            return 0
        if self.serialized:
            before = conn.execute(self._max_id).scalar() or 0
            stored = self._insert.run(conn, rows)
            if stored:
                conn.execute(self._since, {"after": before})
            return stored
        dicts = [dict(zip(RECEIPT_COLS, row, strict=True)) for row in rows]
        new = conn.execute(self._insert.stmt, dicts).all()
        self._status.add(conn, sorted(new))  # in arrival (id) order
        return len(new)
