"""The store's public face: the operations the poller, the CLI and reports need."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from dlrpoll.rawitem import RawItem
from dlrpoll.receipts.model import Receipt


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """A raw item as journaled: its row id, and whether this call inserted it."""

    raw_id: int
    item: RawItem
    new: bool


@dataclass(frozen=True, slots=True)
class ParsedRaw:
    """The outcome of parsing one journaled raw item: receipts, or the reason it failed."""

    raw_id: int
    receipts: Sequence[Receipt]
    error: str | None = None


@dataclass(frozen=True, slots=True)
class StoreCounts:
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0


@dataclass(frozen=True, slots=True)
class PollRun:
    source: str
    started_at: datetime
    finished_at: datetime
    outcome: str  # "ok" | "error" | "skipped"
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    error: str | None = None


class Store:
    """Open (and migrate) the database at ``url``. See the README's schema section."""

    def __init__(self, url: str, *, busy_timeout: float = 30.0) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- journal ---------------------------------------------------------------------------
    def journal(self, source: str, items: Sequence[RawItem], now: datetime) -> list[JournalEntry]:
        """Insert raw items and commit durably before returning. Items already journaled
        (same source and remote id, or same sha256 when there is no remote id) are returned
        with ``new=False`` and their existing row id."""
        raise NotImplementedError

    def known_remote_ids(self, source: str, remote_ids: Sequence[str]) -> set[str]:
        """Which of ``remote_ids`` are already journaled for ``source``."""
        raise NotImplementedError

    def quarantine(self, raw_id: int, reason: str) -> None:
        """Record why a journaled raw item cannot be parsed."""
        raise NotImplementedError

    def unprocessed(self, source: str | None = None) -> Iterator[tuple[int, str, RawItem]]:
        """Journaled rows neither parsed nor quarantined yet (a crash came between journal
        and store): ``(raw_id, source, item)``."""
        raise NotImplementedError

    def quarantined(self, source: str | None = None) -> Iterator[tuple[int, str, RawItem]]:
        """Quarantined rows, for ``reparse``."""
        raise NotImplementedError

    # -- receipts --------------------------------------------------------------------------
    def store_parsed(
        self, source: str, scope: str, results: Sequence[ParsedRaw], now: datetime
    ) -> StoreCounts:
        """Store receipts (dedupe by scope, message id, state, done_at, error code) and mark
        each raw row parsed or quarantined, in one transaction."""
        raise NotImplementedError

    # -- scheduling ------------------------------------------------------------------------
    def claim(self, source: str, *, now: datetime, interval: float, ttl: float, owner: str) -> bool:
        """Atomically claim ``source`` for a poll starting ``now``. Refused when its last poll
        started less than ``interval`` seconds ago or another live claim holds it; a claim
        older than ``ttl`` seconds has expired."""
        raise NotImplementedError

    def release(self, source: str, owner: str) -> None:
        raise NotImplementedError

    def record_poll(self, run: PollRun) -> None:
        raise NotImplementedError

    def last_polls(self, sources: Iterable[str]) -> dict[str, PollRun]:
        raise NotImplementedError
