"""``dlrpoll check-config``: validate the configuration and its secrets."""

from __future__ import annotations

import argparse
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll check-config --config /etc/dlrpoll/config.toml
  DLRPOLL_CONFIG=./dlrpoll.toml dlrpoll check-config

Validates the file, resolves every secret (reporting the missing ones) and prints the sources
with secrets masked. Exit status 2 with every problem listed by key path.
"""


def register(sub: Any) -> None:
    p = common.add_command(
        sub, "check-config", "validate the configuration and its secrets", EPILOG
    )
    common.add_config_option(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.checks import describe_config
    from dlrpoll.config import default_config_path, load_config

    path = default_config_path(getattr(args, "config", None))
    config = load_config(path)  # ConfigError → every problem by key path, exit 2
    out = common.Output(args.quiet)
    out.info(f"config: {path}")
    for line in describe_config(config):
        out.info(line)
    if not config.settings.sources:
        out.result("warning: no sources configured; nothing will be polled")
    out.result("config OK")
    return 0
