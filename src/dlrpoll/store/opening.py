"""The configured database, opened: the one place that turns a loaded config into a
:class:`~dlrpoll.store.Store`."""

from __future__ import annotations

from dlrpoll.config import LoadedConfig
from dlrpoll.store.store import Store


def open_store(config: LoadedConfig, *, read_only: bool = False) -> Store:
    """The store at ``[database]``: created or migrated when needed, or, ``read_only``,
    opened for reading only (never created, migrated or written)."""
    return Store(
        config.database_url,
        busy_timeout=config.settings.database.busy_timeout,
        readonly=read_only,
    )
