"""Whole polls of a real Dovecot mailbox through ``poll_source``: fetch, journal, parse,
store, delete, and what lands in the database."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import Secret
from dlrpoll.poller import PollResult, poll_source
from dlrpoll.sources.pop3 import Pop3Source
from dlrpoll.sources.retry import RetryPolicy
from dlrpoll.store import Store
from tests.pop3.conftest import SteppingClock, cfg_for, loaded_config
from tests.support.dovecot import Mailbox, make_ca, receipt_email


class Poller:
    """Polls one mailbox into one database, the way the daemon would."""

    def __init__(self, box: Mailbox, db: Path, tls: str = "ssl", **overrides: Any) -> None:
        self.box = box
        self.db = db
        self.cfg = cfg_for(box, tls, **overrides)
        self.config = loaded_config(self.cfg, box.password, str(db))
        self.store = Store(self.config.database_url)
        self.clock = SteppingClock()

    def poll(self, password: str | None = None, retry: RetryPolicy | None = None) -> PollResult:
        secret = self.config.secret(self.cfg.name, "password")
        if password is not None:
            secret = Secret(password, "test")
        source = Pop3Source(self.cfg, secret, retry or RetryPolicy(attempts=1))
        self.clock.jump()  # past the two-minute floor since the last poll
        return poll_source(self.config, self.cfg, source, self.store, clock=self.clock)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql).fetchall()

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def poller(mailbox: Mailbox, tmp_path: Path) -> Any:
    made: list[Poller] = []

    def make(tls: str = "ssl", **overrides: Any) -> Poller:
        p = Poller(mailbox, tmp_path / "dlrpoll.sqlite", tls, **overrides)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.mark.parametrize("tls", ["none", "ssl", "starttls"])
def test_receipts_are_stored_and_the_mailbox_emptied(
    mailbox: Mailbox, poller: Any, tls: str
) -> None:
    mailbox.deliver([receipt_email(f"R-{tls}-{i}") for i in range(5)])
    p = poller(tls)

    result = p.poll()

    assert (result.outcome, result.fetched, result.stored, result.quarantined) == ("ok", 5, 5, 0)
    assert sorted(r[0] for r in p.rows("SELECT message_id FROM receipts")) == sorted(
        f"R-{tls}-{i}" for i in range(5)
    )
    assert mailbox.count() == 0


def test_an_email_with_several_receipts(mailbox: Mailbox, poller: Any) -> None:
    mailbox.deliver([receipt_email(["S1", "S2", "S3"]), receipt_email("S4", stat="UNDELIV")])
    p = poller()
    result = p.poll()
    assert (result.fetched, result.stored) == (2, 4)
    rows = p.rows("SELECT message_id, state FROM receipts ORDER BY message_id")
    assert [r[0] for r in rows] == ["S1", "S2", "S3", "S4"]
    assert rows[3][1] == "UNDELIVERABLE"
    assert p.rows("SELECT receipts FROM raw_messages ORDER BY receipts") == [(1,), (3,)]


def test_an_email_that_is_not_a_receipt_is_quarantined(mailbox: Mailbox, poller: Any) -> None:
    newsletter = (
        b"From: news@provider.example\r\nSubject: Our new prices\r\n\r\n"
        b"Dear customer, prices change on Monday.\r\n"
    )
    mailbox.deliver([newsletter, receipt_email("Q1")])
    p = poller()
    result = p.poll()
    assert (result.fetched, result.stored, result.quarantined) == (2, 1, 1)
    [(payload, reason)] = p.rows(
        "SELECT payload, parse_error FROM raw_messages WHERE parse_error IS NOT NULL"
    )
    assert payload == newsletter  # kept whole, for an operator or a later reparse
    assert reason
    assert mailbox.count() == 0  # journaled, so deleting it loses nothing


def test_an_oversize_email_stays_until_max_size_is_raised(mailbox: Mailbox, poller: Any) -> None:
    big = receipt_email("BIG") + (b"x" * 98 + b"\r\n") * 30_000  # about 2.9 MiB
    mailbox.deliver([big, receipt_email("OK1")])
    p = poller(max_size="1MiB")

    result = p.poll()

    assert (result.outcome, result.fetched, result.stored, result.quarantined) == (
        "partial",
        2,
        1,
        1,
    )
    [(fmt, payload, reason, remote_id)] = p.rows(
        "SELECT format, payload, parse_error, remote_id FROM raw_messages "
        "WHERE parse_error IS NOT NULL"
    )
    assert fmt == "email-headers" and remote_id.endswith("over max_size 1048576")
    assert payload.startswith(b"From: dlr@provider.example") and b"xxxx" not in payload
    assert "is 2.9 MiB, over max_size 1 MiB; it is still on the server" in reason
    assert "raise max_size for source 'box' above 2.9 MiB" in reason
    [(outcome, error)] = p.rows("SELECT outcome, error FROM poll_runs")
    assert outcome == "partial" and "1 item(s) left on the server" in error
    assert mailbox.count() == 1  # the big one waits on the server

    # the next poll does not download it again, and still says it is there
    again = p.poll()
    assert (again.outcome, again.fetched) == ("partial", 0)
    assert mailbox.server.wait_sessions(mailbox.user, 2)[1]["retr"] == 0

    # raising max_size fetches it whole: its receipt is stored, then it is deleted
    raised = poller(max_size="4MiB")
    raised.clock = p.clock  # one timeline: past the floor since the last poll
    whole = raised.poll()
    assert (whole.outcome, whole.fetched, whole.stored) == ("ok", 1, 1)
    assert sorted(r[0] for r in raised.rows("SELECT message_id FROM receipts")) == ["BIG", "OK1"]
    assert raised.rows("SELECT payload FROM raw_messages WHERE format = 'email' AND "
                       "remote_id NOT LIKE '% %' ORDER BY id DESC LIMIT 1") == [(big,)]  # fmt: skip
    assert mailbox.count() == 0


def test_delete_never_second_poll_fetches_and_stores_nothing(mailbox: Mailbox, poller: Any) -> None:
    mailbox.deliver([receipt_email(f"NV{i}") for i in range(4)])
    p = poller(delete="never")

    first = p.poll()
    second = p.poll()

    assert (first.fetched, first.stored) == (4, 4)
    assert (second.outcome, second.fetched, second.stored) == ("ok", 0, 0)
    assert mailbox.count() == 4
    sessions = mailbox.server.wait_sessions(mailbox.user, 2)
    assert [s["retr"] for s in sessions] == [4, 0]  # nothing downloaded again
    assert [s["del"] for s in sessions] == [0, 0]


def test_wrong_password_fails_the_poll_without_retrying(
    mailbox: Mailbox, poller: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox.deliver([receipt_email("WP1")])
    p = poller()
    stop = threading.Event()
    stop.set()  # a retry would wait, and this wait raises instead: none may happen
    wrong = "Tr0ub4dor&3-not-it"

    result = p.poll(password=wrong, retry=RetryPolicy(attempts=4, stop=stop))

    assert result.outcome == "error"
    assert result.error is not None and "refused the credentials" in result.error
    [(outcome, error)] = p.rows("SELECT outcome, error FROM poll_runs")
    assert outcome == "error" and "refused the credentials" in error
    assert wrong not in error and wrong not in caplog.text
    assert mailbox.count() == 1


def test_a_killed_session_is_completed_by_the_next_poll(mailbox: Mailbox, poller: Any) -> None:
    """Messages journaled by a poll whose DELEs never took effect are deleted, not fetched
    again, by the next poll; their receipts are stored once."""
    mailbox.deliver([receipt_email(f"KS{i}") for i in range(6)])
    p = poller(pipeline_window=2)
    source = Pop3Source(p.cfg, p.config.secret("box", "password"), RetryPolicy(attempts=1))
    with source.open() as session:
        for batch in session.batches(lambda ids: p.store.known_remote_ids("box", ids)):
            p.store.journal("box", batch.items, p.clock())
            break  # the process "dies" after the first commit: no DELE, no parse, no QUIT
    assert mailbox.count() == 6

    result = p.poll()

    assert p.rows("SELECT count(*), count(DISTINCT message_id) FROM receipts") == [(6, 6)]
    assert result.fetched == 4  # the two journaled ones were not downloaded again
    assert mailbox.count() == 0


def test_a_wrong_ca_fails_the_poll_and_touches_nothing(
    mailbox: Mailbox, poller: Any, tmp_path: Path
) -> None:
    other_ca, _key = make_ca(tmp_path, "other")
    mailbox.deliver([receipt_email("CA1")])
    p = poller("starttls", ca_file=str(other_ca))
    result = p.poll()
    assert result.outcome == "error"
    assert result.error is not None and "certificate was rejected" in result.error
    assert p.rows("SELECT count(*) FROM raw_messages") == [(0,)]
    assert mailbox.count() == 1
