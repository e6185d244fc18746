"""``dlrpoll reparse``: the parsers again over quarantined raw items."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.counts import Counts
from dlrpoll.parsing import parser_for
from dlrpoll.poller import Clock, _counts, utcnow
from dlrpoll.rawitem import RawItem
from dlrpoll.sources import Source
from dlrpoll.store import Store


def reparse(
    config: LoadedConfig,
    store: Store,
    source: str | None = None,
    *,
    clock: Clock = utcnow,
    make: Callable[[SourceConfig], Source] | None = None,
) -> Mapping[str, Counts]:
    """Re-run the parsers over quarantined raw items; store what now parses (idempotent).
    Records of items left on the server and containers are left alone: their reason lies
    with the source, not the parser. ``make`` builds a configured source (default
    :func:`dlrpoll.sources.make_source`)."""
    from dlrpoll.sources import make_source

    out: dict[str, Counts] = {}
    sources = [config.settings.source(source)] if source else list(config.settings.sources)
    for cfg in sources:
        src = make(cfg) if make is not None else make_source(config, cfg)
        skip = src.records | src.containers
        parser = parser_for(config, cfg)
        rows = [(r, _clear(i)) for r, _s, i in store.quarantined(cfg.name) if i.format not in skip]
        results = parser.parse_all(rows)
        out[cfg.name] = (
            _counts(store.store_parsed(cfg.name, cfg.scope, results, clock()))
            if results
            else Counts()
        )
    return out


def _clear(item: RawItem) -> RawItem:
    return RawItem(item.remote_id, item.payload, item.format, None, item.sender, item.received_at)
