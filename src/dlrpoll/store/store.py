"""The store's public face: the operations the poller, the CLI and reports need.

:class:`Store` is a facade over one module per table and job: the journal
(:mod:`~dlrpoll.store.journal`), receipts (:mod:`~dlrpoll.store.receipts`), claims
(:mod:`~dlrpoll.store.claims`), poll runs (:mod:`~dlrpoll.store.pollruns`), export
(:mod:`~dlrpoll.store.export`); the plumbing (engine, error edge, transactions) is
:class:`~dlrpoll.store.database.Database`, the SQLite fast path :mod:`~dlrpoll.store.bulk`.
Dedupe is done by UNIQUE indexes and ``INSERT … ON CONFLICT DO NOTHING``, never by looking
first. The hot path (journal, store_parsed) runs statements compiled once, with tuples: on
SQLite as driver SQL on the driver's connection (:mod:`~dlrpoll.store.bulk`), elsewhere as
Core executemany; no ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from dlrpoll.counts import Counts
from dlrpoll.owner import Owner
from dlrpoll.rawitem import RawItem
from dlrpoll.store import claims, export, pollruns
from dlrpoll.store.bulk import runs
from dlrpoll.store.claims import Claim, Lease
from dlrpoll.store.database import Database
from dlrpoll.store.export import ExportKind, export_columns
from dlrpoll.store.journal import ERROR_AT, Journal, JournalEntry, RawKey, raw_row
from dlrpoll.store.pollruns import PollRun
from dlrpoll.store.receipts import (
    RECEIPT_COLS,
    ParsedRaw,
    Receipts,
    receipt_row,
    receipt_rows,
)
from dlrpoll.store.tables import raw_messages
from dlrpoll.timestamps import to_text, to_text_or_none

#: What one ``store_parsed`` call did (``fetched`` stays 0): the one counts type.
StoreCounts = Counts

__all__ = [
    "RECEIPT_COLS",
    "Claim",
    "ExportKind",
    "JournalEntry",
    "Lease",
    "ParsedRaw",
    "PollRun",
    "Store",
    "StoreCounts",
    "export_columns",
    "receipt_row",
]


class Store(Database):
    """Open (and migrate) the database at ``url``. See the README's schema section.

    ``url`` is any SQLAlchemy URL; ``sqlite:///path`` is the default and the tested one.
    ``busy_timeout`` is how long a write waits for another process's write lock before it
    fails with :class:`~dlrpoll.errors.StoreError`. Safe to share between threads. Every
    method raises :class:`~dlrpoll.errors.StoreError` (or its subclasses) for database
    failures, and nothing else from the database.
    """

    def _prepare(self) -> None:
        # statements built once; on SQLite the hot ones run as driver SQL (see bulk.py)
        self._journal = Journal(self)
        self._receipts = Receipts(self)

    # -- journal ---------------------------------------------------------------------------
    def journal(self, source: str, items: Sequence[RawItem], now: datetime) -> list[JournalEntry]:
        """Insert raw items and commit durably before returning. Items already journaled
        (same source and remote id, or same sha256 when there is no remote id) are returned
        with ``new=False`` and their existing row id. An item the source marked with a
        ``parse_error`` is journaled quarantined."""
        if not items:
            return []
        fetched = to_text(now)
        rows: list[tuple[Any, ...]] = []
        keys: list[RawKey] = []
        for item in items:
            key, row = raw_row(source, item, fetched, item.parse_error)
            keys.append(key)
            rows.append(row)
        with self.write() as conn:
            ids = self._journal.insert(conn, source, rows, keys, done=False)
        return [
            JournalEntry(raw_id, item, new) for item, (raw_id, new) in zip(items, ids, strict=True)
        ]

    def journal_and_store(
        self,
        source: str,
        scope: str,
        parsed: Sequence[tuple[RawItem, ParsedRaw]],
        now: datetime,
        *,
        done: Sequence[int] = (),
        durable: bool = True,
    ) -> tuple[int, StoreCounts]:
        """Journal raw items that were parsed already and store their receipts, in one
        transaction: each ``(item, result)`` pairs a raw item with its parse outcome (the
        result's ``raw_id`` is ignored; the row gets its id here). Items already journaled
        are left alone, receipts and all, as :meth:`journal` would report them not new.
        ``done`` names journaled rows (a container whose items these are) to mark processed
        in the same transaction. Returns how many items were new, and the receipt counts.

        ``durable=False`` commits with SQLite's ``synchronous=NORMAL``: only for items whose
        bytes are already durable in the journal (inside a container row committed before),
        so that a power cut that rolls this back leaves the container unprocessed for the
        next poll to split again."""
        if not parsed and not done:
            return 0, StoreCounts()
        at = to_text(now)
        rows: list[tuple[Any, ...]] = []
        keys: list[RawKey] = []
        for item, result in parsed:
            error = item.parse_error if item.parse_error is not None else result.error
            key, row = raw_row(source, item, at, error)
            keys.append(key)
            rows.append((*row, None if error is not None else len(result.receipts), at))
        with self.write(durable=durable) as conn:
            ids = self._journal.insert(conn, source, rows, keys, done=True) if rows else []
            receipt_rows_: list[tuple[Any, ...]] = []
            new = quarantined = 0
            for (raw_id, is_new), row, (_item, result) in zip(ids, rows, parsed, strict=True):
                if not is_new:
                    continue
                new += 1
                if row[ERROR_AT] is not None:
                    quarantined += 1
                    continue
                receipt_rows_.extend(receipt_rows(raw_id, source, scope, result.receipts, at))
            stored = self._receipts.insert(conn, receipt_rows_)
            if done:
                marks = {raw_id: 0 for raw_id in done}
                self._journal.mark_runs.run(conn, [(n, at, lo, hi) for lo, hi, n in runs(marks)])
        return new, StoreCounts(0, stored, len(receipt_rows_) - stored, quarantined)

    def known_remote_ids(self, source: str, remote_ids: Sequence[str]) -> set[str]:
        """Which of ``remote_ids`` are already journaled for ``source``."""
        return self._journal.known_remote_ids(source, remote_ids)

    def quarantine(self, raw_id: int, reason: str, *, now: datetime | None = None) -> None:
        """Record why a journaled raw item cannot be parsed."""
        with self.write() as conn:
            self._journal.mark_parsed.run(conn, [(None, reason, to_text_or_none(now), raw_id)])

    def unprocessed(self, source: str | None = None) -> Iterator[tuple[int, str, RawItem]]:
        """Journaled rows neither parsed nor quarantined yet (a crash came between journal
        and store): ``(raw_id, source, item)``, oldest first."""
        rm = raw_messages
        return self._journal.items(rm.c.receipts.is_(None) & rm.c.parse_error.is_(None), source)

    def quarantined(self, source: str | None = None) -> Iterator[tuple[int, str, RawItem]]:
        """Quarantined rows no operator dismissed, for ``reparse``; each item carries its
        ``parse_error``."""
        rm = raw_messages
        return self._journal.items(
            rm.c.parse_error.is_not(None) & rm.c.dismissed_at.is_(None), source
        )

    # -- receipts --------------------------------------------------------------------------
    def store_parsed(
        self, source: str, scope: str, results: Sequence[ParsedRaw], now: datetime
    ) -> StoreCounts:
        """Store receipts (dedupe by scope, message id, state, done_at, error code) and mark
        each raw row parsed (its receipt count) or quarantined (its error), in one
        transaction."""
        if not results:
            return StoreCounts()
        at = to_text(now)
        rows: list[tuple[Any, ...]] = []
        add, row = rows.append, receipt_row  # the hot loop: a receipt or two per result
        counts: dict[int, int] = {}
        failures: list[tuple[Any, ...]] = []
        for result in results:
            raw_id, found = result.raw_id, result.receipts
            if result.error is not None:
                failures.append((None, result.error, at, raw_id))
                counts.pop(raw_id, None)
                continue
            counts[raw_id] = len(found)
            for r in found:
                add(row(raw_id, source, scope, r, at))
        with self.write(durable=False) as conn:
            stored = self._receipts.insert(conn, rows)
            if counts:
                self._journal.mark_runs.run(conn, [(n, at, lo, hi) for lo, hi, n in runs(counts)])
            if failures:
                self._journal.mark_parsed.run(conn, failures)
        return StoreCounts(0, stored, len(rows) - stored, len(failures))

    # -- scheduling ------------------------------------------------------------------------
    def claim(
        self, source: str, *, now: datetime, interval: float, ttl: float, owner: Owner | str
    ) -> Claim:
        """Take ``source``'s lease for a poll starting ``now`` (``ttl`` seconds, renewed by
        :meth:`renew`). Refused (a false :class:`~dlrpoll.store.claims.Claim` with the reason
        and the next allowed time) inside the floor of ``interval`` seconds since the last
        poll's start, or while another live lease holds it. ``owner`` as a string is a
        label, never taken for a dead process."""
        return claims.claim(
            self, source, now=now, interval=interval, ttl=ttl, owner=Owner.of(owner)
        )

    def renew(self, source: str, owner: Owner | str, *, now: datetime, ttl: float) -> bool:
        """Push ``owner``'s lease to ``ttl`` seconds after ``now``; False when it lost it."""
        return claims.renew(self, source, Owner.of(owner), now=now, ttl=ttl)

    def release(self, source: str, owner: Owner | str) -> None:
        """End ``owner``'s lease on ``source``; a lease someone else took over is left alone."""
        claims.release(self, source, Owner.of(owner))

    def leases(self, sources: Iterable[str] | None = None) -> dict[str, Lease]:
        """Each source's floor, lease and refused attempts (``source_state``)."""
        return claims.leases(self, sources)

    def clear_lease(self, source: str, holder: Owner) -> bool:
        """Clear ``holder``'s lease on ``source``; False when it is no longer there."""
        return claims.clear(self, source, holder)

    def record_poll(self, run: PollRun) -> None:
        """Add one row to ``poll_runs``."""
        pollruns.record_poll(self, run)

    def last_polls(
        self, sources: Iterable[str], *, include_skipped: bool = True
    ) -> dict[str, PollRun]:
        """The latest recorded poll of each of ``sources`` that has one."""
        return pollruns.last_polls(self, sources, include_skipped=include_skipped)

    # -- export ----------------------------------------------------------------------------
    def export_rows(
        self,
        what: ExportKind = "receipts",
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
        scope: str | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Stream ``receipts`` or ``message_status`` rows from one consistent snapshot; see
        :func:`~dlrpoll.store.export.export_rows`."""
        return export.export_rows(self, what, since=since, until=until, source=source, scope=scope)
