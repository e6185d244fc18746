"""``dlrpoll reparse``: the parsers run again over quarantined raw items, streaming.

The way a parser fix or a profile change is applied to a backlog. Rows are read in keyset
pages (short read transactions) and stored in batches, each batch its own transaction: a
kill or a full disk keeps every batch committed before it, and a rerun does the rest (a
row that parses is no longer quarantined; a receipt stored twice is a duplicate). Memory
holds one batch, whatever the backlog. Progress is logged at INFO.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.counts import Counts
from dlrpoll.errors import PermanentSourceError
from dlrpoll.parsing import Parser, parser_for
from dlrpoll.poller import Clock, utcnow
from dlrpoll.rawitem import RawItem
from dlrpoll.sources import Source
from dlrpoll.store import ParsedRaw, Store

log = logging.getLogger(__name__)

#: Raw rows per transaction: big enough that commits cost little, small enough to keep
#: memory flat (a few MiB) and to lose little to a kill.
BATCH = 1000
#: A progress line every this many rows.
PROGRESS_EVERY = 50_000


def reparse(
    config: LoadedConfig,
    store: Store,
    source: str | None = None,
    *,
    clock: Clock = utcnow,
    batch: int = BATCH,
    progress_every: int = PROGRESS_EVERY,
    make: Callable[[SourceConfig], Source] | None = None,
) -> Mapping[str, Counts]:
    """Re-run the parsers over the quarantined raw items of ``source`` (default: every
    configured source) and store what now parses, a batch per transaction (idempotent).
    Returns per source: receipts stored and duplicates, and rows still quarantined.
    Raises :class:`~dlrpoll.errors.ConfigError` for an unknown source and
    :class:`~dlrpoll.errors.StoreError` when the database fails (committed batches stay).
    A quarantined container (a SOAP response whose content could not be accounted for) is
    split again with the source's current layout; its items are journaled and their
    receipts stored exactly once, and the container's quarantine is cleared, all in one
    transaction. A container that still cannot be split stays quarantined with its reason.
    Records of items left on the server are left alone: their fix lies with the source.
    ``make`` builds a configured source (default :func:`dlrpoll.sources.make_source`)."""
    from dlrpoll.sources import make_source

    out: dict[str, Counts] = {}
    sources = [config.settings.source(source)] if source else list(config.settings.sources)
    for cfg in sources:
        src = make(cfg) if make is not None else make_source(config, cfg)
        parser = parser_for(config, cfg)
        out[cfg.name] = _reparse_source(store, cfg, src, parser, clock, batch, progress_every)
    return out


def _reparse_source(
    store: Store,
    cfg: SourceConfig,
    src: Source,
    parser: Parser,
    clock: Callable[[], datetime],
    batch: int,
    progress_every: int,
) -> Counts:
    name, scope = cfg.name, cfg.scope
    total = Counts()
    pending: list[ParsedRaw] = []
    rows = 0
    started = time.monotonic()
    next_report = progress_every

    def flush() -> None:
        nonlocal total
        if pending:
            total += store.store_parsed(name, scope, pending, clock())
            pending.clear()

    for raw_id, _source, item in store.quarantined(name):
        # a record of an item left on the server (an oversize e-mail) is fixed at the
        # source (a larger max_size), not by a new profile
        if item.format in src.records:
            continue
        if item.format in src.containers:
            flush()
            total += _reopen(store, cfg, src, parser, raw_id, _clear(item), clock)
            rows += 1
            continue
        pending.append(parser.parse(raw_id, _clear(item)))
        rows += 1
        if len(pending) >= batch:
            flush()
        if rows >= next_report:
            next_report += progress_every
            log.info(
                "reparse %s: %d rows so far (%.0f/s): stored %d, duplicates %d, "
                "still quarantined %d",
                name,
                rows,
                rows / max(time.monotonic() - started, 1e-9),
                total.stored,
                total.duplicates,
                total.quarantined,
            )
    flush()
    log.info(
        "reparse %s: done, %d rows: stored %d, duplicates %d, still quarantined %d",
        name,
        rows,
        total.stored,
        total.duplicates,
        total.quarantined,
    )
    return total


def _reopen(
    store: Store,
    cfg: SourceConfig,
    source: Source,
    parser: Parser,
    raw_id: int,
    envelope: RawItem,
    clock: Callable[[], datetime],
) -> Counts:
    """Split a quarantined container again and store its items, clearing its quarantine,
    in one transaction; if it still cannot be split it stays quarantined."""
    try:
        items = source.split(envelope)
    except PermanentSourceError as exc:
        log.info("source %s: raw item %d is still quarantined: %s", cfg.name, raw_id, exc)
        return Counts(quarantined=1)
    parsed = [(item, parser.parse(0, item)) for item in items]
    new, done = store.journal_and_store(cfg.name, cfg.scope, parsed, clock(), done=[raw_id])
    log.info("source %s: raw item %d re-opened: %d item(s) journaled", cfg.name, raw_id, new)
    return done + Counts(fetched=new)


def _clear(item: RawItem) -> RawItem:
    return RawItem(item.remote_id, item.payload, item.format, None, item.sender, item.received_at)
