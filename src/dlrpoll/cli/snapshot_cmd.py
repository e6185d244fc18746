"""``dlrpoll snapshot PATH``: a consistent copy of the database, safe while the poller writes."""

from __future__ import annotations

import argparse
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll snapshot /srv/reports/dlrpoll.sqlite --force      # e.g. from cron, hourly
  dlrpoll snapshot copy.sqlite --database /var/lib/dlrpoll/dlrpoll.sqlite
  datasette -i /srv/reports/dlrpoll.sqlite --metadata datasette.json

Copies the database into one SQLite file in a single read transaction (SQLite's VACUUM
INTO): consistent as of its start, and the poller is never blocked. The copy needs no
-wal or -shm file, so tools that open files read-only or immutable can use it. PATH is
written whole or not at all; an existing PATH is replaced only with --force.
"""


def cmd_snapshot(args: argparse.Namespace) -> int:
    from dlrpoll.cli import readonly
    from dlrpoll.store.snapshot import snapshot

    out = common.Output(args.quiet)
    db = readonly.open_readonly(args)
    try:
        dest = snapshot(db, args.path, replace=args.force)
    finally:
        db.close()
    out.info(f"snapshot of {db.where} written to {dest} ({dest.stat().st_size / 2**20:.1f} MiB)")
    return 0


def add_readonly_options(parser: argparse.ArgumentParser) -> None:
    """``--config`` and ``--database``, for the commands that only read the database."""
    common.add_config_option(parser)
    parser.add_argument(
        "--database",
        metavar="PATH|URL",
        help="the SQLite file or database URL to read (default: [database] of the config)",
    )


def register(sub: Any) -> None:
    """Add ``snapshot`` to the ``dlrpoll`` parser."""
    help_text = "write a consistent copy of the database to a file"
    p: argparse.ArgumentParser = sub.add_parser(
        "snapshot",
        help=help_text,
        description=help_text,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_common_options(p)
    add_readonly_options(p)
    p.add_argument("path", metavar="PATH", help="the new SQLite file")
    p.add_argument("--force", action="store_true", help="replace PATH if it exists")
    p.set_defaults(handler=cmd_snapshot)
