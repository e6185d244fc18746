"""Servers without MOVE (copy, \\Deleted, UID EXPUNGE of exactly the journaled UIDs) and
without UIDPLUS either (refused before anything is fetched)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.imap.conftest import make_poller
from tests.support.dovecot import Dovecot, Mailbox, receipt_email

BASE = ["IMAP4rev1", "SASL-IR", "LITERAL+", "IDLE", "NAMESPACE", "UNSELECT", "CHILDREN"]


@pytest.fixture(scope="module")
def no_move() -> Iterator[Dovecot]:
    with Dovecot.start(imap=True, capabilities=[*BASE, "UIDPLUS"]) as server:
        yield server


@pytest.fixture(scope="module")
def bare() -> Iterator[Dovecot]:
    with Dovecot.start(imap=True, capabilities=BASE) as server:
        yield server


def test_without_move_it_copies_then_expunges_exactly_those(
    no_move: Dovecot, tmp_path: Path
) -> None:
    box = no_move.mailbox()
    box.deliver(receipt_email(f"NM{i}") for i in range(10))
    # a message someone else marked \Deleted is not ours to expunge: it must survive
    box.deliver([b"Subject: someone else's\r\n\r\nmarked deleted, not journaled\r\n"])
    poller = make_poller(box, tmp_path, fetch_batch=4, max_messages=10)
    with _client(box) as client:
        client.select_folder("INBOX")
        theirs = client.search(["SUBJECT", "someone"])
        client.add_flags(theirs, [b"\\Deleted"])
    result = poller.poll()
    assert (result.outcome, result.stored) == ("ok", 10), result.error
    assert box.count("Done") == 10
    assert box.count() == 1  # only the other client's message is left
    assert b"someone else's" in box.messages()[0].data


def test_an_interrupted_copy_is_not_copied_twice(no_move: Dovecot, tmp_path: Path) -> None:
    box = no_move.mailbox()
    box.deliver(receipt_email(f"IC{i}") for i in range(3))
    keep = make_poller(box, tmp_path, after_store="keep", move_to=None)
    assert keep.poll().stored == 3
    # as if a poll died between COPY + \Deleted and UID EXPUNGE for the first message
    with _client(box) as client:
        client.create_folder("Done")
        client.select_folder("INBOX")
        first = client.search("ALL")[:1]
        client.copy(first, "Done")
        client.add_flags(first, [b"\\Deleted"])
    move = make_poller(box, tmp_path)
    move.db, move.clock = keep.db, keep.clock
    result = move.poll()
    assert (result.outcome, result.fetched) == ("ok", 0), result.error
    assert box.count() == 0
    assert box.count("Done") == 3


@pytest.mark.parametrize("policy", ["move", "delete"])
def test_without_uidplus_removing_is_refused_before_fetching(
    bare: Dovecot, tmp_path: Path, policy: str
) -> None:
    box: Mailbox = bare.mailbox()
    box.deliver(receipt_email(f"NU{i}") for i in range(3))
    poller = make_poller(
        box, tmp_path, after_store=policy, move_to="Done" if policy == "move" else None
    )
    result = poller.poll()
    assert result.outcome == "error"
    assert "UIDPLUS" in str(result.error) and 'after_store = "flag" or "keep"' in str(result.error)
    assert poller.journal() == []
    assert box.count() == 3


def test_without_uidplus_flag_still_works(bare: Dovecot, tmp_path: Path) -> None:
    box = bare.mailbox()
    box.deliver(receipt_email(f"NF{i}") for i in range(3))
    poller = make_poller(box, tmp_path, after_store="flag", move_to=None)
    result = poller.poll()
    assert (result.outcome, result.stored) == ("ok", 3)
    assert all(m.seen for m in box.messages())


def _client(box: Mailbox) -> IMAPClient:
    ctx = ssl.create_default_context(cafile=str(box.server.ca_file))
    client = IMAPClient("127.0.0.1", port=box.server.imaps_port, ssl_context=ctx, timeout=10)
    client.login(box.user, box.password)
    return client
