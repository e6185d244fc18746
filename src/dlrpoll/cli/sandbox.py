"""``dlrpoll sandbox``: stand-in provider servers to try dlrpoll without a provider."""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path
from typing import Any

from dlrpoll.cli import common

EPILOG = """\
examples:
  dlrpoll sandbox                          # then, in another terminal:
  dlrpoll poll --config dlrpoll-sandbox/dlrpoll.toml
  dlrpoll status --config dlrpoll-sandbox/dlrpoll.toml
  dlrpoll run --config dlrpoll-sandbox/dlrpoll.toml
  dlrpoll quarantine --config dlrpoll-sandbox/dlrpoll.toml

Serves a SOAP inbox like a provider's and two POP3 mailboxes on 127.0.0.1, loaded with
sample receipts of every format (and two items that are no receipts), until Ctrl-C. Writes
DIR/dlrpoll.toml (and its secret files) to poll them into DIR/dlrpoll.sqlite.
"""


def register(sub: Any) -> None:
    p = common.add_command(sub, "sandbox", "serve stand-in providers until Ctrl-C", EPILOG)
    p.add_argument(
        "--dir",
        default="dlrpoll-sandbox",
        metavar="DIR",
        help="where to write the config and the database (default: ./dlrpoll-sandbox)",
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from dlrpoll.demo import sandboxes

    directory = Path(args.dir).resolve()
    stopped: list[int] = []  # a handler appends; no lock a handler could deadlock on
    with sandboxes(directory, directory / "dlrpoll.sqlite") as (path, _text):
        print(f"sandbox ready; the config is {path}:", flush=True)
        print(f"  dlrpoll poll --config {path}")
        print(f"  dlrpoll status --config {path}")
        print("Ctrl-C stops the servers.", flush=True)
        previous = {
            sig: signal.signal(sig, lambda signum, frame: stopped.append(signum))
            for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            while not stopped:
                time.sleep(0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    print("sandbox stopped")
    return 0
