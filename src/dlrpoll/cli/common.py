"""Options and helpers shared by the subcommands: config, logging, output.

Start-up time matters here (cron runs ``dlrpoll poll`` every minute, users pipe files through
``dlrpoll parse``), so this module and every command module import only the standard library
and dlrpoll's light leaves at the top; each command imports the layer it calls when it runs.
"""

from __future__ import annotations

import argparse
import json
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


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(args: argparse.Namespace) -> None:
    # --quiet keeps warnings: under cron they are the lines worth a mail (quarantined items)
    level = "WARNING" if getattr(args, "quiet", False) else getattr(args, "log_level", "INFO")
    handler = logging.StreamHandler(sys.stderr)
    if getattr(args, "log_format", "text") == "json":
        handler.setFormatter(JsonFormatter())
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
