"""Crash safety with real processes: a child polls a Dovecot mailbox in a loop and is
SIGKILLed many times at chosen and random moments (during RETR, after a journal commit,
during DELE, at QUIT); after one clean poll every receipt is stored exactly once and, under
``delete = "after-store"``, the mailbox is empty."""

from __future__ import annotations

import collections
import os
import random
import select
import signal
import sqlite3
import time
import traceback
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from dlrpoll.config import Pop3SourceConfig, Secret
from dlrpoll.poller import poll_source
from dlrpoll.sources.pop3 import Pop3Source
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.store import Store
from tests.pop3 import crash_child
from tests.pop3.conftest import SteppingClock, cfg_for, loaded_config
from tests.support.dovecot import Dovecot, Mailbox, receipt_email
from tests.support.popa3d import Mbox

KILLS = 40
TARGETS = ("retr", "journaled", "dele", "quit", "random")
#: A poll that found nothing new (``partial`` when oversize messages wait on the server).
IDLE = ("poll ok fetched=0", "poll partial fetched=0")
#: Longest a child may go without reaching its kill point before the test fails.
STEP_TIMEOUT = 30.0


class Child:
    """One polling child process, forked from this one (everything is imported already);
    its markers come through a pipe, read without blocking past a deadline."""

    def __init__(self, spec: dict[str, Any]) -> None:
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            code = 1
            try:
                os.close(read_fd)
                crash_child.main(spec, write_fd)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        os.close(write_fd)
        self.pid = pid
        self.fd = read_fd
        self.pending = b""
        self.lines: list[str] = []

    def next_line(self, deadline: float) -> str | None:
        """The next marker, or ``None`` when the child exited."""
        while b"\n" not in self.pending:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"child stuck; markers so far: {self.lines[-10:]}"
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
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

    def exited(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for the child to exit on its own (it should not)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # the pipe closes when the child dies: wait on it rather than sleeping
            ready, _, _ = select.select([self.fd], [], [], deadline - time.monotonic())
            if ready:
                chunk = os.read(self.fd, 4096)
                if not chunk:
                    return True
                self.pending += chunk
        return False


def run_until(child: Child, target: str, skip: int, rng: random.Random) -> str:
    """Let ``child`` run to the ``skip``-th next ``target`` marker (or a random instant),
    then SIGKILL it. Returns what it was killed at."""
    if target == "random":
        assert not child.exited(rng.uniform(0.0, 0.4)), "child exited by itself"
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
        elif line in IDLE and target != "quit":
            child.kill()  # the mailbox is drained: nothing left to interrupt there
            return "idle"


class Box(Protocol):
    """What the crash test needs of a mailbox on any server."""

    password: str

    def deliver(self, messages: Iterable[bytes]) -> object: ...

    def count(self) -> int: ...


def maildir_left(box: Mailbox) -> set[bytes]:
    return {entry.read_bytes() for sub in ("new", "cur") for entry in (box.maildir / sub).iterdir()}


def test_sigkill_at_any_moment_loses_nothing_and_stores_once(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    crash_and_check(
        mailbox, lambda **kw: cfg_for(mailbox, "ssl", **kw), lambda: maildir_left(mailbox),
        tmp_path, big=0,
    )  # fmt: skip


def test_sigkill_with_shared_uidls_and_oversize_messages(
    dovecot_dup_uidl: Dovecot, tmp_path: Path
) -> None:
    """Every message shares one UIDL (keyed by content) and some are over max_size (kept
    on the server, recorded once)."""
    box = dovecot_dup_uidl.mailbox()
    crash_and_check(
        box, lambda **kw: cfg_for(box, "ssl", **kw), lambda: maildir_left(box), tmp_path,
        big=6, max_size="16KiB",
    )  # fmt: skip


def test_sigkill_against_the_second_server(second_pop3: Mbox, tmp_path: Path) -> None:
    """popa3d: no CAPA (one command at a time), its own UIDLs, an mbox rewritten at QUIT;
    with oversize messages."""

    def cfg(**kw: Any) -> Pop3SourceConfig:
        return Pop3SourceConfig.model_validate({
            "kind": "pop3", "name": "box", "host": second_pop3.host, "port": second_pop3.port,
            "tls": "none", "allow_plaintext": True, "username": second_pop3.user,
            "password": {"env": "UNUSED"}, "timeout": 10, **kw,
        })  # fmt: skip

    def left() -> set[bytes]:
        return {m.replace(b"\n", b"\r\n") for m in second_pop3.messages()}

    crash_and_check(
        second_pop3, cfg, left, tmp_path, big=3, max_size="16KiB", kills=20,
        settle=second_pop3.server.wait_idle,
    )  # fmt: skip


def crash_and_check(
    mailbox: Box,
    cfg_for: Callable[..., Pop3SourceConfig],
    left_on_server: Callable[[], set[bytes]],
    tmp_path: Path,
    *,
    big: int,
    kills: int = KILLS,
    settle: Callable[[], None] = lambda: None,
    **overrides: Any,
) -> None:
    """Deliver receipts (and ``big`` oversize messages), SIGKILL polling children ``kills``
    times, then one clean poll: every receipt stored once, every message journaled once,
    only the oversize ones left on the server."""
    seed = int(os.environ.get("DLRPOLL_CRASH_SEED", random.randrange(1 << 30)))
    print(f"crash test seed {seed} (set DLRPOLL_CRASH_SEED to repeat)")
    rng = random.Random(seed)
    singles = [f"CR{i:04d}" for i in range(240)]
    triples = [[f"CT{i:03d}a", f"CT{i:03d}b", f"CT{i:03d}c"] for i in range(20)]
    emails = [receipt_email(m) for m in singles] + [receipt_email(t) for t in triples]
    oversize = [receipt_email(f"CB{i}") + (b"o" * 98 + b"\r\n") * 200 for i in range(big)]
    emails += oversize
    rng.shuffle(emails)
    mailbox.deliver(emails)
    delivered = len(emails) - big
    expected = set(singles) | {m for t in triples for m in t}

    cfg = cfg_for(max_messages=8, pipeline_window=4, **overrides)
    db = tmp_path / "crash.sqlite"
    Store(f"sqlite:///{db}").close()  # create the schema once, before any child races on it
    spec = {"cfg": cfg.model_dump(mode="json"), "password": mailbox.password, "db": str(db)}

    killed_at: collections.Counter[str] = collections.Counter()
    for gen in range(kills):
        # keep work in the mailbox, so that every kill interrupts some
        if mailbox.count() < 20 + big:
            more = [f"CM{gen:02d}x{i:02d}" for i in range(30)]
            mailbox.deliver(receipt_email(m) for m in more)
            delivered += len(more)
            expected.update(more)
        child = Child({**spec, "gen": gen})
        killed_at[run_until(child, TARGETS[gen % len(TARGETS)], rng.randrange(3), rng)] += 1
    print(f"killed at: {dict(killed_at)}; {mailbox.count()} message(s) left")
    assert sum(killed_at.values()) == kills
    for target in ("retr", "journaled", "dele", "quit"):
        assert killed_at[target] >= kills // 15, killed_at

    # one clean poll, far after every child's claim has expired, once the server has
    # finished with the killed children's sessions (popa3d holds the mbox until then, and
    # a QUIT it cannot apply is a poll that deletes nothing, by design)
    settle()
    config = loaded_config(cfg_for(**overrides), mailbox.password, str(db))
    final_cfg = config.settings.sources[0]
    store = Store(config.database_url)
    try:
        source = Pop3Source(final_cfg, Secret(mailbox.password, "test"), RetryPolicy(attempts=1))
        clock = SteppingClock(datetime(2900, 1, 1, tzinfo=UTC))
        result = poll_source(config, final_cfg, source, store, clock=clock)
    finally:
        store.close()
    assert result.outcome == ("partial" if big else "ok"), result.error

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT message_id FROM receipts").fetchall()
        raw = conn.execute(
            "SELECT count(*), count(DISTINCT remote_id), "
            "sum(receipts IS NULL AND parse_error IS NULL), sum(parse_error IS NOT NULL) "
            "FROM raw_messages WHERE format = 'email'"
        ).fetchone()
        records = conn.execute(
            "SELECT count(*), count(DISTINCT remote_id), sum(remote_id LIKE '% over max_size %') "
            "FROM raw_messages WHERE format = 'email-headers'"
        ).fetchone()
    stored = [r[0] for r in rows]
    assert len(stored) == len(set(stored)), "a receipt was stored twice"
    assert set(stored) == expected, f"missing: {sorted(expected - set(stored))[:10]}"
    assert raw == (delivered, delivered, 0, 0)  # every e-mail journaled once, all parsed
    assert records == ((big, big, big) if big else (0, 0, None))  # one record each
    assert left_on_server() == set(oversize)  # only the oversize ones wait, whole, on the server
