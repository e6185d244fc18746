"""The POP3 session against a real Dovecot on 127.0.0.1: TLS modes, fetching, pipelining,
windows, deletes, oversize messages, UIDL trouble, and every error it maps."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from dlrpoll.errors import (
    ShutdownRequested,
    SourceAuthError,
    SourceConnectError,
    SourceProtocolError,
    SourceTimeoutError,
    SourceTLSError,
)
from dlrpoll.sources import Batch
from dlrpoll.sources.pop3 import Pop3Source
from dlrpoll.sources.pop3.listing import content_key
from dlrpoll.sources.pop3.wire import Wire
from dlrpoll.sources.retry import RetryPolicy
from tests.pop3.conftest import source_for
from tests.support.dovecot import Dovecot, Mailbox, free_port, make_ca, receipt_email
from tests.support.faultproxy import FaultProxy


def nothing_known(ids: Sequence[str]) -> set[str]:
    return set()


def drain(
    source: Pop3Source,
    known: Callable[[Sequence[str]], set[str]] = nothing_known,
    *,
    acknowledge: bool = True,
) -> list[Batch]:
    """One session: every batch, acknowledged as the poller would after committing it."""
    batches = []
    with source.open() as session:
        for batch in session.batches(known):
            batches.append(batch)
            if acknowledge:
                session.acknowledge(batch)
    return batches


def items_of(batches: list[Batch]) -> list[bytes]:
    return [item.payload for batch in batches for item in batch.items]


def never_retry() -> RetryPolicy:
    """A policy that fails loudly if anything tries to wait for a retry."""
    stop = threading.Event()
    stop.set()
    return RetryPolicy(attempts=3, stop=stop)


@pytest.mark.parametrize("tls", ["none", "ssl", "starttls"])
def test_fetches_everything_and_deletes_after_acknowledge(mailbox: Mailbox, tls: str) -> None:
    messages = [receipt_email(f"M{tls}{i}") for i in range(25)]
    mailbox.deliver(messages)

    batches = drain(source_for(mailbox, tls, pipeline_window=10))

    assert sorted(items_of(batches)) == sorted(messages)
    items = [item for batch in batches for item in batch.items]
    assert all(item.format == "email" and item.parse_error is None for item in items)
    assert len({item.remote_id for item in items}) == 25
    assert [len(b.items) for b in batches] == [10, 10, 5]
    assert mailbox.count() == 0
    [session] = mailbox.server.wait_sessions(mailbox.user, 1)
    assert session == {"top": 0, "retr": 25, "del": 25, "msgs": 25}


def test_dot_stuffed_lines_come_back_verbatim(mailbox: Mailbox) -> None:
    tricky = (
        b"Subject: dots\r\n\r\n.\r\n..\r\n.leading dot\r\n...three\r\nend.\r\n"
        b"\r\n.\r\nlast line without dot\r\n"
    )
    empty_body = b"Subject: empty\r\n\r\n"
    mailbox.deliver([tricky, empty_body])
    got = items_of(drain(source_for(mailbox, "none")))
    assert sorted(got) == sorted([tricky, empty_body])


def test_without_pipelining_one_command_at_a_time(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = [receipt_email(f"L{i}") for i in range(5)]
    mailbox.deliver(messages)
    depths: list[int] = []
    original = Wire.exchange

    def spy(self: Wire, commands: Sequence[bytes], **kw: int) -> object:
        depths.append(kw["depth"])
        return original(self, commands, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Wire, "exchange", spy)
    monkeypatch.setattr("poplib.POP3.capa", lambda self: {"UIDL": [], "TOP": []})
    source = source_for(mailbox, "none", pipeline_window=3)
    with source.open() as session:
        assert session.pipelining is False
        batches = list(session.batches(nothing_known))
    assert sorted(items_of(batches)) == sorted(messages)
    assert set(depths) == {1}


def test_known_messages_are_not_fetched_but_deleted(mailbox: Mailbox) -> None:
    mailbox.deliver([receipt_email(f"K{i}") for i in range(6)])
    with source_for(mailbox, "none").open() as session:
        first = [i.remote_id for b in session.batches(nothing_known) for i in b.items]
    journaled = set(first[:4])

    batches = drain(source_for(mailbox, "none"), lambda ids: journaled & set(ids))

    fetched = {i.remote_id for b in batches for i in b.items}
    assert fetched == set(first[4:])
    assert {k for b in batches for k in b.known} == journaled
    assert mailbox.count() == 0
    sessions = mailbox.server.wait_sessions(mailbox.user, 2)
    assert sessions[1]["retr"] == 2 and sessions[1]["del"] == 6


def test_delete_never_keeps_everything(mailbox: Mailbox) -> None:
    mailbox.deliver([receipt_email(f"N{i}") for i in range(3)])
    batches = drain(source_for(mailbox, "ssl", delete="never"))
    assert len(items_of(batches)) == 3
    assert mailbox.count() == 3
    [session] = mailbox.server.wait_sessions(mailbox.user, 1)
    assert session["del"] == 0


def test_nothing_is_deleted_without_acknowledge(mailbox: Mailbox) -> None:
    mailbox.deliver([receipt_email(f"A{i}") for i in range(3)])
    drain(source_for(mailbox, "ssl"), acknowledge=False)
    assert mailbox.count() == 3


def test_max_messages_per_poll(mailbox: Mailbox) -> None:
    mailbox.deliver([receipt_email(f"X{i}") for i in range(7)])
    source = source_for(mailbox, "none", max_messages=3, pipeline_window=2)
    first = drain(source)
    assert [len(b.items) for b in first] == [2, 1]
    assert mailbox.count() == 4
    assert len(items_of(drain(source))) == 3
    assert len(items_of(drain(source))) == 1
    assert mailbox.count() == 0


def test_an_oversize_message_stays_on_the_server_with_a_record(mailbox: Mailbox) -> None:
    big = receipt_email("BIG", subject="big one") + b"x" * 70 + (b"y" * 78 + b"\r\n") * 2000
    small = receipt_email("SMALL")
    mailbox.deliver([big, small])

    batches = drain(source_for(mailbox, "ssl", max_size="64KiB"))

    items = {i.format: i for b in batches for i in b.items}
    assert set(items) == {"email", "email-headers"}
    assert items["email"].payload == small
    record = items["email-headers"]
    assert record.payload.startswith(b"From: dlr@provider.example")
    assert b"Subject: big one" in record.payload and b"yyyy" not in record.payload
    assert record.remote_id is not None and record.remote_id.endswith(" over max_size 65536")
    assert record.ack is None
    size_kib = f"{len(big) / 1024:.1f}"
    assert record.parse_error is not None
    assert f"is {size_kib} KiB, over max_size 64 KiB" in record.parse_error
    assert "still on the server" in record.parse_error and "raise max_size" in record.parse_error
    [held] = [h for b in batches for h in b.held]
    assert held == record.parse_error
    assert mailbox.count() == 1  # only the small one, journaled whole, was deleted
    [session] = mailbox.server.wait_sessions(mailbox.user, 1)
    assert session["top"] == 0 and session["del"] == 1


def test_shared_uidls_are_keyed_by_content(dovecot_dup_uidl: Dovecot) -> None:
    box = dovecot_dup_uidl.mailbox()
    messages = [receipt_email(f"D{i}") for i in range(4)]
    box.deliver(messages)
    source = source_for(box, "none")

    with source.open() as session:
        first = list(session.batches(nothing_known))
    keys = [i.remote_id for i in first[0].items]
    by_payload = {i.payload: i.remote_id for i in first[0].items}
    assert sorted(by_payload) == sorted(messages)
    assert all(key == content_key(payload) for payload, key in by_payload.items())
    assert len(set(keys)) == 4

    # same keys at the next session: a journaled message is recognised and deleted, the
    # others are handed over
    batches = drain(source, lambda ids: set(ids) & set(keys[:2]))
    assert sorted(i.remote_id for b in batches for i in b.items) == sorted(keys[2:])
    assert sorted(k for b in batches for k in b.known) == sorted(keys[:2])
    assert box.count() == 0


def test_server_without_uidl_keys_messages_by_content(
    mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Dovecot always has UIDL; rename the command on the way out so it answers -ERR like a
    # server without it
    original = Wire.exchange

    def no_uidl(self: Wire, commands: Sequence[bytes], **kw: int) -> object:
        commands = [b"XUIDL" if c == b"UIDL" else c for c in commands]
        return original(self, commands, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(Wire, "exchange", no_uidl)
    mailbox.deliver([receipt_email(f"H{i}") for i in range(3)])
    source = source_for(mailbox, "none", name="nouidl")
    with caplog.at_level(logging.WARNING), source.open() as session:
        items = [i for b in session.batches(nothing_known) for i in b.items]
    keys = [i.remote_id for i in items]
    assert keys == [content_key(i.payload) for i in items] and len(set(keys)) == 3
    batches = drain(source, lambda ids: set(ids) & set(keys))
    assert items_of(batches) == []
    assert sorted(batches[0].known) == sorted(keys)
    assert mailbox.count() == 0
    warnings = [r for r in caplog.records if "does not support UIDL" in r.getMessage()]
    assert len(warnings) == 1  # said once, not at every poll


def test_wrong_password_is_permanent_and_fast(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    mailbox.deliver([receipt_email("W1")])
    wrong = "s3cret-wrong-Pa55"
    source = source_for(mailbox, "ssl", password=wrong, retry=never_retry())
    with caplog.at_level(logging.DEBUG), pytest.raises(SourceAuthError) as info:
        drain(source)
    message = str(info.value)
    assert "refused the credentials" in message and "'box'" in message
    assert wrong not in message and wrong not in caplog.text
    assert mailbox.count() == 1


@pytest.mark.parametrize("tls", ["ssl", "starttls"])
def test_a_certificate_from_another_ca_is_rejected(
    mailbox: Mailbox, tls: str, tmp_path: Path
) -> None:
    other_ca, _key = make_ca(tmp_path, "other")
    source = source_for(mailbox, tls, ca_file=str(other_ca), retry=never_retry())
    with pytest.raises(SourceTLSError, match="certificate was rejected"):
        drain(source)


def test_system_store_rejects_the_private_ca(mailbox: Mailbox) -> None:
    source = source_for(mailbox, "ssl", ca_file=None, retry=never_retry())
    with pytest.raises(SourceTLSError, match="certificate was rejected"):
        drain(source)


def test_unreadable_ca_file_names_the_fix(mailbox: Mailbox, tmp_path: Path) -> None:
    source = source_for(mailbox, "ssl", ca_file=str(tmp_path / "missing.pem"))
    with pytest.raises(SourceTLSError, match="cannot use ca_file"):
        drain(source)


def test_tls_against_the_plain_port_is_a_tls_error(mailbox: Mailbox) -> None:
    source = source_for(mailbox, "ssl", port=mailbox.server.port, retry=never_retry())
    with pytest.raises(SourceTLSError, match="TLS failed"):
        drain(source)


def test_refused_connection_is_retried_then_reported(
    mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    sleeps: list[float] = []

    class CountingPolicy(RetryPolicy):
        def sleep(self, seconds: float) -> None:
            sleeps.append(seconds)

    source = source_for(
        mailbox, "none", port=free_port(), retry=CountingPolicy(attempts=3, wait_initial=0)
    )
    with caplog.at_level(logging.WARNING), pytest.raises(SourceConnectError, match="refused"):
        drain(source)
    assert len(sleeps) == 2
    assert caplog.text.count("attempt") == 2


def test_shutdown_interrupts_the_wait_between_retries(mailbox: Mailbox) -> None:
    source = source_for(mailbox, "none", port=free_port(), retry=never_retry())
    with pytest.raises(ShutdownRequested):
        drain(source)


def test_silent_server_times_out(mailbox: Mailbox) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # the kernel completes the handshake; nobody ever greets
        port = silent.getsockname()[1]
        source = source_for(mailbox, "none", port=port, timeout=0.3)
        with pytest.raises(SourceTimeoutError, match="no answer within 0.3 s"):
            drain(source)


def test_a_cut_off_download_is_never_handed_over(mailbox: Mailbox) -> None:
    messages = [receipt_email(f"C{i}") + b"z" * 3000 + b"\r\n" for i in range(40)]
    mailbox.deliver(messages)
    got: list[Batch] = []
    with FaultProxy("127.0.0.1", mailbox.server.port) as proxy:
        # well past login and listing, in the middle of the second window's RETR answers
        proxy.cut_after(60_000, times=1)
        source = source_for(mailbox, "none", port=proxy.port, pipeline_window=10)
        with pytest.raises(SourceConnectError), source.open() as session:
            for batch in session.batches(nothing_known):
                got.append(batch)
                session.acknowledge(batch)
        assert proxy.faults == 1
    complete = items_of(got)
    assert len(complete) == 10
    assert all(payload in messages for payload in complete)
    # no QUIT went through, so the server applied no delete: everything is still there,
    # and the next poll fetches what was not committed
    assert mailbox.count() == 40
    rest = drain(source_for(mailbox, "none"))
    assert sorted(items_of(rest)) == sorted(messages)
    assert mailbox.count() == 0


def test_refused_dele_is_a_protocol_error(mailbox: Mailbox) -> None:
    mailbox.deliver([receipt_email("E1")])
    with pytest.raises(SourceProtocolError, match="DELE refused"):
        with source_for(mailbox, "none").open() as session:
            for batch in session.batches(nothing_known):
                session.acknowledge(Batch(items=batch.items, ack=[1, 99]))
    # the error ended the session with QUIT: the committed message's DELE still applies
    assert mailbox.count() == 0


def test_repr_and_errors_never_show_the_password(mailbox: Mailbox) -> None:
    source = source_for(mailbox, "none", password="hunter2-hunter2")
    assert "hunter2" not in repr(source)
    assert "hunter2" not in repr(source.cfg)


def test_an_error_in_the_poller_still_applies_committed_deletes(mailbox: Mailbox) -> None:
    mailbox.deliver([receipt_email(f"P{i}") for i in range(9)])
    source = source_for(mailbox, "ssl", pipeline_window=3)
    with pytest.raises(RuntimeError, match="store failed"), source.open() as session:
        for n, batch in enumerate(session.batches(nothing_known)):
            if n == 1:
                # the next window's RETRs are already on the wire: the session must read
                # past them to QUIT cleanly
                raise RuntimeError("store failed")
            session.acknowledge(batch)
    assert mailbox.count() == 6  # the first, acknowledged batch is gone; nothing else
