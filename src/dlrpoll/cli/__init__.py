"""The ``dlrpoll`` command: parses arguments and calls the layers; errors become one line.

Each subcommand lives in its own module with a ``register(subparsers)`` function.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from dlrpoll import __version__
from dlrpoll.cli import (
    common,
    ops,
    parse_cmd,
    profiles_cmd,
    release_cmd,
    report_cmd,
    snapshot_cmd,
    store_cmds,
)
from dlrpoll.errors import ConfigError, DlrpollError

EPILOG = """\
examples:
  dlrpoll check-config --config /etc/dlrpoll/config.toml
  dlrpoll poll --config /etc/dlrpoll/config.toml          # one round, for cron
  dlrpoll run --config /etc/dlrpoll/config.toml           # the daemon
  dlrpoll status
  echo 'id:1 stat:DELIVRD err:000' | dlrpoll parse -
  dlrpoll demo
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlrpoll",
        description="Pull SMS delivery receipts over SOAP or POP3 into an SQLite file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dlrpoll {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in (ops, parse_cmd, store_cmds, snapshot_cmd, report_cmd, profiles_cmd, release_cmd):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dlrpoll`` command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    common.setup_logging(args)
    try:
        result: int = args.handler(args)
        return result
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"Error: {problem}", file=sys.stderr)
        return 2
    except DlrpollError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except Exception as exc:
        # a bug of ours: one line for the user, the traceback for the report
        logging.getLogger("dlrpoll").debug("internal error", exc_info=True)
        print(
            f"Error: internal error: {type(exc).__name__}: {exc}; please report it with "
            "the output of the same command run with --log-level DEBUG",
            file=sys.stderr,
        )
        return 70
