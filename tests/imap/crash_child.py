"""Child process for the IMAP crash-safety test: polls one folder in a loop, forever, and
announces each moment worth dying at, so the parent can SIGKILL it there.

The test forks it (:func:`main` with a pipe). Markers, one per line, written before the step
they name (``journaled`` just after): ``fetch`` (a UID FETCH of bodies about to go out, ahead
of its batch), ``journaled`` (a batch committed), ``ack`` (the MOVE about to go out),
``logout``, and ``poll OUTCOME fetched=N`` (a poll finished).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from dlrpoll.config import DatabaseConfig, ImapSourceConfig, LoadedConfig, Secret, Settings
from dlrpoll.poller import poll_source
from dlrpoll.sources.imap import ImapSource
from dlrpoll.sources.imap.pipeline import Pipeline
from dlrpoll.sources.imap.session import ImapSession
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.store import Store
from tests.support.clock import Clock

_out = 1


def mark(what: str) -> None:
    os.write(_out, (what + "\n").encode())


def instrument() -> None:
    send_fetch = Pipeline.send_fetch

    def fetch_marked(self: Pipeline, uids: Sequence[int], attrs: Sequence[str]) -> str:
        mark("fetch")
        return send_fetch(self, uids, attrs)

    Pipeline.send_fetch = fetch_marked  # type: ignore[method-assign]

    journal = Store.journal

    def journal_marked(self: Store, *args: Any, **kw: Any) -> Any:
        out = journal(self, *args, **kw)
        mark("journaled")
        return out

    Store.journal = journal_marked  # type: ignore[method-assign]

    send_ack = Pipeline.send_ack

    def ack_marked(self: Pipeline, what: str, command: str, *args: str | bytes) -> None:
        mark("ack")
        send_ack(self, what, command, *args)

    Pipeline.send_ack = ack_marked  # type: ignore[method-assign]

    quit_ = ImapSession.quit

    def quit_marked(self: ImapSession) -> None:
        mark("logout")
        quit_(self)

    ImapSession.quit = quit_marked  # type: ignore[method-assign]


def loaded(cfg: ImapSourceConfig, db: str) -> LoadedConfig:
    settings = Settings(database=DatabaseConfig(path=db), sources=[cfg])
    return LoadedConfig(settings, None, {})


def main(spec: dict[str, Any], out_fd: int = 1) -> None:
    """Poll forever as ``spec`` says, writing markers to ``out_fd``."""
    global _out
    _out = out_fd
    instrument()
    cfg = ImapSourceConfig.model_validate(spec["cfg"])
    config = loaded(cfg, spec["db"])
    store = Store(config.database_url)
    # each generation starts far beyond the last one's claims (their ttl)
    clock = Clock(datetime(2030, 1, 1, tzinfo=UTC) + timedelta(days=1000 * spec["gen"]), step=1)
    while True:
        source = ImapSource(
            cfg, password=Secret(spec["password"], "test"), retry=RetryPolicy(attempts=1)
        )
        clock.jump()
        result = poll_source(config, cfg, source, store, clock=clock)
        mark(f"poll {result.outcome} fetched={result.fetched}")
