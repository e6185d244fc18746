"""Receipts: the row a :class:`~dlrpoll.receipts.model.Receipt` becomes, and the insert that
dedupes it (``ON CONFLICT DO NOTHING`` on the dedupe index, never "look, then insert").

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
    """The receipts insert, on a store's connections."""

    def __init__(self, db: Database) -> None:
        fast = db.sqlite
        stmt = db.insert_ignore(receipts).values({c: bindparam(c) for c in RECEIPT_COLS})
        if not db.sqlite:
            # the stored count comes from the rows actually inserted: psycopg's rowcount
            # for a batched INSERT … ON CONFLICT DO NOTHING is -1 (or one batch's), which
            # read "stored -7, duplicates 707" for 700 new receipts
            stmt = stmt.returning(receipts.c.id)
            fast = False
        self._insert = Bulk(stmt, RECEIPT_COLS, db.engine, fast)

    def insert(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> int:
        """Insert ``rows`` (duplicates are skipped); how many were new."""
        return self._insert.run(conn, rows, count=True) if rows else 0
