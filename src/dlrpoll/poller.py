"""One poll of one source, in the order that makes it crash-safe (see DESIGN.md).

1. claim the source      (refused inside the two-minute floor, or while another poller holds it)
2. fetch raw items       (the source's session, batch by batch)
3. journal them          (committed durably before anything destructive)
4. parse                 (pure; a bad item is quarantined with the reason)
5. store receipts        (dedupe, final-state rule)
6. acknowledge           (POP3 DELE, SOAP read flag: only for committed items)
7. record the poll run

A crash anywhere loses nothing: journaled items that were never parsed are completed at the
start of the next poll, and dedupe keeps a receipt from being stored twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from dlrpoll.config import LoadedConfig, SoapSourceConfig, SourceConfig
from dlrpoll.counts import Counts
from dlrpoll.errors import (
    DlrpollError,
    ParseError,
    PermanentSourceError,
    PossibleLossError,
    SourceError,
    StoreError,
)
from dlrpoll.rawitem import RawItem
from dlrpoll.receipts import Profile, build_profiles, parse_payload
from dlrpoll.receipts.safety import safe_receipts
from dlrpoll.sources import Batch, Source
from dlrpoll.store import JournalEntry, ParsedRaw, PollRun, Store, StoreCounts

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: Formats the poller never parses: containers whose items are journaled separately.
CONTAINER_FORMATS = frozenset({"soap-envelope"})
#: Formats ``reparse`` leaves alone: their reason lies with the source, not the parser.
UNREPARSEABLE_FORMATS = CONTAINER_FORMATS | {"email-headers"}


def utcnow() -> datetime:
    """The real clock; tests pass their own."""
    return datetime.now(UTC)


def default_owner() -> str:
    """Who holds a claim: host and pid, so an operator can tell pollers apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class PollResult:
    """What one poll did, as recorded in ``poll_runs``."""

    source: str
    outcome: str
    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    error: str | None = None

    def line(self) -> str:
        """One human line for logs and ``dlrpoll poll``."""
        if self.outcome == "skipped":
            return f"{self.source}: skipped ({self.error})"
        counts = (
            f"fetched {self.fetched}, stored {self.stored}, "
            f"duplicates {self.duplicates}, quarantined {self.quarantined}"
        )
        if self.outcome == "error":
            return f"{self.source}: error: {self.error} ({counts})"
        return f"{self.source}: ok ({counts})"


class _Tally:
    def __init__(self) -> None:
        self.fetched = 0
        self.stored = 0
        self.duplicates = 0
        self.quarantined = 0

    def add(self, counts: StoreCounts) -> None:
        self.stored += counts.stored
        self.duplicates += counts.duplicates
        self.quarantined += counts.quarantined


class Parser:
    """Parses journaled raw items with a source's profile and time zone."""

    def __init__(self, profile: Profile, tz: tzinfo) -> None:
        self.profile = profile
        self.tz = tz

    def parse(self, raw_id: int, item: RawItem) -> ParsedRaw:
        """Receipts from one raw item, or the reason it is quarantined. Never raises."""
        if item.parse_error is not None:
            return ParsedRaw(raw_id, (), item.parse_error)
        try:
            # safe_receipts: the last check before storing, whatever parser read the item
            receipts = parse_payload(item.payload, item.format, self.profile, self.tz)
            return ParsedRaw(raw_id, safe_receipts(receipts))
        except ParseError as exc:
            return ParsedRaw(raw_id, (), str(exc))


def parser_for(config: LoadedConfig, source: SourceConfig) -> Parser:
    """The parser a source's items are read with: its profile and time zone."""
    profiles = build_profiles(
        {name: p.model_dump() for name, p in config.settings.profiles.items()}
    )
    return Parser(profiles[source.profile], source.tz)


def _parseable(entries: Sequence[tuple[int, RawItem]], parser: Parser) -> list[ParsedRaw]:
    return [parser.parse(raw_id, item) for raw_id, item in entries]


def _store_items(
    store: Store,
    cfg: SourceConfig,
    parser: Parser,
    items: Sequence[RawItem],
    now: datetime,
    tally: _Tally,
) -> None:
    entries = store.journal(cfg.name, items, now) if items else []
    new = [(e.raw_id, e.item) for e in entries if e.new]
    tally.fetched += len(new)
    if new:
        tally.add(store.store_parsed(cfg.name, cfg.scope, _parseable(new, parser), now))


def _open_envelope(
    store: Store,
    cfg: SourceConfig,
    source: Source,
    parser: Parser,
    raw_id: int,
    envelope: RawItem,
    clock: Clock,
    tally: _Tally,
) -> None:
    """Split a committed envelope into its items, then journal them, store their receipts
    and mark the envelope done, all in one transaction. The envelope's bytes (every item)
    are durable already, so that transaction may commit with relaxed durability: if a power
    cut undoes it, the envelope is unprocessed again and the next poll repeats the work,
    which dedupe makes harmless."""
    try:
        items = source.split(envelope)
    except PermanentSourceError as exc:
        # only a verdict on the envelope itself quarantines it: a temporary failure (the
        # WSDL could not be fetched) leaves it unprocessed for the next poll
        store.quarantine(raw_id, str(exc))
        tally.quarantined += 1
        raise
    parsed = [(item, parser.parse(0, item)) for item in items]
    new, counts = store.journal_and_store(
        cfg.name, cfg.scope, parsed, clock(), done=[raw_id], durable=False
    )
    tally.fetched += new
    tally.add(counts)


def complete_unprocessed(
    store: Store, cfg: SourceConfig, source: Source, parser: Parser, clock: Clock, tally: _Tally
) -> None:
    """Finish what an earlier, interrupted poll journaled but never processed."""
    pending = list(store.unprocessed(cfg.name))
    if not pending:
        return
    log.info(
        "source %s: completing %d journaled item(s) from an interrupted poll",
        cfg.name,
        len(pending),
    )
    plain = [
        (raw_id, item) for raw_id, _src, item in pending if item.format not in CONTAINER_FORMATS
    ]
    if plain:
        tally.add(store.store_parsed(cfg.name, cfg.scope, _parseable(plain, parser), clock()))
    for raw_id, _src, item in pending:
        if item.format in CONTAINER_FORMATS:
            _open_envelope(store, cfg, source, parser, raw_id, item, clock, tally)


def _destructive(cfg: SourceConfig) -> bool:
    """Whether fetching from this source consumes what it fetches (the server forgets it)."""
    return isinstance(cfg, SoapSourceConfig) and cfg.mode == "destructive"


def _fetch_headroom(cfg: SourceConfig) -> int:
    """Free space to insist on before a destructive fetch: the largest response, once as
    the journaled envelope, once as its items, and once more for the WAL."""
    return 3 * cfg.max_response_size if isinstance(cfg, SoapSourceConfig) else 0


def _journal_envelope(
    store: Store, cfg: SourceConfig, source: Source, envelope: RawItem, clock: Clock
) -> list[JournalEntry]:
    """Journal an envelope; if that fails after a destructive fetch, the server has already
    forgotten its items, so they go to the log in full before the error is raised."""
    try:
        return store.journal(cfg.name, [envelope], clock())
    except StoreError as exc:
        if not _destructive(cfg):
            raise
        try:
            items = source.split(envelope)
        except SourceError:
            items = []
        for item in items:
            log.error(
                "source %s: UNJOURNALED receipt %s: %r",
                cfg.name,
                item.remote_id,
                item.payload.decode("utf-8", "replace"),
            )
        raise PossibleLossError(
            cfg.name,
            f"a response with {len(items)} message(s) was received, and the server has marked "
            f"them read, but it could not be journaled ({exc}); each one is in the log above "
            f"as 'UNJOURNALED receipt'; recover them from there",
        ) from exc


def _process_batch(
    store: Store,
    cfg: SourceConfig,
    source: Source,
    parser: Parser,
    batch: Batch,
    clock: Clock,
    tally: _Tally,
) -> None:
    if batch.envelope is not None:
        [entry] = _journal_envelope(store, cfg, source, batch.envelope, clock)
        if entry.new:
            _open_envelope(store, cfg, source, parser, entry.raw_id, batch.envelope, clock, tally)
    _store_items(store, cfg, parser, batch.items, clock(), tally)


def poll_source(
    config: LoadedConfig,
    cfg: SourceConfig,
    source: Source,
    store: Store,
    *,
    clock: Clock = utcnow,
    owner: str | None = None,
    parser: Parser | None = None,
    stop: threading.Event | None = None,
) -> PollResult:
    """Poll ``source`` once, if its claim is granted, and record the run. When ``stop`` is
    set (daemon shutdown), the poll ends after the batch it is on has been acknowledged."""
    owner = owner or default_owner()
    started = clock()
    ttl = claim_ttl(cfg)
    if not store.claim(cfg.name, now=started, interval=cfg.interval, ttl=ttl, owner=owner):
        reason = "not due: polled less than its interval ago, or another poller holds it"
        log.info("source %s: skipped, %s", cfg.name, reason)
        result = PollResult(cfg.name, "skipped", error=reason)
        store.record_poll(PollRun(cfg.name, started, clock(), "skipped", error=reason))
        return result
    tally = _Tally()
    error: str | None = None
    try:
        parser = parser or parser_for(config, cfg)
        complete_unprocessed(store, cfg, source, parser, clock, tally)
        headroom = _fetch_headroom(cfg) if _destructive(cfg) else 0
        with source.open() as session:
            batches = iter(session.batches(lambda ids: store.known_remote_ids(cfg.name, ids)))
            while True:
                if headroom:
                    # the next fetch cannot be undone: refuse it while it could not be kept
                    store.ensure_free_space(headroom, f"a destructive call on source {cfg.name!r}")
                batch = next(batches, None)
                if batch is None:
                    break
                _process_batch(store, cfg, source, parser, batch, clock, tally)
                session.acknowledge(batch)
                if stop is not None and stop.is_set():
                    # a safe point: everything fetched so far is committed and acknowledged
                    log.info("source %s: stopping after this batch (shutdown)", cfg.name)
                    break
                if (clock() - started).total_seconds() > ttl:
                    # the claim has expired: past here another poller may take the source
                    # over. A slow link (latency or a trickle under the read timeout, on
                    # every call) would otherwise stretch a big backlog without bound.
                    log.warning(
                        "source %s: stopping after this batch: the poll has outlived its "
                        "claim (%gs); the rest waits for the next poll",
                        cfg.name,
                        ttl,
                    )
                    break
    except DlrpollError as exc:
        error = str(exc)
        log.error("source %s: poll failed: %s", cfg.name, error)
    except Exception as exc:
        # a bug of ours: record the poll as failed (never "ok"), then let it surface
        error = f"internal error: {type(exc).__name__}: {exc}; please report this"
        log.exception("source %s: poll failed with an internal error", cfg.name)
        raise
    finally:
        outcome = "error" if error else "ok"
        result = PollResult(
            cfg.name,
            outcome,
            tally.fetched,
            tally.stored,
            tally.duplicates,
            tally.quarantined,
            error,
        )
        try:
            store.record_poll(
                PollRun(
                    cfg.name,
                    started,
                    clock(),
                    outcome,
                    Counts(tally.fetched, tally.stored, tally.duplicates, tally.quarantined),
                    error,
                )
            )
        except StoreError as exc:
            log.error("source %s: could not record the poll run: %s", cfg.name, exc)
        try:
            store.release(cfg.name, owner)
        except StoreError as exc:
            # a full disk or a locked database must not turn a recorded error into a crash;
            # the claim expires by itself after claim_ttl
            log.error("source %s: could not release the claim: %s", cfg.name, exc)
    log.info("poll %s", result.line())
    return result


def claim_ttl(cfg: SourceConfig) -> float:
    """How long a claim lives: long enough for the slowest poll, short enough that a killed
    poller does not block its source for long."""
    return max(cfg.interval, 10 * cfg.timeout * (cfg.retries + 1))
