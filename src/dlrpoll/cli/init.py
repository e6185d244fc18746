"""``dlrpoll init``: write a commented starting config and say what to do next."""

from __future__ import annotations

import argparse
import os
from importlib import resources
from pathlib import Path
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll init                            # ./dlrpoll.toml
  sudo dlrpoll init /etc/dlrpoll/config.toml

Writes the commented example configuration (mode 600: it may come to hold secrets) and
prints the next commands. An existing file is left alone unless --force.
"""


def register(sub: Any) -> None:
    p = common.add_command(sub, "init", "write a commented starting config", EPILOG)
    p.add_argument(
        "path", nargs="?", default="dlrpoll.toml", help="where (default: ./dlrpoll.toml)"
    )
    p.add_argument("--force", action="store_true", help="overwrite (default: off)")
    p.set_defaults(handler=handle)


def example_config() -> str:
    """The commented example shipped with dlrpoll (config.example.toml)."""
    return resources.files("dlrpoll").joinpath("data/config.example.toml").read_text("utf-8")


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.errors import ConfigError, DlrpollError

    target = Path(args.path)
    if target.exists() and not args.force:
        raise ConfigError(f"{target}: exists; edit it, or pass --force to replace it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(example_config())
        os.chmod(target, 0o600)
    except OSError as exc:
        raise DlrpollError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    c = f" --config {target}" if str(target) != "dlrpoll.toml" else ""
    print(f"wrote {target} (mode 600). Next:")
    print(f"  $EDITOR {target}        # [database] path, your [[sources]], their secrets")
    print(f"  dlrpoll check-config{c} --connect")
    print(f"  dlrpoll poll{c}")
    print(f"  dlrpoll status{c}")
    return 0
