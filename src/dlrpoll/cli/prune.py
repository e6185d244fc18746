"""``dlrpoll prune``: apply ``[retention]`` now."""

from __future__ import annotations

import argparse
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll prune --dry-run         # what would go
  dlrpoll prune

Applies [retention] (the daemon does it once a day): empties the payloads of raw items
stored (or dismissed from quarantine) longer ago than raw_payloads, keeping their rows and
keys so dedupe still recognises them; deletes poll_runs rows older than poll_runs, and
skipped ones older than skipped_polls, keeping each source's latest run of each outcome.
Quarantined items still waiting, and receipts, are never pruned. SQLite reuses the space;
`sqlite3 FILE 'VACUUM'` (with the poller stopped) gives it back to the filesystem.
"""


def register(sub: Any) -> None:
    p = common.add_command(sub, "prune", "apply [retention] now", EPILOG)
    common.add_config_option(p)
    p.add_argument("--dry-run", action="store_true", help="only count what would go (default: off)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.poller import utcnow
    from dlrpoll.retention import describe, prune_now

    pruned = prune_now(common.config_from(args, secrets=False), utcnow(), dry_run=args.dry_run)
    verb = "would prune" if args.dry_run else "pruned"
    common.Output(args.quiet).result(f"{verb} {describe(pruned)}")
    return 0
