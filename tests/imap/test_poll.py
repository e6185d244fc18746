"""The IMAP source in whole polls against a private Dovecot: after_store move, delete, flag
and keep; what is journaled and what is left; max_messages and batching; TLS and sign-in."""

from __future__ import annotations

import hashlib
import ssl
from pathlib import Path

import pytest
from imapclient import IMAPClient

from dlrpoll.errors import SourceAuthError, SourceTLSError
from tests.imap.conftest import Poller, make_poller, source_for
from tests.support.dovecot import Mailbox, receipt_email


def ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:04d}" for i in range(n)]


def digests(payloads: list[bytes]) -> set[str]:
    return {hashlib.sha256(p).hexdigest() for p in payloads}


def test_move_fetches_journals_stores_then_moves(poller: Poller, mailbox: Mailbox) -> None:
    messages = [receipt_email(m) for m in ids("MV", 30)]
    mailbox.deliver(messages)
    result = poller.poll()
    assert result.outcome == "ok", result.error
    assert (result.fetched, result.stored, result.duplicates) == (30, 30, 0)
    assert sorted(poller.receipts()) == ids("MV", 30)
    assert mailbox.count() == 0
    # the moved messages are exactly the journaled bytes, and each remote id names one
    journal = poller.journal()
    assert digests([m.data for m in mailbox.messages("Done")]) == digests([p for _, p in journal])
    assert all(rid.count(":") == 1 and rid.split(":")[1].isdigit() for rid, _ in journal)
    again = poller.poll()
    assert (again.outcome, again.fetched) == ("ok", 0)


def test_move_to_a_nested_folder_creates_it(mailbox: Mailbox, tmp_path: Path) -> None:
    poller = make_poller(mailbox, tmp_path, move_to="Receipts/Done")
    mailbox.deliver([receipt_email("NEST1")])
    assert poller.poll().outcome == "ok"
    assert mailbox.count("Receipts/Done") == 1
    assert mailbox.count() == 0


def test_delete_removes_exactly_what_was_journaled(mailbox: Mailbox, tmp_path: Path) -> None:
    poller = make_poller(mailbox, tmp_path, after_store="delete", move_to=None)
    mailbox.deliver(receipt_email(m) for m in ids("DL", 12))
    result = poller.poll()
    assert (result.outcome, result.stored) == ("ok", 12)
    assert mailbox.count() == 0
    assert len(poller.journal()) == 12


def test_flag_marks_seen_and_never_fetches_twice(mailbox: Mailbox, tmp_path: Path) -> None:
    poller = make_poller(mailbox, tmp_path, after_store="flag", move_to=None)
    mailbox.deliver(receipt_email(m) for m in ids("FL", 8))
    first = poller.poll()
    assert (first.outcome, first.stored) == ("ok", 8)
    assert mailbox.count() == 8
    assert all(m.seen for m in mailbox.messages())
    # someone marks one unread again: it is flagged again, not fetched again
    with imap(mailbox) as client:
        client.select_folder("INBOX")
        client.remove_flags(client.search("ALL")[:1], [b"\\Seen"])
    assert sum(m.seen for m in mailbox.messages()) == 7
    second = poller.poll()
    assert (second.outcome, second.fetched) == ("ok", 0)
    assert all(m.seen for m in mailbox.messages())
    assert len(poller.journal()) == 8


def test_keep_changes_nothing_on_the_server(mailbox: Mailbox, tmp_path: Path) -> None:
    poller = make_poller(mailbox, tmp_path, after_store="keep", move_to=None)
    mailbox.deliver(receipt_email(m) for m in ids("KP", 6))
    first = poller.poll()
    assert (first.outcome, first.stored) == ("ok", 6)
    # BODY.PEEK and EXAMINE: no \Seen, nothing moved
    assert mailbox.count() == 6
    assert not any(m.seen for m in mailbox.messages())
    mailbox.deliver([receipt_email("KP-late")])
    second = poller.poll()
    assert (second.outcome, second.fetched, second.stored) == ("ok", 1, 1)
    assert mailbox.count() == 7


def test_journaled_messages_left_behind_are_acted_on_without_refetching(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    # a poll that journaled but never acknowledged (as after a crash) is played by "keep"
    keep = make_poller(mailbox, tmp_path, after_store="keep", move_to=None)
    mailbox.deliver(receipt_email(m) for m in ids("LB", 5))
    assert keep.poll().stored == 5
    move = Poller(mailbox, make_poller(mailbox, tmp_path).cfg, keep.db, keep.clock)
    result = move.poll()
    assert (result.outcome, result.fetched) == ("ok", 0)
    assert mailbox.count() == 0
    assert mailbox.count("Done") == 5


def test_max_messages_and_small_batches(mailbox: Mailbox, tmp_path: Path) -> None:
    poller = make_poller(mailbox, tmp_path, max_messages=10, fetch_batch=3)
    mailbox.deliver(receipt_email(m) for m in ids("MX", 25))
    first = poller.poll()
    assert (first.outcome, first.fetched) == ("ok", 10)
    assert mailbox.count() == 15
    poller.poll()
    poller.poll()
    assert mailbox.count() == 0
    assert sorted(poller.receipts()) == ids("MX", 25)


def test_uidvalidity_change_loses_and_doubles_nothing(
    mailbox: Mailbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    poller = make_poller(mailbox, tmp_path, after_store="keep", move_to=None)
    mailbox.deliver(receipt_email(m) for m in ids("UV", 10))
    assert poller.poll().stored == 10
    before = {rid.split(":")[0] for rid, _ in poller.journal()}
    mailbox.set_uidvalidity(12345)
    mailbox.deliver(receipt_email(m) for m in ids("UW", 3))
    result = poller.poll()
    assert result.outcome == "ok", result.error
    # the renumbered folder is read again; its receipts are recognised by content
    assert (result.fetched, result.stored, result.duplicates) == (13, 3, 10)
    receipts = poller.receipts()
    assert sorted(receipts) == sorted(ids("UV", 10) + ids("UW", 3))
    after = {rid.split(":")[0] for rid, _ in poller.journal()} - before
    assert after == {"12345"}
    assert "UIDVALIDITY of INBOX changed from" in caplog.text
    assert poller.poll().fetched == 0


def test_oversize_message_stays_and_makes_the_poll_partial(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    poller = make_poller(mailbox, tmp_path, max_size=4000)
    big = receipt_email(ids("BIG", 60))  # 60 receipts: over 4000 bytes
    assert len(big) > 4000
    mailbox.deliver([big, *(receipt_email(m) for m in ids("SM", 5))])
    result = poller.poll()
    assert result.outcome == "partial"
    assert result.stored == 5
    assert "over max_size" in str(result.error) and "UID" in str(result.error)
    assert len(result.held) == 1
    assert [m.data for m in mailbox.messages()] == [big]  # left where it was, untouched
    assert mailbox.count("Done") == 5
    assert all(p != big for _, p in poller.journal())
    again = poller.poll()
    assert (again.outcome, again.fetched) == ("partial", 0)


def test_a_message_the_server_cannot_return_blocks_nothing_else(
    mailbox: Mailbox, tmp_path: Path
) -> None:
    poller = make_poller(mailbox, tmp_path, fetch_batch=50)
    mailbox.deliver(receipt_email(m) for m in ids("OK", 9))
    [bad] = mailbox.deliver([receipt_email("UNREADABLE")])
    mailbox.deliver(receipt_email(m) for m in ids("OL", 9))
    # unreadable for Dovecot's mail processes (uid 65534); Dovecot hangs up on it
    bad.chmod(0)
    result = poller.poll()
    assert result.outcome == "partial", result.error
    assert result.stored == 18
    assert "could not be fetched" in str(result.error)
    assert sorted(poller.receipts()) == sorted(ids("OK", 9) + ids("OL", 9))
    assert mailbox.count() == 1 and mailbox.count("Done") == 18
    bad = mailbox.messages()[0].path
    bad.chmod(0o600)
    healed = poller.poll()
    assert (healed.outcome, healed.stored) == ("ok", 1)
    assert mailbox.count() == 0


def test_starttls_and_plaintext(mailbox: Mailbox, tmp_path: Path) -> None:
    for tls in ("starttls", "none"):
        poller = make_poller(mailbox, tmp_path / tls, tls=tls)
        (tmp_path / tls).mkdir()
        mailbox.deliver([receipt_email(f"TLS-{tls}")])
        result = poller.poll()
        assert (result.outcome, result.stored) == ("ok", 1), result.error


def test_wrong_password_is_refused_clearly(mailbox: Mailbox, tmp_path: Path) -> None:
    poller = make_poller(mailbox, tmp_path)
    source = source_for(mailbox, poller.cfg, password="wrong")
    with pytest.raises(SourceAuthError, match="refused the credentials"):
        with source.open():
            pass
    result = poller.poll(source)
    assert result.outcome == "error" and "refused the credentials" in str(result.error)


def test_an_untrusted_certificate_is_refused(mailbox: Mailbox, tmp_path: Path) -> None:
    poller = make_poller(mailbox, tmp_path, ca_file=None)
    with pytest.raises(SourceTLSError, match="certificate was rejected"):
        with source_for(mailbox, poller.cfg).open():
            pass


def test_a_missing_folder_names_the_folders_there(mailbox: Mailbox, tmp_path: Path) -> None:
    poller = make_poller(mailbox, tmp_path, folder="Receipts")
    result = poller.poll()
    assert result.outcome == "error"
    assert "cannot open folder 'Receipts'" in str(result.error)
    assert "INBOX" in str(result.error)


def imap(box: Mailbox) -> IMAPClient:
    """A plain IMAPClient session of ``box``'s user, for a test to look or meddle."""
    ctx = ssl.create_default_context(cafile=str(box.server.ca_file))
    client = IMAPClient("127.0.0.1", port=box.server.imaps_port, ssl_context=ctx, timeout=10)
    client.login(box.user, box.password)
    return client
