"""``message_status`` kept up to date: the receipts a transaction stores, folded into their
messages' rows in that same transaction.

The rule (DESIGN.md, and the README's schema section): the earliest-arriving final receipt
governs and never changes; otherwise the latest intermediate one by done_at (unknown counts
as oldest), then by arrival; ``conflict`` when two different final states arrived.

A status is a fold over a message's receipts, and two folds combine (:func:`merge`): the
governing receipt is the better of the two governors, counts add, first and last arrival
are the min and max, and a conflict is either side's conflict or two finals that differ.
One ``INSERT … ON CONFLICT DO UPDATE`` whose SET clause is the same :func:`merge`, written
in SQL, combines a fold with the stored row (atomic per row, on SQLite and PostgreSQL
alike). Arrival order is the receipt id, so the result does not depend on which
transaction commits first.

Which receipts of a write are new (not duplicates) comes from the insert (``receipts.py``).
On SQLite, where writers are serialized, they are the last rows, as many as it inserted, and
one ``INSERT … SELECT`` upsert merges each of them, as the fold of that one receipt, into
its message's row (:meth:`StatusWriter.add_last`): nothing is read back into Python.
Elsewhere the insert returns the new rows, Python folds them per message (PostgreSQL
refuses to update a row twice in one statement) and one executemany upsert merges the
folds (:meth:`StatusWriter.add`; tests run that path on SQLite too). Measured slower on
SQLite: reading the new rows back and folding them in Python (7 µs a receipt, a quarter of
the whole write's time), a trigger on ``receipts`` (SQLite then journals every row's statement), and
folding with the reference query (its window functions cost ~35 µs a row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
)

from dlrpoll.store.bulk import Bulk, dialect_insert, driver
from dlrpoll.store.tables import MESSAGE_STATUS_COLUMNS, message_status, receipts

if TYPE_CHECKING:  # database.py imports migrations.py, which imports this module
    from dlrpoll.store.database import Database

#: The columns of a new receipt that the fold reads, in this order (``id`` is the arrival).
STATUS_INPUT: tuple[str, ...] = (
    "id",
    "scope",
    "message_id",
    "state",
    "state_code",
    "final",
    "done_at",
    "source",
    "provider_status",
    "error_code",
    "received_at",
    "match_id",
)

_COL = {name: i for i, name in enumerate(MESSAGE_STATUS_COLUMNS)}
_FINAL, _DONE, _CODE = _COL["final"], _COL["done_at"], _COL["state_code"]
_RID, _N, _CONFLICT = _COL["receipt_id"], _COL["receipts"], _COL["conflict"]
_FIRST, _LAST = _COL["first_received_at"], _COL["last_received_at"]
#: the columns that come from the governing receipt
GOVERNING: tuple[str, ...] = (
    "state",
    "state_code",
    "final",
    "done_at",
    "source",
    "provider_status",
    "error_code",
    "receipt_id",
    "match_id",
)
_GOV = [_COL[name] for name in GOVERNING]


def _better(new: Sequence[Any], cur: Sequence[Any]) -> bool:
    """Whether ``new``'s governing receipt beats ``cur``'s."""
    if new[_FINAL]:
        return not cur[_FINAL] or new[_RID] < cur[_RID]
    if cur[_FINAL]:
        return False
    new_done, cur_done = new[_DONE] or "", cur[_DONE] or ""
    return new_done > cur_done or (new_done == cur_done and new[_RID] > cur[_RID])


def merge(cur: list[Any], new: Sequence[Any]) -> None:
    """Combine the fold ``new`` into the fold ``cur`` (both rows in column order), in place."""
    cur[_CONFLICT] = (
        1
        if cur[_CONFLICT]
        or new[_CONFLICT]
        or (cur[_FINAL] and new[_FINAL] and cur[_CODE] != new[_CODE])
        else 0
    )
    if _better(new, cur):
        for i in _GOV:
            cur[i] = new[i]
    cur[_N] += new[_N]
    if new[_FIRST] < cur[_FIRST]:
        cur[_FIRST] = new[_FIRST]
    if new[_LAST] > cur[_LAST]:
        cur[_LAST] = new[_LAST]


def fold(receipts: Iterable[Sequence[Any]]) -> list[list[Any]]:
    """One status row per message for ``receipts`` (rows in :data:`STATUS_INPUT` order)."""
    out: dict[tuple[str, str], list[Any]] = {}
    for rid, scope, mid, state, code, final, done, source, status, error, at, match in receipts:
        row = [scope, mid, state, code, final, done, 1, 0, source, status, error, rid, at, at]
        row.append(match)
        cur = out.get((scope, mid))
        if cur is None:
            out[(scope, mid)] = row
        else:
            merge(cur, row)
    return list(out.values())


def _merge_sql(excluded: Any) -> dict[str, ColumnElement[Any]]:
    """:func:`merge` as the SET clause of an upsert: ``excluded`` is the new fold."""
    ms, ex = message_status.c, excluded
    one: ColumnElement[Any] = literal_column("1")
    zero: ColumnElement[Any] = literal_column("0")
    empty: ColumnElement[Any] = literal_column("''")
    ex_done, ms_done = func.coalesce(ex.done_at, empty), func.coalesce(ms.done_at, empty)
    better = or_(
        and_(ex.final == one, or_(ms.final == zero, ex.receipt_id < ms.receipt_id)),
        and_(
            ex.final == zero,
            ms.final == zero,
            or_(ex_done > ms_done, and_(ex_done == ms_done, ex.receipt_id > ms.receipt_id)),
        ),
    )
    conflict = or_(
        ms.conflict == one,
        ex.conflict == one,
        and_(ms.final == one, ex.final == one, ms.state_code != ex.state_code),
    )
    out: dict[str, ColumnElement[Any]] = {
        name: case((better, ex[name]), else_=ms[name]) for name in GOVERNING
    }
    out["receipts"] = ms.receipts + ex.receipts
    out["conflict"] = case((conflict, one), else_=zero)
    out["first_received_at"] = case(
        (ex.first_received_at < ms.first_received_at, ex.first_received_at),
        else_=ms.first_received_at,
    )
    out["last_received_at"] = case(
        (ex.last_received_at > ms.last_received_at, ex.last_received_at),
        else_=ms.last_received_at,
    )
    return out


def _on_conflict_merge(stmt: Any) -> Any:
    ms = message_status
    return stmt.on_conflict_do_update(
        index_elements=[ms.c.scope, ms.c.message_id], set_=_merge_sql(stmt.excluded)
    )


def _last_upsert(engine: Engine, where: str) -> Any:
    """SQLite's fold of one write: each of the last ``:new`` receipts (the write's own),
    as the fold of that one receipt, merged into its message's row by the upsert, in id
    order. SQLite runs an ``INSERT … SELECT`` upsert row by row, and a fold is those merges
    one receipt at a time, so several receipts of one message in one write come out as
    :func:`fold` would make them (PostgreSQL refuses to update a row twice in one statement:
    it gets the folds from Python). No value passes through Python."""
    rc, last = receipts.c, receipts.alias("last").c
    own: dict[str, Any] = {
        "receipts": literal_column("1"),
        "conflict": literal_column("0"),
        "receipt_id": rc.id,
        "first_received_at": rc.received_at,
        "last_received_at": rc.received_at,
    }
    new = select(*(own[name] if name in own else rc[name] for name in MESSAGE_STATUS_COLUMNS))
    # a write's receipts have the ids after the largest before it, one after another (a
    # new rowid is the largest + 1, and writers are serialized); the WHERE also ends the
    # SELECT before ON CONFLICT (SQLite would read a bare FROM's ON as a join's), and the
    # ORDER BY follows the rowid, so it sorts nothing
    newest = select(func.max(last.id)).scalar_subquery()
    new = new.where(rc.id > newest - bindparam("new")).order_by(rc.id)
    insert: Any = dialect_insert(message_status, engine, where)
    return _on_conflict_merge(insert.from_select(list(MESSAGE_STATUS_COLUMNS), new))


class StatusWriter:
    """The upsert that folds new receipts into ``message_status``, on a store's connections:
    :meth:`add_last` on SQLite, :meth:`add` elsewhere."""

    def __init__(self, db: Database) -> None:
        values: dict[str, Any] = {c: bindparam(c) for c in MESSAGE_STATUS_COLUMNS}
        insert: Any = dialect_insert(message_status, db.engine, db.where)
        stmt = _on_conflict_merge(insert.values(values))
        self._upsert = Bulk(stmt, MESSAGE_STATUS_COLUMNS, db.engine, db.sqlite)
        self._last: str | None = None
        if db.sqlite:
            self._last = str(_last_upsert(db.engine, db.where).compile(dialect=db.engine.dialect))

    def add(self, conn: Connection, new_receipts: Iterable[Sequence[Any]]) -> int:
        """Fold receipts just inserted (rows in :data:`STATUS_INPUT` order) into their
        messages' statuses, inside ``conn``'s transaction; how many messages were touched."""
        rows = [tuple(row) for row in fold(new_receipts)]
        if rows:
            self._upsert.run(conn, rows)
        return len(rows)

    def add_last(self, conn: Connection, new: int) -> None:
        """SQLite: fold the last ``new`` receipts (the ones this transaction inserted:
        writers are serialized) into their messages' statuses, inside ``conn``'s
        transaction."""
        if self._last is None:
            raise AssertionError("add_last is SQLite's; other databases use add")
        driver(conn).execute(self._last, (new,))
