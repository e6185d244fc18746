"""``dlrpoll completion``: a bash or zsh completion script, generated from the parser."""

from __future__ import annotations

import argparse
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll completion bash > /etc/bash_completion.d/dlrpoll
  dlrpoll completion zsh > "${fpath[1]}/_dlrpoll"
"""


def register(sub: Any) -> None:
    p = common.add_command(sub, "completion", "print a shell completion script", EPILOG)
    p.add_argument("shell", choices=["bash", "zsh"], help="the shell")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    import shtab

    from dlrpoll.cli import build_parser

    print(shtab.complete(build_parser(), shell=args.shell))
    return 0
