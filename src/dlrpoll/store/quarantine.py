"""Quarantined raw items, for ``dlrpoll quarantine``: list them, read one, dismiss some.

A dismissed item stays in the journal (its bytes and its reason are never deleted here);
``dismissed_at`` marks that an operator has seen it, so ``status``, the
``dlrpoll_quarantined`` metric and ``reparse`` stop counting it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update

from dlrpoll.store.store import Store
from dlrpoll.store.tables import iso, raw_messages

#: bytes of the payload a listing reads for its preview
PREVIEW_BYTES = 200


@dataclass(frozen=True, slots=True)
class QuarantinedItem:
    """One quarantined raw item. ``payload`` is the whole item for :func:`get`, the first
    :data:`PREVIEW_BYTES` for :func:`listing`; ``size`` is always the whole size."""

    raw_id: int
    source: str
    remote_id: str | None
    fetched_at: str
    format: str
    reason: str
    size: int
    payload: bytes
    dismissed_at: str | None


def _condition(source: str | None, reason_like: str | None, dismissed: bool) -> ColumnElement[bool]:
    rm = raw_messages
    cond: ColumnElement[bool] = rm.c.parse_error.is_not(None)
    if not dismissed:
        cond = cond & rm.c.dismissed_at.is_(None)
    if source is not None:
        cond = cond & (rm.c.source == source)
    if reason_like is not None:
        # LIKE with the text as a substring; % and _ in it are taken literally
        escaped = reason_like.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        cond = cond & rm.c.parse_error.like(f"%{escaped}%", escape="\\")
    return cond


def listing(
    store: Store,
    *,
    source: str | None = None,
    reason_like: str | None = None,
    dismissed: bool = False,
    limit: int | None = None,
) -> list[QuarantinedItem]:
    """Quarantined items, oldest first (``dismissed``: dismissed ones too)."""
    rm = raw_messages
    q = (
        select(
            rm.c.id,
            rm.c.source,
            rm.c.remote_id,
            rm.c.fetched_at,
            rm.c.format,
            rm.c.parse_error,
            func.length(rm.c.payload),
            func.substr(rm.c.payload, 1, PREVIEW_BYTES),
            rm.c.dismissed_at,
        )
        .where(_condition(source, reason_like, dismissed))
        .order_by(rm.c.id)
    )
    if limit is not None:
        q = q.limit(limit)
    with store.reader() as conn:
        return [
            QuarantinedItem(
                r[0], r[1], r[2], r[3], r[4], r[5], int(r[6] or 0), bytes(r[7] or b""), r[8]
            )
            for r in conn.execute(q)
        ]


def get(store: Store, raw_id: int) -> QuarantinedItem | None:
    """One raw item (quarantined or not, dismissed or not) with its whole payload."""
    rm = raw_messages
    q = select(
        rm.c.id,
        rm.c.source,
        rm.c.remote_id,
        rm.c.fetched_at,
        rm.c.format,
        rm.c.parse_error,
        rm.c.payload,
        rm.c.dismissed_at,
    ).where(rm.c.id == raw_id)
    with store.reader() as conn:
        r = conn.execute(q).first()
    if r is None:
        return None
    payload = bytes(r.payload)
    return QuarantinedItem(
        r.id,
        r.source,
        r.remote_id,
        r.fetched_at,
        r.format,
        r.parse_error or "",
        len(payload),
        payload,
        r.dismissed_at,
    )


def dismiss(
    store: Store,
    now: datetime,
    *,
    ids: Sequence[int] = (),
    source: str | None = None,
    reason_like: str | None = None,
) -> list[int]:
    """Mark quarantined, not yet dismissed items as dismissed: those in ``ids``, or those
    of ``source`` and/or whose reason contains ``reason_like``. Returns the ids marked."""
    rm = raw_messages
    cond = _condition(source, reason_like, dismissed=False)
    if ids:
        cond = cond & rm.c.id.in_(list(ids))
    with store.write() as conn:
        marked = [int(i) for i in conn.execute(select(rm.c.id).where(cond)).scalars()]
        if marked:
            # the same condition, in the same write transaction: exactly the rows selected
            conn.execute(update(rm).where(cond).values(dismissed_at=iso(now)))
    return marked
