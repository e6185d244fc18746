"""``dlrpoll report``: a self-contained HTML page of charts over the last days."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlrpoll.cli import common
from dlrpoll.cli.snapshot_cmd import add_readonly_options
from dlrpoll.errors import DlrpollError

EPILOG = """\
examples:
  dlrpoll report --output report.html                  # the last 7 days
  dlrpoll report --since 30d --output month.html
  dlrpoll report --since 2026-11-01 --database /srv/reports/dlrpoll.sqlite -o nov.html

One HTML file with charts: delivery rate per day and source, receipts by state over time,
time from submit to final state, poll health (ok / error per source and day) and the
quarantine. Everything is inside the file (no network needed to view it). Read-only: it
needs read access to the database and no secrets. Needs plotly (the report extra).
"""


def cmd_report(args: argparse.Namespace) -> int:
    from dlrpoll.cli import readonly
    from dlrpoll.export import parse_when
    from dlrpoll.store.report_data import report_data

    out = common.Output(args.quiet)
    now = datetime.now(UTC)
    since = parse_when(args.since, now)
    db = readonly.open_readonly(args)
    try:
        data = report_data(db, since)
    finally:
        db.close()
    from dlrpoll.reporting import render  # plotly only when a report is made

    page = render(data, title=args.title, generated=now)
    target = Path(args.output)
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise DlrpollError(f"--output {target}: cannot write: {exc.strerror or exc}") from exc
    out.info(f"report of {db.where} since {data.since} written to {target}")
    return 0


def register(sub: Any) -> None:
    """Add ``report`` to the ``dlrpoll`` parser."""
    help_text = "write an HTML report with charts (delivery, states, timing, polls)"
    p: argparse.ArgumentParser = sub.add_parser(
        "report",
        help=help_text,
        description=help_text,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_common_options(p)
    add_readonly_options(p)
    p.add_argument("--since", default="7d", metavar="WHEN", help="start (default: 7d)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="the HTML file")
    p.add_argument("--title", default="dlrpoll report", help="the page's title")
    p.set_defaults(handler=cmd_report)
