"""SIGKILL a round of polls of a dozen Dovecot mailboxes, then poll again just past the
two-minute floor: the leases the killed process held are void at once (its process is gone
from this machine), so that poll completes every source (every receipt stored once, every
mailbox empty), although the leases would run for ten minutes more. Inside the floor the
sources are still refused, saying by whom they were polled. On SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import os
import select
import signal
import threading
import time
import traceback
from datetime import timedelta
from typing import Any

from dlrpoll.config import DatabaseConfig, LoadedConfig, Secret, Settings
from dlrpoll.scheduling.round import poll_round
from dlrpoll.store import Store
from tests.pop3.conftest import cfg_for
from tests.support.clock import T0, Clock
from tests.support.dovecot import Dovecot, Mailbox
from tests.support.mail import receipt_email

SOURCES = 12
PER_BOX = 30
KILL_AFTER = 5  # journal commits


def make_config(boxes: list[Mailbox], url: str) -> LoadedConfig:
    # three batches a mailbox: a kill lands between batches of some polls
    cfgs = [cfg_for(box, name=f"box{i}", pipeline_window=10) for i, box in enumerate(boxes)]
    # leases far longer than the floor: only the dead-holder rule can free them in time
    settings = Settings(database=DatabaseConfig(url=url, lease_ttl=600), sources=cfgs)
    secrets = {
        (c.name, "password"): Secret(b.password, "test") for c, b in zip(cfgs, boxes, strict=True)
    }
    return LoadedConfig(settings=settings, path=None, secrets=secrets)


def child(config: LoadedConfig, out: int) -> None:
    """The poller to kill: one round over every source at T0, marking each journal commit."""
    journal = Store.journal
    commits = itertools.count(1)

    def marked(self: Store, *args: Any, **kw: Any) -> Any:
        got = journal(self, *args, **kw)
        os.write(out, b"journaled\n")
        if next(commits) >= KILL_AFTER:
            # held here until the parent's SIGKILL: the polls in flight stay mid-way, with
            # their leases taken, and none can finish first
            threading.Event().wait()
        return got

    Store.journal = marked  # type: ignore[method-assign]
    store = Store(config.database_url)
    poll_round(config, store, config.settings.sources, clock=Clock(T0), workers=4)
    os.write(out, b"done\n")


def run_and_kill(config: LoadedConfig) -> int:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # never returns into pytest
        try:
            os.close(read_fd)
            child(config, write_fd)
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(1)
    os.close(write_fd)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while seen.count(b"journaled") < KILL_AFTER:
            ready, _, _ = select.select([read_fd], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"the child never journaled {KILL_AFTER} batches: {seen!r}"
            chunk = os.read(read_fd, 4096)
            assert chunk and b"done" not in chunk, f"the child finished before the kill: {seen!r}"
            seen += chunk
    finally:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        os.close(read_fd)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return pid


def test_after_sigkill_the_next_poll_past_the_floor_completes_every_source(
    dovecot: Dovecot, database_url: str
) -> None:
    boxes = [dovecot.mailbox() for _ in range(SOURCES)]
    for i, box in enumerate(boxes):
        box.deliver(receipt_email(f"B{i:02d}M{n:03d}") for n in range(PER_BOX))
    config = make_config(boxes, database_url)
    killed = run_and_kill(config)

    with Store(database_url) as store:
        leases = store.leases()
        held = sorted(n for n, lease in leases.items() if lease.holder is not None)
        assert held, "the kill left no lease behind: nothing was tested"
        for name in held:
            lease = leases[name]
            assert lease.holder is not None and lease.holder.pid == killed
            assert lease.state(T0 + timedelta(seconds=1)) == "gone"
            assert lease.until == T0 + timedelta(seconds=600)  # not expired for ten minutes
        by_name = {c.name: c for c in config.settings.sources}

        # inside the floor the killed polls' sources are refused: the floor is absolute
        inside = Clock(T0 + timedelta(seconds=60))
        early = poll_round(config, store, [by_name[n] for n in held], clock=inside)
        assert {r.outcome for r in early} == {"skipped"}
        assert all(f"by {leases[r.source].last_started_by}," in (r.error or "") for r in early)

        # just past the floor, every source is polled and completed
        later = Clock(T0 + timedelta(seconds=121))
        results = poll_round(config, store, config.settings.sources, clock=later)
        outcomes = [(r.source, r.outcome) for r in results]
        assert outcomes == [(f"box{i}", "ok") for i in range(SOURCES)]
        with store.reader() as conn:
            total, distinct = conn.exec_driver_sql(
                "SELECT count(*), count(DISTINCT message_id) FROM receipts"
            ).one()
            leftover = conn.exec_driver_sql(
                "SELECT count(*) FROM source_state WHERE claimed_by IS NOT NULL"
            ).scalar_one()
    assert (total, distinct) == (SOURCES * PER_BOX, SOURCES * PER_BOX)
    assert [box.count() for box in boxes] == [0] * SOURCES
    assert leftover == 0
