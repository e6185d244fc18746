"""``dlrpoll status``: each source's last poll, when it is next due, what was stored."""

from __future__ import annotations

import argparse
import json
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll status
  dlrpoll --config /etc/dlrpoll/config.toml status --local
  dlrpoll status --json | jq '.sources[] | select(.outcome != "ok")'
"""


def register(sub: Any) -> None:
    p = common.add_command(
        sub, "status", "show each source's last poll and what was stored", EPILOG
    )
    common.add_config_option(p)
    p.add_argument("--json", action="store_true", help="machine-readable output (default: off)")
    p.add_argument(
        "--local",
        action="store_true",
        help="times in the local time zone (default: UTC; --json is always UTC)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.poller import utcnow
    from dlrpoll.status import format_status, read_status

    data = read_status(common.config_from(args, secrets=False), utcnow())
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=False))
    else:
        for line in format_status(data, local=args.local):
            print(line)
    return 0
