"""One poll of one source, in the order that makes it crash-safe (DESIGN.md).

:class:`Poll` has one method per step; :meth:`Poll.run` reads top to bottom as the list:

1. lease the source      :meth:`Poll.lease`       (refused inside the floor or while held)
2. fetch raw items       :meth:`Poll.fetch`       (the source's session, batch by batch)
3. journal them          :meth:`Poll.journal`     (committed durably before anything else)
4. parse                 :meth:`Poll.parse`       (pure; a bad item is quarantined)
5. store receipts        :meth:`Poll.store`       (dedupe, final-state rule)
6. acknowledge           :meth:`Poll.acknowledge` (only items committed whole in step 3)
7. record the poll run   :meth:`Poll.record`

A crash anywhere loses nothing: journaled items that were never parsed are completed at the
start of the next poll (:meth:`Poll.complete_unprocessed`), and dedupe keeps a receipt from
being stored twice. The poller knows no source kind: what differs between kinds (whether a
fetch consumes, the room it needs, which formats are containers or records) is declared by
the source (:class:`dlrpoll.sources.base.Source`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.counts import Counts, Outcome
from dlrpoll.errors import (
    DlrpollError,
    PermanentSourceError,
    PossibleLossError,
    ShutdownRequested,
    SourceError,
    StoreError,
)
from dlrpoll.heartbeat import Heartbeat
from dlrpoll.owner import Owner
from dlrpoll.parsing import Parser, in_source_terms, parser_for
from dlrpoll.rawitem import RawItem
from dlrpoll.results import PollResult, log_result, result_log
from dlrpoll.sources import Batch, Session, Source
from dlrpoll.store import JournalEntry, ParsedRaw, PollRun, Store

__all__ = [
    "Clock",
    "Parser",
    "Poll",
    "PollResult",
    "claim_ttl",
    "default_owner",
    "in_source_terms",
    "log_result",
    "parser_for",
    "poll_source",
    "result_log",
    "utcnow",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

#: A long poll logs its progress at INFO every this many new raw items ...
PROGRESS_ITEMS = 500
#: ... or every this many seconds, whichever comes first.
PROGRESS_SECONDS = 10.0


def utcnow() -> datetime:
    """The real clock; tests pass their own."""
    return datetime.now(UTC)


def default_owner() -> Owner:
    """Who holds a lease: this process (host, pid, start time; see :mod:`dlrpoll.owner`)."""
    return Owner.this_process()


def claim_ttl(cfg: SourceConfig) -> float:
    """How long one poll may go on: long enough for the slowest poll; past it the poll stops
    at its next safe point, so a slow link cannot stretch a backlog without bound."""
    return max(cfg.interval, 10 * cfg.timeout * (cfg.retries + 1))


def lease_ttl(config: LoadedConfig, cfg: SourceConfig) -> float:
    """The source's lease TTL: its own ``lease_ttl``, else ``[database] lease_ttl``."""
    return cfg.lease_ttl if cfg.lease_ttl is not None else config.settings.database.lease_ttl


class Poll:
    """One poll of one source. Make it, then call :meth:`run` once."""

    def __init__(
        self,
        config: LoadedConfig,
        cfg: SourceConfig,
        source: Source,
        store: Store,
        *,
        clock: Clock = utcnow,
        owner: Owner | str | None = None,
        parser: Parser | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.cfg = cfg
        self.name = cfg.name
        self.source = source
        self.db = store
        self.clock = clock
        self.owner = Owner.of(owner)
        self._parser = parser
        self.stop = stop
        self.ttl = claim_ttl(cfg)
        self.lease_ttl = lease_ttl(config, cfg)
        self.heartbeat: Heartbeat | None = None
        self.refusal: str | None = None
        self.next_allowed: datetime | None = None
        self.started = clock()
        self.counts = Counts()
        self.held: list[str] = []
        self.error: str | None = None
        self.interrupted = False
        self._progress_items = 0
        self._progress_at = self.started

    @property
    def parser(self) -> Parser:
        if self._parser is None:
            self._parser = parser_for(self.config, self.cfg)
        return self._parser

    def run(self) -> PollResult:
        """The seven steps, in order; every way out records the run."""
        if not self.lease():
            return self.skipped()
        try:
            self.complete_unprocessed()
            with self.source.open() as session:
                for batch in self.fetch(session):
                    self.journal_parse_store(batch)
                    self.acknowledge(session, batch)
                    if self.at_safe_point_must_stop():
                        break
        except ShutdownRequested:
            # asked to stop while waiting to retry: nothing was half done
            self.interrupted = True
        except DlrpollError as exc:
            # logged once, with the result, by record()
            self.error = str(exc)
        except Exception as exc:
            # a bug of ours: record the poll as failed (never "ok"), then let it surface
            self.error = f"internal error: {type(exc).__name__}: {exc}; please report this"
            log.exception("source %s: poll failed with an internal error", self.name)
            raise
        finally:
            result = self.record()
        return result

    # -- 1. lease -------------------------------------------------------------------------
    def lease(self) -> bool:
        """Take the source's lease, and keep it alive with a heartbeat while the poll runs:
        refused inside its interval since the last poll's start, or while another poller
        holds it."""
        heartbeat = Heartbeat(self.name, self._renew, self.lease_ttl)  # valid from before
        claim = self.db.claim(
            self.name,
            now=self.started,
            interval=self.cfg.interval,
            ttl=self.lease_ttl,
            owner=self.owner,
        )
        if not claim:
            self.refusal = claim.reason
            self.next_allowed = claim.next_allowed
            return False
        self.heartbeat = heartbeat
        heartbeat.start()
        return True

    def _renew(self) -> bool:
        return self.db.renew(self.name, self.owner, now=self.clock(), ttl=self.lease_ttl)

    def skipped(self) -> PollResult:
        """A refused lease: no ``poll_runs`` row (the refusal is counted in
        ``source_state.skipped``), and a line saying why and when the source is next allowed."""
        reason = self.refusal or "not due"
        result = PollResult(
            self.name, Outcome.SKIPPED, error=reason, next_allowed=self.next_allowed
        )
        log_result(result)
        return result

    # -- 2. fetch -------------------------------------------------------------------------
    def fetch(self, session: Session) -> Iterator[Batch]:
        """The session's batches. Before each fetch that consumes (the server forgets what it
        answers), insist on room to journal the answer: such a fetch cannot be undone."""
        batches = iter(session.batches(lambda ids: self.db.known_remote_ids(self.name, ids)))
        while True:
            if self.source.consumes and self.source.fetch_headroom:
                self.db.ensure_free_space(
                    self.source.fetch_headroom, f"a destructive call on source {self.name!r}"
                )
            batch = next(batches, None)
            if batch is None:
                return
            yield batch

    # -- 3, 4, 5. journal, parse, store ---------------------------------------------------
    def journal_parse_store(self, batch: Batch) -> None:
        """Steps 3–5 for one batch. A container (an envelope) is journaled whole and
        committed first; its items are then split, parsed, journaled and stored together."""
        self.held.extend(batch.held)
        if batch.envelope is not None:
            [entry] = self.journal_envelope(batch.envelope)
            # opened even when its bytes were journaled before: that copy may be quarantined
            # (a layout fixed since), and this batch is acknowledged next; items already
            # journaled are not stored twice
            self.open_envelope(entry.raw_id, batch.envelope)
        if batch.items:
            entries = self.journal(batch.items)
            new = [(e.raw_id, e.item) for e in entries if e.new]
            if new:
                self.store(self.parse(new), fetched=len(new))
        self.progress()

    def progress(self) -> None:
        """Log how far a long poll has come: every :data:`PROGRESS_ITEMS` new items or
        :data:`PROGRESS_SECONDS` seconds, whichever comes first."""
        now = self.clock()
        items = self.counts.fetched
        if (
            items - self._progress_items >= PROGRESS_ITEMS
            or (now - self._progress_at).total_seconds() >= PROGRESS_SECONDS
        ):
            self._progress_items, self._progress_at = items, now
            log.info(
                "source %s: in progress, %.0f s: %s",
                self.name,
                (now - self.started).total_seconds(),
                self.counts.text(),
            )

    def journal(self, items: Sequence[RawItem]) -> list[JournalEntry]:
        """Step 3: commit raw items to the journal (durably) before anything else."""
        return list(self.db.journal(self.name, items, self.clock()))

    def parse(self, entries: Sequence[tuple[int, RawItem]]) -> list[ParsedRaw]:
        """Step 4: receipts, or the reason each item is quarantined. Pure."""
        return self.parser.parse_all(entries)

    def store(self, parsed: Sequence[ParsedRaw], *, fetched: int = 0) -> None:
        """Step 5: store receipts (dedupe, final-state rule); mark raw rows done."""
        done = self.db.store_parsed(self.name, self.cfg.scope, parsed, self.clock())
        self.counts += done + Counts(fetched=fetched)

    def journal_envelope(self, envelope: RawItem) -> list[JournalEntry]:
        """Journal a container; if that fails after a consuming fetch, the server has already
        forgotten its items, so they go to the log in full before the error is raised."""
        try:
            return self.journal([envelope])
        except StoreError as exc:
            if not self.source.consumes:
                raise
            try:
                items = self.source.split(envelope)
            except SourceError:
                items = []
            for item in items:
                log.error(
                    "source %s: UNJOURNALED receipt %s: %r",
                    self.name,
                    item.remote_id,
                    item.payload.decode("utf-8", "replace"),
                )
            raise PossibleLossError(
                self.name,
                f"a response with {len(items)} message(s) was received, and the server has "
                f"marked them read, but it could not be journaled ({exc}); each one is in the "
                f"log above as 'UNJOURNALED receipt'; recover them from there",
            ) from exc

    def open_envelope(self, raw_id: int, envelope: RawItem) -> None:
        """Split a committed envelope into its items, then journal them, store their receipts
        and mark the envelope done, all in one transaction. The envelope's bytes (every item)
        are durable already, so that transaction may commit with relaxed durability: if a
        power cut undoes it, the envelope is unprocessed again and the next poll repeats the
        work, which dedupe makes harmless."""
        try:
            items = self.source.split(envelope)
        except PermanentSourceError as exc:
            # only a verdict on the envelope itself quarantines it: a temporary failure (the
            # WSDL could not be fetched) leaves it unprocessed for the next poll
            self.db.quarantine(raw_id, str(exc))
            self.counts += Counts(quarantined=1)
            raise
        parsed = [(item, self.parser.parse(0, item)) for item in items]
        new, done = self.db.journal_and_store(
            self.name, self.cfg.scope, parsed, self.clock(), done=[raw_id], durable=False
        )
        self.counts += done + Counts(fetched=new)

    def complete_unprocessed(self) -> None:
        """Finish what an earlier, interrupted poll journaled but never processed."""
        pending = list(self.db.unprocessed(self.name))
        if not pending:
            return
        log.info(
            "source %s: completing %d journaled item(s) from an interrupted poll",
            self.name,
            len(pending),
        )
        containers = self.source.containers
        plain = [(raw_id, item) for raw_id, _s, item in pending if item.format not in containers]
        if plain:
            self.store(self.parse(plain))
        for raw_id, _s, item in pending:
            if item.format in containers:
                self.open_envelope(raw_id, item)

    # -- 6. acknowledge -------------------------------------------------------------------
    def acknowledge(self, session: Session, batch: Batch) -> None:
        """Step 6: only now may the server forget the batch (DELE, read flag)."""
        session.acknowledge(batch)

    def at_safe_point_must_stop(self) -> bool:
        """Whether to end the poll here, where everything fetched so far is committed and
        acknowledged: on shutdown, or when the poll has outlived its claim."""
        if self.stop is not None and self.stop.is_set():
            log.info("source %s: stopping after this batch (shutdown)", self.name)
            self.interrupted = True
            return True
        lost = self.heartbeat.lost if self.heartbeat is not None else None
        if lost is not None:
            # past here another poller may hold the source: stop before fetching more
            log.warning("source %s: stopping after this batch: %s", self.name, lost)
            return True
        if (self.clock() - self.started).total_seconds() > self.ttl:
            # a slow link (latency or a trickle under the read timeout, on every call) would
            # otherwise stretch a big backlog without bound
            log.warning(
                "source %s: stopping after this batch: the poll has run for longer than "
                "%gs; the rest waits for the next poll",
                self.name,
                self.ttl,
            )
            return True
        return False

    # -- 7. record ------------------------------------------------------------------------
    def outcome(self) -> Outcome:
        if self.error:
            return Outcome.ERROR
        if self.interrupted:
            return Outcome.INTERRUPTED
        if self.held:
            return Outcome.PARTIAL
        return Outcome.OK

    def record(self) -> PollResult:
        """Step 7: record the run in ``poll_runs`` and release the claim."""
        outcome = self.outcome()
        error = self.error
        if outcome == Outcome.PARTIAL:
            error = f"{len(self.held)} item(s) left on the server: " + "; ".join(self.held[:5])
        elif outcome == Outcome.INTERRUPTED:
            error = "stopped by a signal at a safe point; the rest waits for the next poll"
        result = PollResult(self.name, outcome, self.counts, error, tuple(self.held))
        run = PollRun(self.name, self.started, self.clock(), outcome, self.counts, error)
        try:
            self.db.record_poll(run)
        except StoreError as exc:
            log.error("source %s: could not record the poll run: %s", self.name, exc)
        if self.heartbeat is not None:
            self.heartbeat.stop()
        try:
            self.db.release(self.name, self.owner)
        except StoreError as exc:
            # a full disk or a locked database must not turn a recorded error into a crash;
            # the lease runs out by itself lease_ttl after its last renewal
            log.error("source %s: could not release the lease: %s", self.name, exc)
        log_result(result)
        if self.counts.quarantined:
            log.warning(
                "source %s: %d raw item(s) quarantined: they are kept with the reason; see "
                "`dlrpoll quarantine`, fix the profile and `dlrpoll reparse`, or dismiss them",
                self.name,
                self.counts.quarantined,
            )
        return result


def poll_source(
    config: LoadedConfig,
    cfg: SourceConfig,
    source: Source,
    store: Store,
    *,
    clock: Clock = utcnow,
    owner: Owner | str | None = None,
    parser: Parser | None = None,
    stop: threading.Event | None = None,
) -> PollResult:
    """Poll ``source`` once, if its claim is granted, and record the run. When ``stop`` is
    set (daemon shutdown), the poll ends after the batch it is on has been acknowledged."""
    poll = Poll(config, cfg, source, store, clock=clock, owner=owner, parser=parser, stop=stop)
    return poll.run()
