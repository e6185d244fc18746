"""``dlrpoll export``: receipts or message statuses as CSV or JSON lines."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll export --since 24h --output receipts.csv
  dlrpoll export --what status --source upside --format jsonl > status.jsonl
  dlrpoll export --since 2026-11-01 --until 2026-12-01 --output november.csv
  dlrpoll export --what status --format xlsx --output status.xlsx

--since and --until take a date (2026-11-22), a date and time (2026-11-22T14:00, UTC unless
it has an offset such as +02:00), or a span back from now (90m, 24h, 7d). Receipts are
selected by when they were stored (received_at), statuses by their latest receipt
(last_received_at). Times in the output are UTC (ISO 8601, ending in Z).

For spreadsheets: in CSV a value that starts with = + - or @ gets a leading ' so that it is
never run as a formula (--raw-csv keeps it raw); in xlsx every text (ids, error codes) is a
text cell.
"""


def register(sub: Any) -> None:
    p = common.add_command(
        sub, "export", "write receipts or message statuses as CSV or JSON", EPILOG
    )
    common.add_config_option(p)
    p.add_argument(
        "--what",
        choices=["receipts", "status"],
        default="receipts",
        help="receipts (one row per receipt event, the default) or status (one row per message)",
    )
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only rows stored at or after WHEN (default: from the first)",
    )
    p.add_argument(
        "--until", metavar="WHEN", help="only rows stored before WHEN (default: up to now)"
    )
    p.add_argument(
        "--source",
        metavar="NAME",
        help="only this source (for --what status: the source's dedupe scope; default: all)",
    )
    p.add_argument(
        "--format",
        choices=["csv", "jsonl", "xlsx"],
        default="csv",
        help="csv, jsonl, or xlsx (needs the xlsx extra and --output; default: csv)",
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    p.add_argument(
        "--raw-csv",
        action="store_true",
        help="keep CSV values that start with = + - @ as they are (default: a leading ' "
        "stops spreadsheets from running them as formulas)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.export import export, parse_when

    config = common.config_from(args, secrets=False)
    now = datetime.now(UTC)
    n = export(
        config,
        what=args.what,
        since=parse_when(args.since, now) if args.since else None,
        until=parse_when(args.until, now) if args.until else None,
        source=args.source,
        fmt=args.format,
        output=args.output,
        raw_csv=args.raw_csv,
    )
    if args.output and args.output != "-":
        kind = "receipts" if args.what == "receipts" else "statuses"
        common.Output(args.quiet).info(f"exported {n} {kind} to {args.output}")
    return 0
