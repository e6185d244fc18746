"""``reparse`` (run the parsers over quarantined raw items again) and ``export`` (receipts or
message statuses as CSV or JSON lines, for people who do not speak SQL)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from dlrpoll import reparse
from dlrpoll.cli import common
from dlrpoll.config import LoadedConfig, parse_duration
from dlrpoll.errors import ConfigError, DlrpollError
from dlrpoll.store import Store
from dlrpoll.store.store import ExportKind, export_columns

REPARSE_EPILOG = """\
examples:
  dlrpoll reparse                      # every source
  dlrpoll reparse --source upside      # after fixing [profiles.upside] in the config

Runs the parsers again over raw items that were quarantined (see raw_messages.parse_error)
and stores what now parses. Safe to repeat: a receipt already stored is not stored twice.
"""

EXPORT_EPILOG = """\
examples:
  dlrpoll export --since 24h --output receipts.csv
  dlrpoll export --what status --source upside --format jsonl > status.jsonl
  dlrpoll export --since 2026-11-01 --until 2026-12-01 --output november.csv

--since and --until take a date (2026-11-22), a date and time (2026-11-22T14:00, UTC unless
it has an offset such as +02:00), or a span back from now (90m, 24h, 7d). Receipts are
selected by when they were stored (received_at), statuses by their latest receipt
(last_received_at). Times in the output are UTC (ISO 8601, ending in Z).
"""


def parse_when(text: str, now: datetime) -> datetime:
    """``--since``/``--until``: an ISO date or datetime (UTC when it has no offset), or a
    span back from ``now`` such as ``24h``."""
    value = text.strip()
    try:
        when = datetime.fromisoformat(value)
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    except ValueError:
        pass
    if value[:1].isdigit() and not value.isdigit():  # a bare number is a mistake, not seconds
        try:
            return now - timedelta(seconds=parse_duration(value))
        except ValueError:
            pass
    raise ConfigError(
        f"{text!r} is not a time; write 2026-11-22, 2026-11-22T14:00, 2026-11-22T14:00+02:00, "
        f"or a span back from now such as 90m, 24h or 7d"
    )


def open_store(config: LoadedConfig) -> Store:
    return Store(config.database_url, busy_timeout=config.settings.database.busy_timeout)


def cmd_reparse(args: argparse.Namespace) -> int:
    out = common.Output(args.quiet)
    config = common.config_from(args)
    with open_store(config) as store:
        results = reparse.reparse(config, store, args.source)
    for name, counts in results.items():
        out.result(
            f"{name}: stored {counts.stored}, duplicates {counts.duplicates}, "
            f"still quarantined {counts.quarantined}"
        )
    return 0


def _scope(config: LoadedConfig, source: str) -> str:
    # a source removed from the config keeps its data; its scope was its name by default
    for cfg in config.settings.sources:
        if cfg.name == source:
            return cfg.scope
    return source


def _write_csv(stream: IO[str], columns: Iterable[str], rows: Iterable[dict[str, Any]]) -> int:
    writer = csv.writer(stream)
    cols = list(columns)
    writer.writerow(cols)
    n = 0
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in cols])
        n += 1
    return n


def _write_jsonl(stream: IO[str], rows: Iterable[dict[str, Any]]) -> int:
    n = 0
    for row in rows:
        stream.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


@contextmanager
def _destination(path: str | None) -> Iterator[IO[str]]:
    """stdout, or a file that appears whole or not at all (written beside it, then renamed)."""
    if path is None or path == "-":
        yield sys.stdout
        return
    target = Path(path)
    partial = target.with_name(f".{target.name}.partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as stream:
            yield stream
        os.replace(partial, target)
    except OSError as exc:
        raise DlrpollError(f"--output {path}: cannot write: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)


def cmd_export(args: argparse.Namespace) -> int:
    out = common.Output(args.quiet)
    config = common.config_from(args)
    now = datetime.now(UTC)
    since = parse_when(args.since, now) if args.since else None
    until = parse_when(args.until, now) if args.until else None
    what: ExportKind = args.what
    if what == "receipts":
        filters: dict[str, Any] = {"source": args.source}
    else:
        filters = {"scope": _scope(config, args.source) if args.source else None}
    with open_store(config) as store:
        rows = store.export_rows(what, since=since, until=until, **filters)
        with _destination(args.output) as stream:
            if args.format == "csv":
                n = _write_csv(stream, export_columns(what), rows)
            else:
                n = _write_jsonl(stream, rows)
    if args.output and args.output != "-":
        out.info(
            f"exported {n} {'receipts' if what == 'receipts' else 'statuses'} to {args.output}"
        )
    return 0


def _parser(sub: Any, name: str, help_text: str, epilog: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_common_options(parser)
    common.add_config_option(parser)
    return parser


def register(sub: Any) -> None:
    """Add ``reparse`` and ``export`` to the ``dlrpoll`` parser."""
    p = _parser(sub, "reparse", "parse quarantined raw items again", REPARSE_EPILOG)
    p.add_argument("--source", metavar="NAME", help="only this source (default: every source)")
    p.set_defaults(handler=cmd_reparse)

    p = _parser(sub, "export", "write receipts or message statuses as CSV or JSON", EXPORT_EPILOG)
    p.add_argument(
        "--what",
        choices=["receipts", "status"],
        default="receipts",
        help="receipts (one row per receipt event, the default) or status (one row per message)",
    )
    p.add_argument("--since", metavar="WHEN", help="only rows stored at or after WHEN")
    p.add_argument("--until", metavar="WHEN", help="only rows stored before WHEN")
    p.add_argument(
        "--source",
        metavar="NAME",
        help="only this source (for --what status: the source's dedupe scope)",
    )
    p.add_argument("--format", choices=["csv", "jsonl"], default="csv", help="default: csv")
    p.add_argument("--output", metavar="FILE", help="write here instead of standard output")
    p.set_defaults(handler=cmd_export)
