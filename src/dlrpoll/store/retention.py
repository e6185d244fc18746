"""Pruning what dlrpoll no longer needs (``[retention]``, ``dlrpoll prune``).

Never removes what dedupe needs: a raw item's row, its keys (``remote_id``, ``sha256``) and
outcome stay, only its payload is emptied (``pruned_at`` set), and only for items that were
stored or dismissed; quarantined items still waiting and unprocessed ones keep their bytes.
Each source's latest poll run of every outcome stays, so ``status`` and the metrics keep
the last success. Receipts are never pruned here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, func, literal, select, update

from dlrpoll.store.store import Store
from dlrpoll.store.tables import iso, poll_runs, raw_messages


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune removed (or, dry, would remove)."""

    payloads: int = 0
    payload_bytes: int = 0
    poll_runs: int = 0
    skipped_polls: int = 0


def _payloads(cut: str) -> ColumnElement[bool]:
    rm = raw_messages
    done = rm.c.receipts.is_not(None) & rm.c.parse_error.is_(None)
    return (
        (rm.c.fetched_at < cut) & rm.c.pruned_at.is_(None) & (done | rm.c.dismissed_at.is_not(None))
    )


def _runs(cut: str, skipped: bool) -> ColumnElement[bool]:
    pr = poll_runs
    latest = select(func.max(pr.c.id)).group_by(pr.c.source, pr.c.outcome)
    kind = pr.c.outcome == "skipped" if skipped else pr.c.outcome != "skipped"
    return (pr.c.started_at < cut) & kind & pr.c.id.not_in(latest.scalar_subquery())


def prune(
    store: Store,
    now: datetime,
    *,
    raw_payloads: float | None,
    poll_runs_age: float | None,
    skipped_age: float | None,
    dry_run: bool = False,
) -> Pruned:
    """Prune what is older than each age in seconds (None: keep for ever), in one write
    transaction; ``dry_run`` only counts."""

    def cut(age: float) -> str:
        return iso(now - timedelta(seconds=age))

    rm, pr = raw_messages, poll_runs
    counts: dict[str, int] = {}
    with store.reader() if dry_run else store.write() as conn:
        if raw_payloads is not None:
            where = _payloads(cut(raw_payloads))
            n, size = conn.execute(
                select(func.count(), func.coalesce(func.sum(func.length(rm.c.payload)), 0)).where(
                    where
                )
            ).one()
            counts["payloads"], counts["payload_bytes"] = int(n), int(size)
            if not dry_run and n:
                conn.execute(
                    update(rm).where(where).values(payload=literal(b""), pruned_at=iso(now))
                )
        for key, age, skipped in (
            ("poll_runs", poll_runs_age, False),
            ("skipped_polls", skipped_age, True),
        ):
            if age is None:
                continue
            where = _runs(cut(age), skipped)
            counts[key] = int(conn.execute(select(func.count()).where(where)).scalar_one())
            if not dry_run and counts[key]:
                conn.execute(delete(pr).where(where))
    return Pruned(**counts)
