"""Real polls of the sandbox SOAP inbox through the fault proxy.

Two-phase mode (peek, journal, then set the read flag) keeps promise 1 under every fault:
each ends in a recorded error within the timeout and the next clean poll stores every receipt
exactly once. Destructive mode (``GetNewInboxMessages`` marks messages read as it answers)
recovers from faults that strike before the request reaches the server; a response lost
after the server answered is lost by the provider's design, and the poll must say so
(PossibleLossError) rather than pass in silence.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dlrpoll.config import LoadedConfig
from dlrpoll.poller import PollResult, claim_ttl, poll_source
from dlrpoll.sandbox.soap_inbox import SoapInbox
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.store import Store
from tests.reliability.workload import (
    Clock,
    check_promise,
    loaded_config,
    message_id,
    rows,
    smpp_text,
)
from tests.support.faultproxy import Fault, FaultProxy

MESSAGES = 12
TIMEOUT = 1.0
BOUND = 4 * TIMEOUT + 3.0
TOKEN, SIGNATURE = "rel-token", "rel-signature"

_tags = iter(f"W{n:03d}" for n in range(1000))


def soap_source(name: str, inbox: SoapInbox, proxy: FaultProxy, mode: str) -> dict[str, object]:
    """A SOAP source whose calls go through ``proxy``; the WSDL is read from the inbox
    directly, so faults strike the calls."""
    return {
        "name": name,
        "kind": "soap",
        "wsdl": inbox.wsdl_url,
        "endpoint": f"http://127.0.0.1:{proxy.port}/SMS.asmx",
        "mode": mode,
        "profile": "smpp",
        "timeout": TIMEOUT,
        "retries": 0,
        "args": {"token": {"env": "DLRPOLL_TEST_UNUSED"}, "signature": {"env": "UNUSED"}},
    }


def soap_config(sources: list[dict[str, object]], db: Path) -> LoadedConfig:
    names = [str(s["name"]) for s in sources]
    return loaded_config(
        sources, db, soap_args={n: {"token": TOKEN, "signature": SIGNATURE} for n in names}
    )


@dataclass
class SoapRig:
    config: LoadedConfig
    store: Store
    db: Path
    inbox: SoapInbox
    proxy: FaultProxy
    clock: Clock
    expected: list[str]

    def poll(self, *, attempts: int = 1) -> tuple[PollResult, float]:
        cfg = self.config.settings.sources[0]
        source = make_source(self.config, cfg, RetryPolicy(attempts=attempts, wait_initial=0.01))
        self.clock.tick()
        started = time.monotonic()
        result = poll_source(self.config, cfg, source, self.store, clock=self.clock)
        return result, time.monotonic() - started

    def last_run(self) -> tuple[str, str | None]:
        [(outcome, error)] = rows(
            self.db, "SELECT outcome, error FROM poll_runs ORDER BY id DESC LIMIT 1"
        )
        return outcome, error

    def load(self, n: int) -> list[str]:
        tag = next(_tags)
        ids = [message_id(tag, i) for i in range(n)]
        self.inbox.load(smpp_text(m) for m in ids)
        self.expected.extend(ids)
        return ids

    def recovered(self) -> None:
        self.proxy.passthrough()
        self.inbox.release()
        result, _ = self.poll()
        assert result.outcome == "ok", result.error
        tally = check_promise(self.db, self.expected)
        assert (tally.stored, tally.lost, tally.duplicated) == (len(self.expected), 0, 0)
        assert self.inbox.unread() == 0


def _soap_rig(tmp_path: Path, clock: Clock, mode: str) -> Generator[SoapRig, None, None]:
    with (
        SoapInbox(token=TOKEN, signature=SIGNATURE, stall_seconds=5) as inbox,
        FaultProxy("127.0.0.1", inbox.port) as proxy,
    ):
        db = tmp_path / "dlr.sqlite"
        config = soap_config([soap_source("inbox", inbox, proxy, mode)], db)
        store = Store(config.database_url, busy_timeout=5)
        try:
            rig = SoapRig(config, store, db, inbox, proxy, clock, [])
            rig.load(MESSAGES)
            yield rig
        finally:
            store.close()


@pytest.fixture
def two_phase(tmp_path: Path, clock: Clock) -> Iterator[SoapRig]:
    yield from _soap_rig(tmp_path, clock, "two-phase")


@pytest.fixture
def destructive(tmp_path: Path, clock: Clock) -> Iterator[SoapRig]:
    yield from _soap_rig(tmp_path, clock, "destructive")


@pytest.fixture(scope="module")
def two_phase_bytes(tmp_path_factory: pytest.TempPathFactory) -> int:
    """Bytes the inbox sends in one clean two-phase poll of MESSAGES receipts."""
    gen = _soap_rig(tmp_path_factory.mktemp("twin"), Clock(), "two-phase")
    rig = next(gen)
    try:
        result, _ = rig.poll()
        assert result.outcome == "ok", result.error
        assert rig.proxy.wait_for(lambda p: p.active == 0, 5)
        return rig.proxy.bytes_down
    finally:
        gen.close()


# fmt: off
TWO_PHASE_FAULTS: list[tuple[str, Callable[[int], Fault]]] = [
    ("stall",                lambda t: Fault.stall()),
    ("latency-over-timeout", lambda t: Fault.latency(TIMEOUT * 1.5)),
    ("reset-first-answer",   lambda t: Fault.reset_after(0)),
    ("cut-first-answer",     lambda t: Fault.cut_after(0)),
    ("reset-in-headers",     lambda t: Fault.reset_after(40)),
    ("cut-in-body",          lambda t: Fault.cut_after(300)),
    ("reset-midway",         lambda t: Fault.reset_after(t // 2)),
    ("cut-midway",           lambda t: Fault.cut_after(t // 2)),
    ("reset-near-the-end",   lambda t: Fault.reset_after(t - 200)),
]
# fmt: on


@pytest.mark.parametrize(
    ("name", "make_fault"), TWO_PHASE_FAULTS, ids=[n for n, _ in TWO_PHASE_FAULTS]
)
def test_two_phase_fault_is_a_recorded_error_and_the_next_poll_recovers(
    two_phase: SoapRig, two_phase_bytes: int, name: str, make_fault: Callable[[int], Fault]
) -> None:
    two_phase.proxy.set_fault(make_fault(two_phase_bytes))
    result, elapsed = two_phase.poll()
    assert result.outcome == "error", f"{name}: {result.line()}"
    assert elapsed < BOUND, f"{name}: the faulted poll took {elapsed:.1f} s"
    assert two_phase.proxy.faults >= 1
    outcome, error = two_phase.last_run()
    assert outcome == "error" and error and "'inbox'" in error
    # whatever was marked read is in the journal; the rest is still unread on the server
    stored = check_promise(two_phase.db, two_phase.expected).stored
    assert stored + two_phase.inbox.unread() == MESSAGES
    two_phase.recovered()


def test_two_phase_trickle_ends_and_loses_nothing(two_phase: SoapRig, two_phase_bytes: int) -> None:
    two_phase.proxy.trickle(256, 0.01)
    result, elapsed = two_phase.poll()
    assert elapsed < BOUND + two_phase_bytes / 256 * 0.01
    assert two_phase.proxy.faults_by_kind["trickle"] >= 1
    # every read returns well inside the timeout: a trickle only slows the poll, which must
    # still fetch and store everything
    assert result.outcome == "ok", result.line()
    assert check_promise(two_phase.db, two_phase.expected).stored == MESSAGES
    two_phase.recovered()


def test_two_phase_repeated_faults_with_new_arrivals(two_phase: SoapRig) -> None:
    for after in (0, 500, 1500, 3000):
        two_phase.load(4)
        two_phase.proxy.reset_after(after)
        result, elapsed = two_phase.poll()
        assert result.outcome == "error"
        assert elapsed < BOUND
    two_phase.recovered()


@pytest.mark.parametrize(
    "fault", [Fault.stall(), Fault.latency(TIMEOUT / 20)], ids=["stall", "small-latency"]
)
def test_destructive_recovers_from_faults_before_the_request(
    destructive: SoapRig, fault: Fault
) -> None:
    destructive.proxy.set_fault(fault)
    result, elapsed = destructive.poll()
    assert elapsed < BOUND
    if fault.kind == "stall":
        assert result.outcome == "error"
        assert destructive.inbox.unread() == MESSAGES  # the call never reached the server
        assert destructive.last_run()[0] == "error"
    destructive.recovered()


def test_destructive_response_lost_after_the_server_answered_is_reported(
    destructive: SoapRig,
) -> None:
    """By the provider's design these receipts are gone: the poll must say so."""
    destructive.proxy.reset_after(200)
    result, elapsed = destructive.poll()
    assert elapsed < BOUND
    assert result.outcome == "error"
    assert destructive.inbox.unread() == 0  # the server marked them read as it answered
    outcome, error = destructive.last_run()
    assert outcome == "error" and error
    # a lost response names the possible loss; one that broke off, the loss of its rest
    assert (
        "may have been marked read" in error
        or "has marked the messages in this response read" in error
    ), error
    assert check_promise(destructive.db, destructive.expected).stored == 0


def test_a_crawling_poll_stops_at_a_safe_point_when_its_claim_expires(
    two_phase: SoapRig,
) -> None:
    """Nothing else bounds a poll's length: it must stop after the batch it is on once its
    claim (claim_ttl) has expired, or a second poller could take the source over while it
    still runs. What it has not reached waits, unread, for the next poll."""
    cfg = two_phase.config.settings.sources[0]
    ttl = claim_ttl(cfg)
    # every reading is ttl/4 after the last: a poll that crawls over a slow link (latency
    # or a trickle under the read timeout on every call), without the wait
    slow = Clock(step=ttl / 4)
    source = make_source(two_phase.config, cfg, RetryPolicy(attempts=1))
    result = poll_source(two_phase.config, cfg, source, two_phase.store, clock=slow)
    assert result.outcome == "ok", result.error
    assert 0 < result.stored < MESSAGES
    assert two_phase.inbox.unread() == MESSAGES - result.stored
    two_phase.clock.now = slow.now
    two_phase.recovered()
