"""``dlrpoll check-config``: validate the configuration, check what can be checked."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll check-config --config /etc/dlrpoll/config.toml
  dlrpoll check-config --connect                 # also connect, log in, load WSDLs
  dlrpoll check-config --connect --source upside
  DLRPOLL_CONFIG=./dlrpoll.toml dlrpoll check-config

Validates the file, resolves every secret (reporting the missing ones), prints each
source's effective settings (secrets as env:NAME or file:PATH, never their values), and
checks without the network what would fail on every poll: the database's directory, the
files sources read (ca_file, a WSDL on disk), that there are sources. --connect also
connects to each source, negotiates TLS, logs in, loads the WSDL and resolves the operation,
items and fields, and counts what waits (POP3 STAT); it never fetches, marks or deletes.
A source with `enabled = false` is checked too; only `poll --source NAME` polls it.

Exit status 0 when every check passed, 1 when a check failed, 2 for an invalid file (every
problem listed by key path).
"""


def register(sub: Any) -> None:
    p = common.add_command(
        sub, "check-config", "validate the configuration and check its sources", EPILOG
    )
    common.add_config_option(p)
    p.add_argument(
        "--connect",
        action="store_true",
        help="also connect to each source; nothing is fetched or changed (default: off)",
    )
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="check only this source (repeatable; default: all)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.checks import Check, describe_config, run_checks
    from dlrpoll.config import default_config_path, load_config
    from dlrpoll.errors import ConfigError

    path = default_config_path(getattr(args, "config", None))
    # structural problems: every one by key path, exit 2
    config = load_config(path, resolve_secrets=False)
    # a secret that cannot be resolved is one more problem to list beside the others, not a
    # reason to hide them
    secret_problems: list[str] = []
    try:
        config = load_config(path)
    except ConfigError as exc:
        secret_problems = list(exc.problems)
    chosen = [config.settings.source(n) for n in dict.fromkeys(args.source)] or None
    out = common.Output(args.quiet)
    out.info(f"config: {path}")
    for line in describe_config(config):
        out.info(line)
    out.info("")
    checks: list[Check] = []
    connect = args.connect and not secret_problems
    if args.connect and secret_problems:
        checks.append(Check(None, "connect", "skipped: the secrets below are needed to sign in"))
    checks += run_checks(config, connect=connect, sources=chosen)
    failed = [c for c in checks if c.ok is False]
    for check in checks:
        if check.ok is False:
            out.result(check.line())
        else:
            out.info(check.line())
    for problem in secret_problems:
        print(f"Error: {problem}", file=sys.stderr)
    if secret_problems:
        # the same exit as any other config error: the poller could not start with it
        return 2
    if failed:
        out.result(f"config has {len(failed)} problem(s): see FAILED above")
        return 1
    out.result("config OK" + (" (connected)" if args.connect else ""))
    return 0
