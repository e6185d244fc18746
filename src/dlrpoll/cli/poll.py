"""``dlrpoll poll``: every due source once, for cron."""

from __future__ import annotations

import argparse
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll poll --config /etc/dlrpoll/config.toml
  dlrpoll poll --source upside --source mailbox
  * * * * *  dlrpoll poll --quiet --config /etc/dlrpoll/config.toml   (crontab)

Polls each due source once and prints one line per source (--quiet: only failures, partial
polls and warnings such as quarantined items). A source polled less than its interval ago
(by anyone: cron, the daemon, another poll) is skipped. SIGINT or SIGTERM stops each poll at
its next safe point, recorded as `interrupted`. Exit status 0 when every source succeeded,
was skipped as not due or left items for an operator (partial), 1 when any failed, 2 for a
configuration error, 130 when interrupted.
"""


def register(sub: Any) -> None:
    p = common.add_command(sub, "poll", "poll the due sources once (for cron)", EPILOG)
    common.add_config_option(p)
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="poll only this source (repeatable; default: every enabled source)",
    )
    common.add_metrics_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.counts import Outcome
    from dlrpoll.poller import result_log
    from dlrpoll.scheduling.round import round_exit_code
    from dlrpoll.scheduling.service import poll_once

    config = common.config_from(args)
    out = common.Output(args.quiet)
    for name in dict.fromkeys(args.source):
        if not config.settings.source(name).enabled:
            out.info(f"{name}: polled although disabled in the config (named with --source)")
    # each result is printed once, below, rather than also logged
    result_log.disabled = True
    try:
        results = poll_once(config, args.source, metrics_file=args.metrics_file)
    finally:
        result_log.disabled = False
    for result in results:
        if result.outcome in (Outcome.ERROR, Outcome.PARTIAL, Outcome.INTERRUPTED):
            out.result(result.line())
        else:
            out.info(result.line())
    return round_exit_code(results)
