"""``[retention]`` applied: by ``dlrpoll prune [--dry-run]`` and once a day by the daemon."""

from __future__ import annotations

import logging
from datetime import datetime

from dlrpoll.config import LoadedConfig
from dlrpoll.store import Store
from dlrpoll.store.opening import open_store
from dlrpoll.store.retention import Pruned, prune

log = logging.getLogger(__name__)

__all__ = ["Pruned", "apply", "describe", "prune_now"]


def apply(config: LoadedConfig, store: Store, now: datetime, *, dry_run: bool = False) -> Pruned:
    """Prune ``store`` as the config's ``[retention]`` says."""
    keep = config.settings.retention
    return prune(
        store,
        now,
        raw_payloads=keep.raw_payloads,
        poll_runs_age=keep.poll_runs,
        skipped_age=keep.skipped_polls,
        dry_run=dry_run,
    )


def prune_now(config: LoadedConfig, now: datetime, *, dry_run: bool = False) -> Pruned:
    """:func:`apply` on the configured database, opened and closed here."""
    with open_store(config) as store:
        return apply(config, store, now, dry_run=dry_run)


def describe(pruned: Pruned) -> str:
    """``payloads of 12 raw items (3.2 MiB), 40 poll runs, 1,200 skipped polls``."""
    mib = pruned.payload_bytes / 2**20
    return (
        f"payloads of {pruned.payloads} raw item(s) ({mib:.1f} MiB), "
        f"{pruned.poll_runs} poll run(s), {pruned.skipped_polls} skipped poll(s)"
    )


def daily(config: LoadedConfig, store: Store, now: datetime) -> None:
    """The daemon's daily run: prune, log what went; a failure is logged, never raised."""
    from dlrpoll.errors import DlrpollError

    try:
        pruned = apply(config, store, now)
    except DlrpollError as exc:
        log.error("retention: pruning failed: %s", exc)
        return
    log.info("retention: pruned %s", describe(pruned))
