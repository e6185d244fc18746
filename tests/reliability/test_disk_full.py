"""Disk full: the database sits on a 2 MiB tmpfs that fills up in the middle of a poll. The
poll fails with the StorageFullError message, nothing is acknowledged to the server, and
once space is freed the next poll completes with every receipt stored exactly once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import LoadedConfig
from dlrpoll.errors import StorageFullError
from dlrpoll.poller import PollResult, poll_source
from dlrpoll.sources import RetryPolicy, make_source
from dlrpoll.store import Store
from tests.reliability.conftest import fill
from tests.reliability.workload import (
    Clock,
    check_promise,
    email,
    loaded_config,
    message_id,
    pop3_source,
    rows,
)
from tests.support.dovecot import Dovecot

MESSAGES = 60
PAD = 6000  # about 6 KiB each: the batch needs far more room than is left
#: What ``fill`` leaves free: enough for the claim, not for the batch.
LEAVE = 24 * 1024
#: StorageFullError's message, as the poll records it
FULL_WORDS = "the disk holding the database is full"


def _poll(config: LoadedConfig, store: Store, clock: Clock) -> PollResult:
    cfg = config.settings.sources[0]
    source = make_source(config, cfg, RetryPolicy(attempts=1))
    clock.tick()
    return poll_source(config, cfg, source, store, clock=clock)


def _fill_on_first(
    store: Store, method: str, directory: Path, filled: list[Path]
) -> Callable[..., Any]:
    """Wrap ``store.method`` so that its first call fills the filesystem first: the disk
    runs out in the middle of the poll, at that step."""
    real = getattr(store, method)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not filled:
            filled.append(fill(directory, LEAVE))
        return real(*args, **kwargs)

    return wrapper


def _recorded_or_logged(db: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The failed run is in ``poll_runs`` with its reason; or, when even that row does not
    fit on the full disk, the log says the run could not be recorded (never silence)."""
    runs = rows(db, "SELECT outcome, error FROM poll_runs ORDER BY id DESC LIMIT 1")
    if runs:
        [(outcome, error)] = runs
        assert outcome == "error" and FULL_WORDS in error
    else:
        assert "could not record the poll run" in caplog.text
        assert FULL_WORDS in caplog.text


@pytest.fixture
def pop3_setup(
    dovecot: Dovecot, small_fs: Path
) -> Iterator[tuple[LoadedConfig, Store, Path, Any, list[str]]]:
    box = dovecot.mailbox()
    expected = [message_id("F", i) for i in range(MESSAGES)]
    box.deliver(email(m, pad=PAD) for m in expected)
    db = small_fs / "dlr.sqlite"
    src = pop3_source("box", dovecot.port, box.user, timeout=2.0)
    config = loaded_config([src], db, passwords={"box": box.password})
    store = Store(config.database_url, busy_timeout=5)
    try:
        yield config, store, db, box, expected
    finally:
        store.close()


@pytest.mark.parametrize("step", ["journal", "store_parsed"])
def test_pop3_disk_full_mid_poll_acknowledges_nothing_and_recovers(
    pop3_setup: tuple[LoadedConfig, Store, Path, Any, list[str]],
    small_fs: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
    step: str,
) -> None:
    config, store, db, box, expected = pop3_setup
    filled: list[Path] = []
    monkeypatch.setattr(store, step, _fill_on_first(store, step, small_fs, filled))

    result = _poll(config, store, clock)

    assert filled, "the disk was never filled: the poll did not reach the step"
    assert result.outcome == "error", result.line()
    assert result.error and FULL_WORDS in result.error
    assert box.count() == MESSAGES  # no DELE reached the server (or none was applied)
    _recorded_or_logged(db, caplog)

    filled[0].unlink()  # space is freed
    monkeypatch.undo()
    result = _poll(config, store, clock)
    assert result.outcome == "ok", result.line()
    tally = check_promise(db, expected)
    assert (tally.stored, tally.lost, tally.duplicated) == (MESSAGES, 0, 0)
    assert box.count() == 0


def test_storage_full_is_what_the_store_raises(small_fs: Path) -> None:
    """The error class, not just its words: a full disk is a StorageFullError."""
    from dlrpoll.rawitem import RawItem
    from tests.reliability.workload import T0

    store = Store(f"sqlite:///{small_fs / 'direct.sqlite'}", busy_timeout=5)
    try:
        filler = fill(small_fs, LEAVE)
        items = [RawItem(f"r{i}", b"x" * 6000, "text") for i in range(MESSAGES)]
        with pytest.raises(StorageFullError, match="free space on that filesystem"):
            store.journal("box", items, T0)
        filler.unlink()
        assert len(store.journal("box", items, T0)) == MESSAGES
    finally:
        store.close()


#: Two-phase journals and stores each message in transactions of its own, and each appends
#: its pages to the WAL again (about 60 KiB a message here) until a checkpoint at 1,000
#: pages (4 MiB): a few messages are what a 2 MiB filesystem holds.
SOAP_MESSAGES = 12


@contextmanager
def _soap_setup(
    small_fs: Path, mode: str, prefix: str, **extra: object
) -> Iterator[tuple[LoadedConfig, Store, Path, Any, list[str]]]:
    """A sandbox inbox loaded with long receipts and a store on the small filesystem."""
    from dlrpoll.sandbox.soap_inbox import SoapInbox
    from tests.reliability.workload import smpp_text

    with SoapInbox(token="t", signature="s") as inbox:
        expected = [message_id(prefix, i) for i in range(SOAP_MESSAGES)]
        # long receipt texts: each two-phase message is journaled on its own, so the first
        # must already not fit in what is left
        inbox.load(smpp_text(m) + "x" * 4000 for m in expected)
        db = small_fs / "dlr.sqlite"
        src = {
            "name": "inbox",
            "kind": "soap",
            "wsdl": inbox.wsdl_url,
            "mode": mode,
            "profile": "smpp",
            "timeout": 2.0,
            "retries": 0,
            "args": {"token": {"env": "UNUSED_T"}, "signature": {"env": "UNUSED_S"}},
            **extra,
        }
        config = loaded_config([src], db, soap_args={"inbox": {"token": "t", "signature": "s"}})
        store = Store(config.database_url, busy_timeout=5)
        try:
            yield config, store, db, inbox, expected
        finally:
            store.close()


@pytest.fixture
def two_phase_setup(small_fs: Path) -> Iterator[tuple[LoadedConfig, Store, Path, Any, list[str]]]:
    with _soap_setup(small_fs, "two-phase", "G") as setup:
        yield setup


def test_soap_two_phase_disk_full_mid_poll_leaves_messages_unread_and_recovers(
    two_phase_setup: tuple[LoadedConfig, Store, Path, Any, list[str]],
    small_fs: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config, store, db, inbox, expected = two_phase_setup
    filled: list[Path] = []
    monkeypatch.setattr(store, "journal", _fill_on_first(store, "journal", small_fs, filled))

    result = _poll(config, store, clock)

    assert filled
    assert result.outcome == "error", result.line()
    assert result.error and FULL_WORDS in result.error
    stored = check_promise(db, expected).stored
    # whatever got its read flag is journaled and stored; everything else is still unread
    assert stored + inbox.unread() == SOAP_MESSAGES
    assert inbox.unread() > SOAP_MESSAGES // 2
    _recorded_or_logged(db, caplog)

    filled[0].unlink()
    monkeypatch.undo()
    result = _poll(config, store, clock)
    assert result.outcome == "ok", result.line()
    tally = check_promise(db, expected)
    assert (tally.stored, tally.lost, tally.duplicated) == (SOAP_MESSAGES, 0, 0)
    assert inbox.unread() == 0


@pytest.fixture
def destructive_setup(
    small_fs: Path,
) -> Iterator[tuple[LoadedConfig, Store, Path, Any, list[str]]]:
    with _soap_setup(small_fs, "destructive", "H", max_response_size="128KiB") as setup:
        yield setup


def test_soap_destructive_call_is_refused_while_the_disk_is_full(
    destructive_setup: tuple[LoadedConfig, Store, Path, Any, list[str]],
    small_fs: Path,
    clock: Clock,
) -> None:
    """A destructive fetch cannot be undone, so it is not made without room to keep it."""
    config, store, db, inbox, expected = destructive_setup
    filler = fill(small_fs, 200 * 1024)  # less than 3 x max_response_size

    result = _poll(config, store, clock)

    assert result.outcome == "error", result.line()
    assert result.error and "nothing was fetched" in result.error
    assert inbox.unread() == SOAP_MESSAGES  # the server was not asked
    filler.unlink()
    result = _poll(config, store, clock)
    assert result.outcome == "ok", result.line()
    tally = check_promise(db, expected)
    assert (tally.stored, tally.lost, tally.duplicated) == (SOAP_MESSAGES, 0, 0)


def test_soap_destructive_response_that_cannot_be_journaled_goes_to_the_log(
    destructive_setup: tuple[LoadedConfig, Store, Path, Any, list[str]],
    small_fs: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The disk fills between the call and the journal (another process wrote): the server
    has forgotten the messages, so the poll says so and logs every one in full."""
    config, store, db, inbox, expected = destructive_setup
    filled: list[Path] = []
    monkeypatch.setattr(store, "journal", _fill_on_first(store, "journal", small_fs, filled))

    result = _poll(config, store, clock)

    assert filled
    assert result.outcome == "error", result.line()
    assert result.error and "marked them read" in result.error
    assert inbox.unread() == 0
    logged = [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith("source inbox: UNJOURNALED receipt")
    ]
    assert len(logged) == SOAP_MESSAGES
    assert all(any(m in line for line in logged) for m in expected)
    filled[0].unlink()
