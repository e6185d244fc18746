"""Options for the commands that only read the database (``snapshot``, ``report``): the
database from ``--database``, or from the configuration without resolving its secrets, so
a reporting user with read access to the file alone can run them."""

from __future__ import annotations

import argparse
from pathlib import Path

from dlrpoll.config import load_config
from dlrpoll.store.database import Database


def open_readonly(args: argparse.Namespace) -> Database:
    """The database named by ``--database`` or the config, opened read-only."""
    if args.database:
        url = args.database if "://" in args.database else f"sqlite:///{Path(args.database)}"
        return Database(url, readonly=True)
    config = load_config(args.config, resolve_secrets=False)
    return Database(
        config.database_url, busy_timeout=config.settings.database.busy_timeout, readonly=True
    )
