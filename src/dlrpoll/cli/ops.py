"""Operations: ``run`` (the daemon), ``poll`` (one round, for cron), ``status``,
``check-config`` and ``demo``."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from dlrpoll.cli import common
from dlrpoll.cli.release_cmd import lease_data, lease_line
from dlrpoll.config import (
    LoadedConfig,
    Pop3SourceConfig,
    SecretRef,
    default_config_path,
    format_duration,
    load_config,
)
from dlrpoll.errors import ConfigError
from dlrpoll.metrics import MetricsWriter, render
from dlrpoll.poller import PollResult, utcnow
from dlrpoll.scheduling import Daemon, poll_round, round_exit_code, select_sources
from dlrpoll.store import Store, masked_url, reports

log = logging.getLogger(__name__)

RUN_EPILOG = """\
examples:
  dlrpoll run --config /etc/dlrpoll/config.toml
  dlrpoll run --log-format json --metrics-file /var/lib/node_exporter/textfile/dlrpoll.prom

Polls every enabled source on its interval (never more often than every 2 minutes) until
SIGTERM or SIGINT; a poll in progress finishes its current batch first. Exit status 0 on a
clean stop, 1 on an error, 2 for a configuration error.
"""

POLL_EPILOG = """\
examples:
  dlrpoll poll --config /etc/dlrpoll/config.toml
  dlrpoll poll --source upside --source mailbox
  * * * * *  dlrpoll poll --quiet --config /etc/dlrpoll/config.toml   (crontab)

Polls each due source once and prints one line per source. A source polled less than its
interval ago (by anyone: cron, the daemon, another poll) is skipped. Exit status 0 when every
source succeeded or was skipped as not due, 1 when any failed, 2 for a configuration error.
"""

STATUS_EPILOG = """\
examples:
  dlrpoll status
  dlrpoll status --json | jq '.sources[] | select(.outcome != "ok")'
"""

CHECK_EPILOG = """\
examples:
  dlrpoll check-config --config /etc/dlrpoll/config.toml
  DLRPOLL_CONFIG=./dlrpoll.toml dlrpoll check-config

Validates the file, resolves every secret (reporting the missing ones) and prints the sources
with secrets masked. Exit status 2 with every problem listed by key path.
"""

DEMO_EPILOG = """\
examples:
  dlrpoll demo
  sqlite3 dlrpoll-demo.sqlite 'select * from message_status'

Starts a sandbox SOAP inbox and a sandbox POP3 mailbox on 127.0.0.1, loads them with sample
receipts of every format, polls each once into ./dlrpoll-demo.sqlite (replaced on every run)
and shows what was stored.
"""


def _parser(sub: Any, name: str, help_text: str, epilog: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common.add_common_options(parser)
    return parser


def register(sub: Any) -> None:
    """Add ``run``, ``poll``, ``status``, ``check-config`` and ``demo``."""
    p = _parser(sub, "run", "run the polling daemon", RUN_EPILOG)
    common.add_config_option(p)
    _metrics_option(p)
    p.set_defaults(handler=cmd_run)

    p = _parser(sub, "poll", "poll the due sources once (for cron)", POLL_EPILOG)
    common.add_config_option(p)
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="poll only this source (repeatable)",
    )
    _metrics_option(p)
    p.set_defaults(handler=cmd_poll)

    p = _parser(sub, "status", "show each source's last poll and what was stored", STATUS_EPILOG)
    common.add_config_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=cmd_status)

    p = _parser(sub, "check-config", "validate the configuration and its secrets", CHECK_EPILOG)
    common.add_config_option(p)
    p.set_defaults(handler=cmd_check_config)

    p = _parser(sub, "demo", "the whole pipeline against local sandbox servers", DEMO_EPILOG)
    p.add_argument(
        "--database",
        default="dlrpoll-demo.sqlite",
        metavar="FILE",
        help="where to write the demo database (default: ./dlrpoll-demo.sqlite)",
    )
    p.set_defaults(handler=cmd_demo)


def _metrics_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-file",
        metavar="PATH",
        help="write Prometheus metrics here after polls (node_exporter textfile collector)",
    )


def open_store(config: LoadedConfig) -> Store:
    return Store(config.database_url, busy_timeout=config.settings.database.busy_timeout)


def _metrics_writer(
    path: str | None, config: LoadedConfig, store: Store, min_gap: float
) -> MetricsWriter | None:
    if not path:
        return None
    names = [s.name for s in config.settings.sources]

    def snapshot() -> str:
        now = utcnow()
        view = reports.overview(store, names, now=now, messages=False)
        return render(view, names, now=now)

    return MetricsWriter(path, snapshot, min_gap=min_gap)


# -- run -----------------------------------------------------------------------------------
@contextmanager
def _signals(stop: threading.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop``; the previous handlers come back afterwards."""

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("received %s: stopping", signal.Signals(signum).name)
        stop.set()

    if threading.current_thread() is not threading.main_thread():
        yield  # in-process tests from a thread: they call stop() themselves
        return
    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, previous in old.items():
            signal.signal(sig, previous)


def cmd_run(args: argparse.Namespace) -> int:
    config = common.config_from(args)
    if args.log_level != "DEBUG":
        # APScheduler logs two lines per job run at INFO; our poller logs the useful one
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    store = open_store(config)
    metrics = _metrics_writer(args.metrics_file, config, store, min_gap=5.0)
    daemon = Daemon(
        config,
        store,
        on_poll=(lambda result, lag: metrics.request()) if metrics else None,
    )
    if not daemon.sources:
        raise ConfigError("sources: no enabled source in the configuration; nothing to run")
    try:
        with _signals(daemon.stopping):
            code = daemon.run()
    finally:
        if metrics is not None:
            metrics.close()
        store.close()
    return code


# -- poll ----------------------------------------------------------------------------------
def cmd_poll(args: argparse.Namespace) -> int:
    config = common.config_from(args)
    out = common.Output(args.quiet)
    sources = select_sources(config, args.source)
    disabled = [s.name for s in sources if not s.enabled]
    if disabled and args.source:
        for name in disabled:
            out.info(f"{name}: polled although disabled in the config (named with --source)")
    store = open_store(config)
    try:
        stop = threading.Event()
        with _signals(stop):
            results = poll_round(config, store, sources, stop=stop)
        for result in results:
            if result.outcome == "error":
                out.result(result.line())
            else:
                out.info(result.line())
        if args.metrics_file:
            writer = _metrics_writer(args.metrics_file, config, store, min_gap=0)
            assert writer is not None
            writer.write_now()
    finally:
        store.close()
    return round_exit_code(results)


# -- status --------------------------------------------------------------------------------
def _fmt(when: datetime | None) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if when else "never"


def status_data(config: LoadedConfig, store: Store, now: datetime) -> dict[str, Any]:
    """What ``status`` shows, as plain data (also the ``--json`` output)."""
    names = [s.name for s in config.settings.sources]
    view = reports.overview(store, names, now=now)
    leases = store.leases(names)
    rows: list[dict[str, Any]] = []
    for cfg in config.settings.sources:
        rep = view.sources.get(cfg.name) or reports.SourceReport(cfg.name)
        due = rep.last_started + timedelta(seconds=cfg.interval) if rep.last_started else None

        def iso(when: datetime | None) -> str | None:
            return reports.to_text(when) if when else None

        rows.append(
            {
                "source": cfg.name,
                "kind": cfg.kind,
                "enabled": cfg.enabled,
                "interval_seconds": cfg.interval,
                "last_poll": iso(rep.last_started),
                "last_finished": iso(rep.last_finished),
                "outcome": rep.outcome,
                "error": rep.error,
                "next_due": iso(due if due and due > now else now),
                "last_success": iso(rep.last_success),
                "last_counts": {
                    "fetched": rep.counts.fetched,
                    "stored": rep.counts.stored,
                    "duplicates": rep.counts.duplicates,
                    "quarantined": rep.counts.quarantined,
                },
                "polls": rep.polls,
                "receipts": rep.receipts,
                "waiting_reparse": rep.waiting_reparse,
                **lease_data(leases.get(cfg.name), now),
            }
        )
    return {
        "database": masked_url(config.database_url),
        "now": reports.to_text(now),
        "sources": rows,
        "receipts_by_state_24h": view.receipts_by_state,
        "messages_by_state": view.messages_by_state,
        "quarantined_waiting_reparse": view.quarantined,
    }


def format_status(data: dict[str, Any]) -> list[str]:
    """``status_data`` as a table for people."""
    header = ("source", "last poll (UTC)", "outcome", "next due (UTC)", "last counts", "receipts")
    table: list[tuple[str, ...]] = [header]
    now = data["now"]
    for row in data["sources"]:
        c = row["last_counts"]
        due = row["next_due"]
        table.append(
            (
                row["source"] + ("" if row["enabled"] else " (disabled)"),
                _fmt(reports.to_time(row["last_poll"])),
                row["outcome"] or "-",
                "due now" if due == now else _fmt(reports.to_time(due)),
                f"{c['fetched']} fetched, {c['stored']} stored, {c['duplicates']} dup, "
                f"{c['quarantined']} quar",
                str(row["receipts"]),
            )
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in table
    ]
    for row in data["sources"]:
        if row["outcome"] == "error" and row["error"]:
            lines.append(f"  {row['source']}: last error: {row['error']}")
        if (lease := lease_line(row)) is not None:
            lines.append(f"  {row['source']}: {lease}")
    by_state = data["receipts_by_state_24h"]
    lines.append("")
    lines.append(
        "receipts in the last 24 h: "
        + (", ".join(f"{k} {v}" for k, v in sorted(by_state.items())) or "none")
    )
    messages = data["messages_by_state"]
    lines.append(
        "messages by state: "
        + (", ".join(f"{k} {v}" for k, v in sorted(messages.items())) or "none")
    )
    quarantined = data["quarantined_waiting_reparse"]
    total = sum(quarantined.values())
    lines.append(
        f"quarantined raw messages waiting for `dlrpoll reparse`: {total}"
        + (
            " (" + ", ".join(f"{k} {v}" for k, v in sorted(quarantined.items())) + ")"
            if total
            else ""
        )
    )
    return lines


def cmd_status(args: argparse.Namespace) -> int:
    config = common.config_from(args)
    store = open_store(config)
    try:
        data = status_data(config, store, utcnow())
    finally:
        store.close()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=False))
    else:
        for line in format_status(data):
            print(line)
    return 0


# -- check-config --------------------------------------------------------------------------
def describe_sources(config: LoadedConfig) -> list[str]:
    """Every source's settings, one per line, with each secret masked."""
    lines: list[str] = []
    for cfg in config.settings.sources:
        values = cfg.model_dump(exclude={"name", "kind"})
        if isinstance(cfg, Pop3SourceConfig):
            values["password"] = _secret_text(config, (cfg.name, "password"), cfg.password)
        else:
            values["args"] = {
                k: _secret_text(config, (cfg.name, "args", k), v)
                if isinstance(v, SecretRef | str)
                else v
                for k, v in cfg.args.items()
            }
        state = "" if cfg.enabled else "  (disabled)"
        lines.append(
            f"[{cfg.name}] {cfg.kind}, every {format_duration(cfg.interval)} "
            f"(+0..{format_duration(cfg.jitter)} jitter){state}"
        )
        for key, value in values.items():
            lines.append(f"    {key} = {value}")
    return lines


def _secret_text(config: LoadedConfig, key: tuple[str, ...], written: object) -> str:
    secret = config.secrets.get(key)
    if secret is not None:
        return repr(secret)
    if isinstance(written, SecretRef):
        return f"<{written.describe()}>"
    return "******"


def cmd_check_config(args: argparse.Namespace) -> int:
    path = default_config_path(getattr(args, "config", None))
    config = load_config(path)  # ConfigError → every problem by key path, exit 2
    out = common.Output(args.quiet)
    out.info(f"config: {path}")
    out.info(f"database: {masked_url(config.database_url)}")
    out.info(f"sources: {len(config.settings.sources)}")
    for line in describe_sources(config):
        out.info(line)
    if not config.settings.sources:
        out.result("warning: no sources configured; nothing will be polled")
    out.result("config OK")
    return 0


# -- demo ----------------------------------------------------------------------------------
DEMO_QUERY = (
    "select message_id, state, final, done_at, receipts, conflict "
    "from message_status order by done_at;"
)


def _show_demo(
    database: Path,
) -> Callable[[LoadedConfig, Store, Sequence[PollResult], str], None]:
    def show(config: LoadedConfig, store: Store, results: Sequence[PollResult], text: str) -> None:
        print("Sandboxes: a SOAP inbox and two POP3 mailboxes on 127.0.0.1. The config:\n")
        for line in text.splitlines():
            print(f"    {line}")
        print("\nOne poll of each source:")
        for result in results:
            print(f"  {result.line()}")
        print("\nStatus (`dlrpoll status`):\n")
        for line in format_status(status_data(config, store, utcnow())):
            print(f"  {line}")
        print("\nSome messages (the message_status view, one row per message):\n")
        rows = reports.message_sample(store, limit=12)
        cols = ("message_id", "state", "final", "receipts", "conflict")
        table = [cols] + [tuple(str(r[c]) for c in cols) for r in rows]
        widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
        for row in table:
            print(("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))).rstrip())
        print(f"\nEverything is in {database}. Next, try:\n")
        print(f'  sqlite3 -header -column {database.name} "{DEMO_QUERY}"')
        print(
            f"  sqlite3 {database.name} "
            '"select source, parse_error from raw_messages where parse_error is not null;"'
        )

    return show


def cmd_demo(args: argparse.Namespace) -> int:
    from dlrpoll.sandbox.demo import run_demo

    database = Path(args.database)
    return run_demo(database, _show_demo(database))
