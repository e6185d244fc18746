"""``dlrpoll export``'s rows: receipts or message statuses, streamed from one snapshot."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import column, select, table

from dlrpoll.store.database import Database
from dlrpoll.store.receipts import RECEIPT_COLUMNS
from dlrpoll.store.tables import MESSAGE_STATUS_COLUMNS, receipts
from dlrpoll.timestamps import to_text

ExportKind = Literal["receipts", "status"]

message_status = table("message_status", *(column(name) for name in MESSAGE_STATUS_COLUMNS))


def export_columns(what: ExportKind) -> tuple[str, ...]:
    """The columns ``export_rows`` yields, in order (for a CSV header)."""
    return RECEIPT_COLUMNS if what == "receipts" else MESSAGE_STATUS_COLUMNS


def export_rows(
    db: Database,
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
    source, or statuses by scope; ``scope`` filters either. Raises ``ValueError`` for
    another ``what``."""
    if what == "receipts":
        q = select(receipts).order_by(receipts.c.id)
        if since is not None:
            q = q.where(receipts.c.received_at >= to_text(since))
        if until is not None:
            q = q.where(receipts.c.received_at < to_text(until))
        if source is not None:
            q = q.where(receipts.c.source == source)
        if scope is not None:
            q = q.where(receipts.c.scope == scope)
    elif what == "status":
        ms = message_status
        q = select(ms).order_by(ms.c.scope, ms.c.message_id)
        if since is not None:
            q = q.where(ms.c.last_received_at >= to_text(since))
        if until is not None:
            q = q.where(ms.c.last_received_at < to_text(until))
        if source is not None or scope is not None:
            q = q.where(ms.c.scope == (scope if scope is not None else source))
    else:
        raise ValueError(f"cannot export {what!r}: choose receipts or status")
    with db.reader() as conn:
        result = conn.execution_options(yield_per=500).execute(q)
        for row in result.mappings():
            yield dict(row)
