"""``dlrpoll demo``: the whole pipeline against local sandbox servers."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll demo
  sqlite3 dlrpoll-demo.sqlite 'select * from message_status'

Starts a sandbox SOAP inbox and two sandbox POP3 mailboxes on 127.0.0.1, loads them with sample
receipts of every format, polls each once into ./dlrpoll-demo.sqlite (replaced on every run)
and shows what was stored.
"""

QUERY = (
    "select message_id, state, final, done_at, receipts, conflict "
    "from message_status order by done_at;"
)


def register(sub: Any) -> None:
    p = common.add_command(sub, "demo", "the whole pipeline against local sandbox servers", EPILOG)
    p.add_argument(
        "--database",
        default="dlrpoll-demo.sqlite",
        metavar="FILE",
        help="where to write the demo database (default: ./dlrpoll-demo.sqlite)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.demo import run_demo
    from dlrpoll.status import format_status

    database = Path(args.database)
    report = run_demo(database)
    print("Sandboxes: a SOAP inbox and two POP3 mailboxes on 127.0.0.1. The config:\n")
    for line in report.config_text.splitlines():
        print(f"    {line}")
    print("\nOne poll of each source:")
    for result in report.results:
        print(f"  {result.line()}")
    print("\nStatus (what `dlrpoll status` shows for a configured database):\n")
    for line in format_status(report.status):
        print(f"  {line}")
    print("\nSome messages (the message_status table, one row per message):\n")
    cols = ("message_id", "state", "final", "receipts", "conflict")
    table = [cols] + [tuple(str(r[c]) for c in cols) for r in report.sample]
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    for row in table:
        print(("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip())
    print(f"\nEverything is in {database}. Next, try:\n")
    print(f'  sqlite3 -header -column {database.name} "{QUERY}"')
    print(
        f"  sqlite3 {database.name} "
        '"select source, parse_error from raw_messages where parse_error is not null;"'
    )
    print(
        "  dlrpoll sandbox      # servers that stay up, and a config for `dlrpoll poll` and "
        "`dlrpoll status`"
    )
    return report.exit_code
