"""Options and helpers shared by the subcommands: config, logging, output.

Start-up time matters here (cron runs ``dlrpoll poll`` every minute, users pipe files through
``dlrpoll parse``), so this module and every command module import only the standard library
and dlrpoll's light leaves at the top; each command imports the layer it calls when it runs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlrpoll.config import LoadedConfig

RawHelp = argparse.RawDescriptionHelpFormatter


def add_command(sub: Any, name: str, help_text: str, epilog: str) -> argparse.ArgumentParser:
    """A subcommand's parser with its help, examples and the common options."""
    parser: argparse.ArgumentParser = sub.add_parser(
        name, help=help_text, description=help_text, epilog=epilog, formatter_class=RawHelp
    )
    add_common_options(parser)
    return parser


def _default(top: bool, value: Any) -> Any:
    # An option accepted both before and after the command: only the top-level parser sets
    # the default, so `dlrpoll --config X status` is not undone by the subcommand's default.
    return value if top else argparse.SUPPRESS


def add_config_option(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=_default(top, None),
        help="config file (default: $DLRPOLL_CONFIG, else ./dlrpoll.toml, else "
        "~/.config/dlrpoll/config.toml)",
    )


def add_metrics_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--metrics-file",
        metavar="PATH",
        help="write Prometheus metrics here at start and after polls, for node_exporter's "
        "textfile collector (default: none)",
    )


def add_common_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """--quiet, --log-level, --log-format: accepted before the command and after it."""
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=_default(top, False),
        help="print only errors and warnings (default: off)",
    )
    parser.add_argument(
        "--log-level",
        default=_default(top, "INFO"),
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="default: INFO",
    )
    parser.add_argument(
        "--log-format",
        default=_default(top, "text"),
        choices=["text", "json"],
        help="json: one object per line for log shippers (default: text)",
    )


def config_from(args: argparse.Namespace, *, secrets: bool = True) -> LoadedConfig:
    """The configuration ``--config`` (or the default location) names; ``secrets=False``
    for commands that never talk to a source (they then run without the poller's
    secrets, e.g. as a reporting user)."""
    from dlrpoll.config import load_config

    return load_config(getattr(args, "config", None), resolve_secrets=secrets)


def json_formatter() -> logging.Formatter:
    """One JSON object per line, by python-json-logger: ``time`` (RFC 3339, milliseconds,
    UTC), ``level``, ``logger``, ``message``, and the record's extra fields (a poll's
    ``source``, ``outcome`` and counts as fields of their own)."""
    from datetime import UTC, datetime

    from pythonjsonlogger.json import JsonFormatter

    class Formatter(JsonFormatter):
        def formatTime(  # noqa: N802 - logging's name
            self, record: logging.LogRecord, datefmt: str | None = None
        ) -> str:
            at = datetime.fromtimestamp(record.created, UTC)
            return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    return Formatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        json_ensure_ascii=False,
    )


def setup_logging(args: argparse.Namespace) -> None:
    # --quiet keeps warnings: under cron they are the lines worth a mail (quarantined items)
    level = "WARNING" if getattr(args, "quiet", False) else getattr(args, "log_level", "INFO")
    handler = logging.StreamHandler(sys.stderr)
    if getattr(args, "log_format", "text") == "json":
        handler.setFormatter(json_formatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


class Output:
    """Progress and results for people; ``--quiet`` turns progress off."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    def info(self, text: str) -> None:
        if not self.quiet:
            print(text)

    def result(self, text: str) -> None:
        print(text)
