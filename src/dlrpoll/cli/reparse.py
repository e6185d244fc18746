"""``dlrpoll reparse``: run the parsers over quarantined raw items again."""

from __future__ import annotations

import argparse
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll reparse                      # every source
  dlrpoll reparse --source upside      # after fixing [profiles.upside] in the config

Runs the parsers again over raw items that were quarantined (see raw_messages.parse_error)
and stores what now parses. Safe to repeat: a receipt already stored is not stored twice.
"""


def register(sub: Any) -> None:
    p = common.add_command(sub, "reparse", "parse quarantined raw items again", EPILOG)
    common.add_config_option(p)
    p.add_argument("--source", metavar="NAME", help="only this source (default: every source)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.reparse import reparse
    from dlrpoll.store.opening import open_store

    out = common.Output(args.quiet)
    config = common.config_from(args)
    with open_store(config) as store:
        results = reparse(config, store, args.source)
    for name, counts in results.items():
        out.result(
            f"{name}: stored {counts.stored}, duplicates {counts.duplicates}, "
            f"still quarantined {counts.quarantined}"
        )
    return 0
