"""``source_state``: the leases that pace the pollers, shared by every poller on the database.

Each source has one row. A poll may start when two things hold, checked and taken in one
write transaction (the row locked on PostgreSQL, the database's write lock on SQLite):

- **the floor**: the source's last poll started at least its interval ago, whoever ran it
  (``last_started_at``, ``last_started_by``). Nothing voids the floor;
- **the lease**: nobody holds the source. A lease names its holder (``claimed_by``
  ``host:pid``, and ``holder_host``, ``holder_pid``, ``holder_start``: see
  :class:`~dlrpoll.owner.Owner`) and runs out at ``claimed_until``, which the holder's
  heartbeat keeps pushing ``lease_ttl`` ahead. A lease that ran out is free; so is one whose
  holder is certainly gone (its process no longer runs on this very machine).

A refused attempt writes no ``poll_runs`` row: it adds one to ``skipped`` and sets
``last_skipped_at``, so that many pollers sharing sources cannot flood ``poll_runs``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from dlrpoll.owner import Owner
from dlrpoll.store.database import Database
from dlrpoll.store.tables import source_state
from dlrpoll.timestamps import from_text_or_none, to_text

_FREE = {
    "claimed_by": None,
    "claimed_until": None,
    "holder_host": None,
    "holder_pid": None,
    "holder_start": None,
}


def floor_text(now: datetime, interval: float) -> str:
    """The stored start time after which a poll at ``now`` is inside the floor."""
    return to_text(now - timedelta(seconds=interval))


def clock_time(when: datetime | None) -> str:
    """``HH:MM:SS`` in UTC, as skip lines show times."""
    return "never" if when is None else to_text(when)[11:19]


@dataclass(frozen=True, slots=True)
class Lease:
    """One source's row: its floor, its lease and its refused attempts."""

    source: str
    last_started: datetime | None = None
    last_started_by: str | None = None
    holder: Owner | None = None
    until: datetime | None = None
    skipped: int = 0
    last_skipped: datetime | None = None

    def state(self, now: datetime) -> str:
        """``free`` (nobody holds it), ``held`` (a live lease), ``expired`` (its holder
        stopped renewing it), or ``gone`` (its holder's process no longer runs here)."""
        if self.holder is None or self.until is None:
            return "free"
        if self.holder.gone():
            return "gone"
        return "held" if self.until > now else "expired"

    def floor_until(self, interval: float) -> datetime | None:
        """When the floor lets the next poll start; ``None`` when it never polled."""
        if self.last_started is None:
            return None
        return self.last_started + timedelta(seconds=interval)

    def next_allowed(self, interval: float, now: datetime) -> datetime:
        """The earliest time a poll may start, as far as the database knows now."""
        out = max(now, self.floor_until(interval) or now)
        if self.state(now) == "held" and self.until is not None:
            out = max(out, self.until)
        return out


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to a lease request: granted, or refused with the reason (the floor, or a
    live lease) and the earliest time a poll may start. True when granted."""

    granted: bool
    reason: str | None = None
    next_allowed: datetime | None = None

    def __bool__(self) -> bool:
        return self.granted


def _lease(r: Any) -> Lease:
    holder = None
    if r.claimed_by is not None:
        holder = Owner(r.holder_host or r.claimed_by, r.holder_pid or 0, r.holder_start or "")
    return Lease(
        r.source,
        from_text_or_none(r.last_started_at),
        r.last_started_by,
        holder,
        from_text_or_none(r.claimed_until),
        int(r.skipped or 0),
        from_text_or_none(r.last_skipped_at),
    )


def _refusal(lease: Lease, interval: float, now: datetime) -> str | None:
    """Why a poll may not start ``now``; ``None`` when it may."""
    floor = lease.floor_until(interval)
    nxt = lease.next_allowed(interval, now)
    if floor is not None and floor > now:
        by = f" by {lease.last_started_by}" if lease.last_started_by else ""
        return f"polled {clock_time(lease.last_started)}{by}, next allowed {clock_time(nxt)} (UTC)"
    if lease.state(now) == "held" and lease.holder is not None:
        return (
            f"being polled by {lease.holder.name}, lease until {clock_time(lease.until)}, "
            f"next allowed {clock_time(nxt)} (UTC)"
        )
    return None


def claim(
    db: Database, source: str, *, now: datetime, interval: float, ttl: float, owner: Owner
) -> Claim:
    """Take ``source``'s lease for ``owner`` for a poll starting ``now``, ``ttl`` seconds
    long; refused inside the floor (``interval`` seconds since the last poll's start) or
    while another live lease holds it. A refusal counts in ``skipped``."""
    ss = source_state
    now_s = to_text(now)
    # the common refusal first, in one statement of its own: inside the floor (with several
    # pollers sharing sources, every poller but one is refused this way each interval). It
    # writes only the skip counter, so on SQLite it commits without waiting for the disk
    # (synchronous=NORMAL): the writers' lock is held for less, and a power cut can cost
    # no more than a count.
    with db.write(durable=False) as conn:
        inside = conn.execute(
            update(ss)
            .where(ss.c.source == source, ss.c.last_started_at > floor_text(now, interval))
            .values(skipped=ss.c.skipped + 1, last_skipped_at=now_s)
            .returning(*ss.c)
        ).first()
    if inside is not None:
        lease = _lease(inside)
        return Claim(False, _refusal(lease, interval, now), lease.next_allowed(interval, now))
    with db.write() as conn:
        conn.execute(db.insert_ignore(ss).values(source=source))
        row = conn.execute(select(ss).where(ss.c.source == source).with_for_update()).one()
        lease = _lease(row)
        reason = _refusal(lease, interval, now)
        if reason is not None:
            conn.execute(
                update(ss)
                .where(ss.c.source == source)
                .values(skipped=ss.c.skipped + 1, last_skipped_at=now_s)
            )
            return Claim(False, reason, lease.next_allowed(interval, now))
        conn.execute(
            update(ss)
            .where(ss.c.source == source)
            .values(
                last_started_at=now_s,
                last_started_by=owner.name,
                claimed_by=owner.name,
                claimed_until=to_text(now + timedelta(seconds=ttl)),
                holder_host=owner.host,
                holder_pid=owner.pid,
                holder_start=owner.start,
            )
        )
    return Claim(True)


def _mine(owner: Owner) -> Any:
    ss = source_state
    return (ss.c.claimed_by == owner.name) & (func.coalesce(ss.c.holder_start, "") == owner.start)


def renew(db: Database, source: str, owner: Owner, *, now: datetime, ttl: float) -> bool:
    """The heartbeat: push ``owner``'s lease on ``source`` to ``ttl`` seconds after ``now``.
    False when the lease is no longer ``owner``'s (released, or taken over). Commits
    without waiting for the disk on SQLite: a renewal lost to a power cut only shortens a
    lease whose poll died with the machine."""
    ss = source_state
    with db.write(durable=False) as conn:
        done = conn.execute(
            update(ss)
            .where(ss.c.source == source, _mine(owner))
            .values(claimed_until=to_text(now + timedelta(seconds=ttl)))
        )
        return done.rowcount == 1


def release(db: Database, source: str, owner: Owner) -> None:
    """End ``owner``'s lease on ``source``; a lease someone else took over is left alone.
    The floor stays: it counts from the poll's start, not from its end. Commits without
    waiting for the disk on SQLite: a release lost to a power cut leaves a lease whose
    holder is gone, void at once on restart."""
    ss = source_state
    with db.write(durable=False) as conn:
        conn.execute(update(ss).where(ss.c.source == source, _mine(owner)).values(**_FREE))


def clear(db: Database, source: str, holder: Owner) -> bool:
    """Clear the lease ``holder`` has on ``source`` (``dlrpoll release``); False when that
    lease is no longer there. The floor stays."""
    ss = source_state
    with db.write() as conn:
        done = conn.execute(update(ss).where(ss.c.source == source, _mine(holder)).values(**_FREE))
        return done.rowcount == 1


def leases(db: Database, sources: Iterable[str] | None = None) -> dict[str, Lease]:
    """The rows of ``sources`` (all when ``None``) that exist, read in one snapshot."""
    wanted = None if sources is None else set(sources)
    with db.reader() as conn:
        rows = conn.execute(select(source_state)).all()
    # one scan, filtered here: thousands of names would not fit an IN list on SQLite
    return {r.source: _lease(r) for r in rows if wanted is None or r.source in wanted}
