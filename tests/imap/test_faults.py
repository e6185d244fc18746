"""The IMAP source against a faulty network (the fault proxy in front of Dovecot's IMAPS)
and a server that refuses the acknowledgement: every fault ends clearly within the timeout
or is recovered from, and nothing journaled is lost or acted on twice."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dlrpoll.sources.imap import session as session_module
from tests.imap.conftest import Poller, make_poller
from tests.support.dovecot import Dovecot, Mailbox, receipt_email
from tests.support.faultproxy import FaultProxy


@pytest.fixture
def proxy(dovecot_imap: Dovecot) -> Iterator[FaultProxy]:
    assert dovecot_imap.imaps_port is not None
    with FaultProxy("127.0.0.1", dovecot_imap.imaps_port) as proxy:
        yield proxy


def through(proxy: FaultProxy, box: Mailbox, tmp_path: Path, **more: object) -> Poller:
    return make_poller(box, tmp_path, port=proxy.port, timeout=1, **more)


def test_a_silent_server_times_out(proxy: FaultProxy, mailbox: Mailbox, tmp_path: Path) -> None:
    proxy.stall()
    poller = through(proxy, mailbox, tmp_path)
    start = time.monotonic()
    result = poller.poll()
    assert result.outcome == "error"
    assert "no answer within 1 s" in str(result.error)
    assert time.monotonic() - start < 5


def test_a_connection_cut_mid_fetch_is_resumed(
    proxy: FaultProxy, mailbox: Mailbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox.deliver(receipt_email(f"CUT{i:03d}") for i in range(40))
    # the first connection dies a few KB into the answers (inside the fetch of bodies);
    # the session signs in again and fetches that batch one by one
    proxy.cut_after(8000, times=1)
    poller = through(proxy, mailbox, tmp_path, fetch_batch=40)
    result = poller.poll()
    assert (result.outcome, result.stored) == ("ok", 40), result.error
    assert sorted(poller.receipts()) == [f"CUT{i:03d}" for i in range(40)]
    assert mailbox.count() == 0 and mailbox.count("Done") == 40
    assert proxy.faults == 1
    assert "UID FETCH of 40 message(s) failed" in caplog.text


def test_a_refused_move_is_an_error_and_the_next_poll_finishes_it(
    mailbox: Mailbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mailbox.deliver(receipt_email(f"RM{i}") for i in range(6))
    poller = make_poller(mailbox, tmp_path, fetch_batch=3)
    # the destination is not created: the server answers the pipelined MOVEs with NO
    with monkeypatch.context() as patch:
        patch.setattr(session_module, "ensure_move_to", lambda client, cfg: None)
        failed = poller.poll()
    assert failed.outcome == "error"
    assert 'after_store = "move" of 6 message(s) refused by the server' in str(failed.error)
    assert failed.stored == 6  # journaled and stored: only the move failed
    assert mailbox.count() == 6
    again = poller.poll()
    assert (again.outcome, again.fetched) == ("ok", 0), again.error
    assert mailbox.count() == 0 and mailbox.count("Done") == 6
