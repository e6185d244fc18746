"""Child process for the crash-safety test: polls one mailbox in a loop, forever, and
announces each moment worth dying at, so the parent can SIGKILL it there.

The test forks it (:func:`main` with a pipe), so that thirty children cost no thirty
interpreter start-ups; by hand it runs as ``python -m tests.pop3.crash_child SPEC_JSON``
and writes the markers to stdout.

Markers, one per line, flushed before the step they name happens (or just after, for
``journaled``): ``retr`` (RETR commands about to go out), ``journaled`` (a batch committed),
``dele`` (DELE commands about to go out), ``quit`` (QUIT about to go out), ``poll fetched=N``
(a poll finished).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from dlrpoll.config import Pop3SourceConfig, Secret
from dlrpoll.poller import poll_source
from dlrpoll.sources.pop3 import Pop3Session, Pop3Source
from dlrpoll.sources.pop3.wire import Response, Wire
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.store import Store
from tests.pop3.conftest import SteppingClock, loaded_config

_out = 1


def mark(what: str) -> None:
    os.write(_out, (what + "\n").encode())


def instrument() -> None:
    exchange = Wire.exchange

    def exchange_marked(self: Wire, commands: Sequence[bytes], **kw: Any) -> Iterator[Response]:
        if commands and commands[0].startswith(b"RETR"):
            mark("retr")
        elif commands and commands[0].startswith(b"DELE"):
            mark("dele")
        return exchange(self, commands, **kw)

    Wire.exchange = exchange_marked  # type: ignore[method-assign]

    journal = Store.journal

    def journal_marked(self: Store, *args: Any, **kw: Any) -> Any:
        out = journal(self, *args, **kw)
        mark("journaled")
        return out

    Store.journal = journal_marked  # type: ignore[method-assign]

    quit_ = Pop3Session.quit

    def quit_marked(self: Pop3Session) -> None:
        mark("quit")
        quit_(self)

    Pop3Session.quit = quit_marked  # type: ignore[method-assign]


def main(spec: dict[str, Any], out_fd: int = 1) -> None:
    """Poll forever as ``spec`` says, writing markers to ``out_fd``."""
    global _out
    _out = out_fd
    instrument()
    cfg = Pop3SourceConfig.model_validate(spec["cfg"])
    config = loaded_config(cfg, spec["password"], spec["db"])
    store = Store(config.database_url)
    # each generation of child starts far beyond the last one's claims (their ttl)
    clock = SteppingClock(datetime(2030, 1, 1, tzinfo=UTC) + timedelta(days=1000 * spec["gen"]))
    while True:
        source = Pop3Source(cfg, Secret(spec["password"], "test"), RetryPolicy(attempts=1))
        clock.jump()  # past the two-minute floor since the last poll
        result = poll_source(config, cfg, source, store, clock=clock)
        mark(f"poll {result.outcome} fetched={result.fetched}")


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
