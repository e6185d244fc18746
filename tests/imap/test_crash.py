"""Crash safety with real processes: a child polls a Dovecot folder of a few hundred receipts
in a loop (after_store = "move") and is SIGKILLed many times, at chosen and random moments
(fetching bodies, just after a journal commit, as the MOVE goes out, at LOGOUT). After every
kill, no message sits in the destination folder whose bytes the journal lacks; after one
clean poll, every receipt is stored exactly once and the folder is empty."""

from __future__ import annotations

import collections
import hashlib
import os
import random
import select
import signal
import sqlite3
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dlrpoll.config import Secret
from dlrpoll.poller import poll_source
from dlrpoll.sources.imap import ImapSource
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.store import Store
from tests.imap import crash_child
from tests.imap.conftest import cfg_for
from tests.support.clock import Clock
from tests.support.dovecot import Mailbox, receipt_email

KILLS = 30
TARGETS = ("fetch", "journaled", "ack", "logout", "random")
#: Longest a child may go without reaching its kill point before the test fails.
STEP_TIMEOUT = 30.0


class Child:
    """One polling child, forked from this process (everything is imported already); its
    markers come through a pipe, read with a deadline."""

    def __init__(self, spec: dict[str, Any]) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            try:
                os.close(read_fd)
                crash_child.main(spec, write_fd)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        os.close(write_fd)
        self.pid, self.fd = pid, read_fd
        self.pending = b""
        self.lines: list[str] = []

    def next_line(self, deadline: float) -> str | None:
        """The next marker, or ``None`` when the child exited."""
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"child stuck; markers so far: {self.lines[-10:]}"
            if select.select([self.fd], [], [], remaining)[0]:
                chunk = os.read(self.fd, 4096)
                if not chunk:
                    return None
                self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        self.lines.append(line.decode())
        return self.lines[-1]

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def run_until(child: Child, target: str, skip: int, rng: random.Random) -> str:
    """Let ``child`` run to the ``skip``-th next ``target`` marker, or for a random instant
    (reading its markers meanwhile), then SIGKILL it. Returns what it was killed at."""
    if target == "random":
        deadline = time.monotonic() + rng.uniform(0.0, 0.4)
        while time.monotonic() < deadline:
            if select.select([child.fd], [], [], deadline - time.monotonic())[0]:
                chunk = os.read(child.fd, 4096)
                assert chunk, f"child exited by itself: {child.lines[-10:]}"
                child.pending += chunk
        child.kill()
        return "random"
    deadline = time.monotonic() + STEP_TIMEOUT
    seen = 0
    while True:
        line = child.next_line(deadline)
        assert line is not None, f"child exited by itself: {child.lines[-10:]}"
        assert not line.startswith("poll error"), line
        if line == target:
            seen += 1
            if seen > skip:
                child.kill()
                return target
        elif line == "poll ok fetched=0" and target != "logout":
            child.kill()  # the folder is drained: nothing left to interrupt there
            return "idle"


def journaled_digests(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT sha256 FROM raw_messages")}


def moved_digests(box: Mailbox) -> list[str]:
    return [hashlib.sha256(m.data).hexdigest() for m in box.messages("Done")]


def test_sigkill_at_any_moment_moves_only_journaled_and_stores_once(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    seed = int(os.environ.get("DLRPOLL_CRASH_SEED", random.randrange(1 << 30)))
    print(f"crash test seed {seed} (set DLRPOLL_CRASH_SEED to repeat)")
    rng = random.Random(seed)
    singles = [f"IR{i:04d}" for i in range(240)]
    triples = [[f"IT{i:03d}a", f"IT{i:03d}b", f"IT{i:03d}c"] for i in range(20)]
    emails = [receipt_email(m) for m in singles] + [receipt_email(t) for t in triples]
    rng.shuffle(emails)
    delivered = len(mailbox.deliver(emails))
    expected = set(singles) | {m for t in triples for m in t}

    cfg = cfg_for(mailbox, max_messages=12, fetch_batch=4)
    db = tmp_path / "crash.sqlite"
    Store(f"sqlite:///{db}").close()  # the schema once, before any child races on it
    spec = {"cfg": cfg.model_dump(mode="json"), "password": mailbox.password, "db": str(db)}

    killed_at: collections.Counter[str] = collections.Counter()
    for gen in range(KILLS):
        if mailbox.count() < 20:  # keep work in the folder, so that every kill interrupts some
            more = [f"IM{gen:02d}x{i:02d}" for i in range(30)]
            delivered += len(mailbox.deliver(receipt_email(m) for m in more))
            expected.update(more)
        child = Child({**spec, "gen": gen})
        killed_at[run_until(child, TARGETS[gen % len(TARGETS)], rng.randrange(3), rng)] += 1
        lacking = set(moved_digests(mailbox)) - journaled_digests(db)
        assert not lacking, f"moved but not journaled, after a kill at {killed_at}"
    print(f"killed at: {dict(killed_at)}; {mailbox.count()} message(s) left")
    for target in ("fetch", "journaled", "ack", "logout"):
        assert killed_at[target] >= 3, killed_at

    # one clean poll, far after every child's claim has expired
    final = cfg_for(mailbox)
    store = Store(f"sqlite:///{db}")
    try:
        source = ImapSource(
            final, password=Secret(mailbox.password, "test"), retry=RetryPolicy(attempts=1)
        )
        config = crash_child.loaded(final, str(db))
        clock = Clock(datetime(2900, 1, 1, tzinfo=UTC))
        result = poll_source(config, final, source, store, clock=clock)
    finally:
        store.close()
    assert result.outcome == "ok", result.error

    with sqlite3.connect(db) as conn:
        stored = [r[0] for r in conn.execute("SELECT message_id FROM receipts")]
        raw = conn.execute(
            "SELECT count(*), count(DISTINCT remote_id), "
            "sum(receipts IS NULL AND parse_error IS NULL), sum(parse_error IS NOT NULL) "
            "FROM raw_messages"
        ).fetchone()
    assert len(stored) == len(set(stored)), "a receipt was stored twice"
    assert set(stored) == expected, f"missing: {sorted(expected - set(stored))[:10]}"
    assert raw == (delivered, delivered, 0, 0)  # every e-mail journaled once, all parsed
    assert mailbox.count() == 0
    moved = moved_digests(mailbox)
    assert len(moved) == delivered and set(moved) == journaled_digests(db)
