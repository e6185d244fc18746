"""``dlrpoll run``: the polling daemon."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll run --config /etc/dlrpoll/config.toml
  dlrpoll run --log-format json --metrics-file /var/lib/node_exporter/textfile/dlrpoll.prom

Polls every enabled source on its interval (never more often than every 2 minutes) until
SIGTERM or SIGINT; a poll in progress finishes its current batch first. Exit status 0 on a
clean stop, 1 on an error, 2 for a configuration error.
"""


def register(sub: Any) -> None:
    p = common.add_command(sub, "run", "run the polling daemon", EPILOG)
    common.add_config_option(p)
    common.add_metrics_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.scheduling.service import run_daemon

    config = common.config_from(args)
    if args.log_level != "DEBUG":
        # APScheduler logs two lines per job run at INFO; our poller logs the useful one
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return run_daemon(config, metrics_file=args.metrics_file)
