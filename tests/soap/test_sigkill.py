"""SIGKILL a real poller process at random moments, in both modes: no receipt is stored twice,
and in two-phase mode none is lost.

Each kill lands either just after the sandbox received a request (the poller waits for the
answer: in destructive mode those messages are marked read and may be lost, by the
provider's design) or just after it wrote a response in full (the poller is reading,
journaling, splitting or storing it: nothing may be lost). The pollers are forked by
``crash_child`` so that twenty kills cost one interpreter start-up.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dlrpoll.sandbox.soap_inbox import SoapInbox
from tests.soap.conftest import sandbox_toml, smpp, write_config

REPO = Path(__file__).resolve().parents[2]
KILLS = 10  # per mode
BATCH = 40


class Zygote:
    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.soap.crash_child", str(config), str(time.time())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        self.k = 0

    def start_poll(self) -> int:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.k += 1
        self.proc.stdin.write(f"poll {self.k}\n")
        self.proc.stdin.flush()
        word, pid = self.proc.stdout.readline().split()
        assert word == "pid"
        return int(pid)

    def wait_poll(self) -> int:
        assert self.proc.stdout is not None
        word, status = self.proc.stdout.readline().split()
        assert word == "exit"
        return int(status)

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "total"), [("destructive", 400), ("two-phase", 60)])
def test_sigkill_at_random_moments(inbox: SoapInbox, tmp_path: Path, mode: str, total: int) -> None:
    rng = random.Random(f"dlrpoll-soap-sigkill-{mode}")
    inbox.max_per_call = BATCH
    loaded = set(inbox.load(smpp(n) for n in range(total)))
    extra = f'mode = "{mode}"\nbatch_limit = {BATCH}\nmax_batches = 1000'
    config = write_config(tmp_path, sandbox_toml(inbox, extra, timeout=5))
    zygote = Zygote(config)
    kills = 0
    # messages a killed destructive poll may have lost: those of the call in flight when it
    # died (and of any call the server was still answering then)
    at_risk: set[str] = set()
    pending_from: int | None = None
    try:
        for _ in range(KILLS):
            if pending_from is not None:
                at_risk.update(m for batch in inbox.fetch_log[pending_from:] for m in batch)
                pending_from = None
            awaiting_answer = rng.random() < 0.5
            step = rng.randint(1, 4)
            pid = zygote.start_poll()
            deadline = time.monotonic() + 20
            if awaiting_answer:
                target = inbox.requests + step
                while not inbox.wait_requests(target, 0.02) and alive(pid):
                    assert time.monotonic() < deadline, "the poller made no progress"
            else:
                target = inbox.responses + step
                while not inbox.wait_responses(target, 0.02) and alive(pid):
                    assert time.monotonic() < deadline, "the poller made no progress"
            if alive(pid):
                pending_from = max(0, len(inbox.fetch_log) - 1)
                os.kill(pid, signal.SIGKILL)
            status = zygote.wait_poll()
            if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
                kills += 1
        # then clean polls until the inbox is empty and the journal all processed
        for _ in range(3):
            if pending_from is not None:
                at_risk.update(m for batch in inbox.fetch_log[pending_from:] for m in batch)
                pending_from = None
            zygote.start_poll()
            assert zygote.wait_poll() == 0
    finally:
        zygote.close()

    with sqlite3.connect(tmp_path / "dlrpoll.sqlite") as db:
        stored = [r[0] for r in db.execute("SELECT message_id FROM receipts")]
        journaled = [
            r[0] for r in db.execute("SELECT remote_id FROM raw_messages WHERE format = 'text'")
        ]
        unprocessed = db.execute(
            "SELECT COUNT(*) FROM raw_messages WHERE receipts IS NULL AND parse_error IS NULL"
        ).fetchone()[0]
    assert kills >= KILLS // 2, f"only {kills} polls were killed mid-way"
    assert len(stored) == len(set(stored)), "a receipt was stored twice"
    assert len(journaled) == len(set(journaled)), "a message was journaled twice"
    assert unprocessed == 0
    assert inbox.unread() == 0
    expected = {smpp(n).split()[0][3:] for n in range(total)}
    assert set(stored) <= expected
    assert set(journaled) <= loaded
    if mode == "two-phase":
        assert set(stored) == expected, "two-phase mode lost receipts"
    else:
        # only the call a kill interrupted can lose its batch; every other one is stored
        lost = loaded - set(journaled)
        assert lost <= at_risk
        assert len(set(stored)) == total - len(lost)
