"""``source_state``: the claims that pace the pollers (the two-minute floor, one poller at a
time), shared by every poller on the database."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, update

from dlrpoll.store.database import Database
from dlrpoll.store.tables import source_state
from dlrpoll.timestamps import to_text


def claim(
    db: Database, source: str, *, now: datetime, interval: float, ttl: float, owner: str
) -> bool:
    """Atomically claim ``source`` for a poll starting ``now``. Refused when its last poll
    started less than ``interval`` seconds ago or another live claim holds it; a claim
    older than ``ttl`` seconds has expired."""
    ss = source_state
    now_s = to_text(now)
    floor = to_text(now - timedelta(seconds=interval))
    until = to_text(now + timedelta(seconds=ttl))
    with db.write() as conn:
        conn.execute(db.insert_ignore(ss).values(source=source))
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


def release(db: Database, source: str, owner: str) -> None:
    """End ``owner``'s claim on ``source``; a claim someone else took over is left alone."""
    ss = source_state
    with db.write() as conn:
        conn.execute(
            update(ss)
            .where(ss.c.source == source, ss.c.claimed_by == owner)
            .values(claimed_by=None, claimed_until=None)
        )
