"""``poll_runs``: one row per poll, skipped ones included."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from dlrpoll.counts import Counts
from dlrpoll.store.database import Database
from dlrpoll.store.tables import poll_runs
from dlrpoll.timestamps import from_text, to_text


@dataclass(frozen=True, slots=True)
class PollRun:
    """One row of ``poll_runs``: a poll of ``source``, what it did and how it ended."""

    source: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # "ok" | "error" | "skipped"
    counts: Counts = Counts()
    error: str | None = None


def record_poll(db: Database, run: PollRun) -> None:
    """Add one row to ``poll_runs``."""
    c = run.counts
    with db.write() as conn:
        conn.execute(
            poll_runs.insert().values(
                source=run.source,
                started_at=to_text(run.started_at),
                finished_at=to_text(run.finished_at),
                outcome=run.outcome,
                fetched=c.fetched,
                stored=c.stored,
                duplicates=c.duplicates,
                quarantined=c.quarantined,
                error=run.error,
            )
        )


def last_polls(
    db: Database, sources: Iterable[str], *, include_skipped: bool = True
) -> dict[str, PollRun]:
    """The latest recorded poll of each of ``sources`` that has one."""
    pr = poll_runs
    out: dict[str, PollRun] = {}
    with db.reader() as conn:
        for name in dict.fromkeys(sources):
            q = select(pr).where(pr.c.source == name)
            if not include_skipped:
                q = q.where(pr.c.outcome != "skipped")
            q = q.order_by(pr.c.started_at.desc(), pr.c.id.desc()).limit(1)
            r = conn.execute(q).first()
            if r is not None:
                out[name] = PollRun(
                    r.source,
                    from_text(r.started_at),
                    from_text(r.finished_at),
                    r.outcome,
                    Counts(r.fetched, r.stored, r.duplicates, r.quarantined),
                    r.error,
                )
    return out
