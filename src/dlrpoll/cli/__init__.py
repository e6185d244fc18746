"""The ``dlrpoll`` command: parses arguments, calls one layer function, prints; errors become
one line.

One module per command (``cli/<command>.py``) with ``register(subparsers)`` and ``handle``.
Command modules import only the standard library at the top and the layer they call inside
``handle``, so ``dlrpoll --version`` and ``dlrpoll parse`` start without zeep, SQLAlchemy,
APScheduler or pydantic (``tests/cli/test_startup.py`` keeps it so).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

from dlrpoll import __version__
from dlrpoll.cli import common
from dlrpoll.errors import ConfigError, DlrpollError

#: the commands, in the order ``--help`` lists them: name → module under ``dlrpoll.cli``
COMMANDS: dict[str, str] = {
    "run": "run",
    "poll": "poll",
    "status": "status",
    "check-config": "check_config",
    "demo": "demo",
    "sandbox": "sandbox",
    "parse": "parse",
    "reparse": "reparse",
    "export": "export",
    "quarantine": "quarantine",
    "prune": "prune",
    "init": "init",
    "completion": "completion",
    "snapshot": "snapshot_cmd",
    "report": "report_cmd",
    "profiles": "profiles_cmd",
    "release": "release_cmd",
}

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
        description=(
            "Pull SMS delivery receipts from SOAP inboxes and POP3 or IMAP mailboxes into "
            "an SQLite file."
        ),
        epilog=EPILOG,
        formatter_class=common.RawHelp,
    )
    parser.add_argument("--version", action="version", version=f"dlrpoll {__version__}")
    common.add_config_option(parser, top=True)
    common.add_common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMANDS.values():
        importlib.import_module(f"dlrpoll.cli.{module}").register(sub)
    return parser


def _error(args: argparse.Namespace, text: str, *, kind: str) -> None:
    """``Error: …`` on stderr; under ``--log-format json`` a JSON log record instead, so log
    shippers see configuration errors too."""
    if getattr(args, "log_format", "text") == "json":
        logging.getLogger("dlrpoll").error(text, extra={"error_kind": kind})
    else:
        print(f"Error: {text}", file=sys.stderr)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (captured in tests)
        pass


def run() -> NoReturn:
    """The ``dlrpoll`` console command (and ``python -m dlrpoll``): :func:`main`, then
    :func:`leave`."""
    leave(main())


def leave(code: int) -> NoReturn:
    """Exit with ``code`` once every log line and byte of output is written; skip the
    interpreter's teardown when no other thread runs.

    Tearing down the ~600 modules a poll imports (SQLAlchemy, pydantic) takes about 0.2 s,
    a sixth of a cron poll of 10,000 e-mails, and does nothing for a process that ends
    here: the store is closed, files are closed by the commands that write them, and the
    log handlers and stdio are flushed below. A thread still running (none should) gets
    the normal exit, which waits for it."""
    logging.shutdown()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        _quiet_stdout()  # the reader went away, as main() handles it
        code = code or 141
    except (OSError, ValueError):
        sys.exit(code)
    if threading.active_count() > 1:
        sys.exit(code)
    os._exit(code)


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
            _error(args, problem, kind="config")
        return 2
    except DlrpollError as exc:
        _error(args, str(exc), kind=type(exc).__name__)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`dlrpoll export | head`): stop quietly, as other tools do
        _quiet_stdout()
        return 141
    except Exception as exc:
        # a bug of ours: one line for the user, the traceback for the report
        logging.getLogger("dlrpoll").debug("internal error", exc_info=True)
        print(
            f"Error: internal error: {type(exc).__name__}: {exc}; please report it with "
            "the output of the same command run with --log-level DEBUG",
            file=sys.stderr,
        )
        return 70
