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

from sqlalchemy import Connection, bindparam

from dlrpoll.receipts.model import Receipt
from dlrpoll.store.bulk import Bulk
from dlrpoll.store.database import Database
from dlrpoll.store.status import STATUS_INPUT, StatusWriter
from dlrpoll.store.tables import RECEIPT_PLAN, RECEIPT_TRAILING_PLAN, Stored, receipts
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


def _exprs(plan: tuple[tuple[str, Stored, bool, type], ...]) -> list[str]:
    exprs: list[str] = []
    for name, how, _nullable, _kind in plan:
        value = f"r.{name}"
        if how is Stored.STATE:
            # the enum's own attributes: ``.name`` is a descriptor call, three times slower
            exprs += [f"{value}._name_", f"{value}._value_"]
        elif how is Stored.FLAG:
            exprs.append(f"(1 if {value} else 0)")
        elif how is Stored.TIME:
            exprs.append(f"(None if {value} is None else _iso({value}))")
        else:
            exprs.append(value)
    return exprs


def _row_builder() -> RowBuilder:
    exprs = ["raw_id", "source", "scope", *_exprs(RECEIPT_PLAN), "at"]
    exprs += _exprs(RECEIPT_TRAILING_PLAN)
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

    ``serialized`` (SQLite's default): writers are serialized and ids are max(id) + 1, so
    the new receipts are exactly the last rows, as many as the insert stored, and
    :meth:`~dlrpoll.store.status.StatusWriter.add_last` folds them in SQL; nothing is read
    back. Otherwise the insert returns the new rows and
    :meth:`~dlrpoll.store.status.StatusWriter.add` folds them. Either way in the same
    transaction.
    """

    def __init__(self, db: Database, *, serialized: bool | None = None) -> None:
        self.serialized = db.sqlite if serialized is None else serialized
        stmt = db.insert_ignore(receipts).values({c: bindparam(c) for c in RECEIPT_COLS})
        if not self.serialized:
            # the inserted rows themselves say which receipts were new (not duplicates)
            stmt = stmt.returning(*(receipts.c[name] for name in STATUS_INPUT))
        self._insert = Bulk(stmt, RECEIPT_COLS, db.engine, self.serialized)
        self._status = StatusWriter(db)

    def insert(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert ``rows`` (duplicates are skipped) and fold the new ones into
        ``message_status``, inside ``conn``'s transaction; how many were new."""
        if not rows:
            return 0
        if not self.serialized:
            dicts = [dict(zip(RECEIPT_COLS, row, strict=True)) for row in rows]
            returned = conn.execute(self._insert.stmt, dicts).all()
            self._status.add(conn, sorted(returned))  # in arrival (id) order
            return len(returned)
        stored = self._insert.run(conn, rows)
        if stored:
            self._status.add_last(conn, stored)
        return stored
