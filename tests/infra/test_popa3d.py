"""The second POP3 server, popa3d: private accounts and mbox, the POP3 exchange with
poplib, its differences from Dovecot, and a clean stop that leaves no mounts behind."""

from __future__ import annotations

import poplib
import socket
from pathlib import Path

import pytest

from tests.support.mail import receipt_email
from tests.support.popa3d import Mbox, Popa3d


def session(box: Mbox) -> poplib.POP3:
    client = poplib.POP3(box.host, box.port, timeout=10)
    client.user(box.user)
    client.pass_(box.password)
    return client


def test_retr_gives_back_what_was_delivered_and_dele_removes_it(second_pop3: Mbox) -> None:
    messages = [receipt_email(f"S{n}") for n in range(3)]
    assert second_pop3.deliver(messages) == 3
    client = session(second_pop3)
    try:
        assert client.stat() == (3, sum(len(m) for m in messages))
        got = [b"\r\n".join(client.retr(n)[1]) + b"\r\n" for n in (1, 2, 3)]
        assert got == messages
        client.dele(1)
        client.dele(3)
    finally:
        client.quit()
    assert second_pop3.count() == 1
    assert b"id:S1 " in second_pop3.messages()[0]


def test_a_wrong_password_is_refused(second_pop3: Mbox) -> None:
    client = poplib.POP3(second_pop3.host, second_pop3.port, timeout=10)
    try:
        client.user(second_pop3.user)
        with pytest.raises(poplib.error_proto, match="Authentication failed"):
            client.pass_("not-" + second_pop3.password)
    finally:
        client.close()


def test_what_sets_it_apart_from_dovecot(second_pop3: Mbox) -> None:
    head = b"From: a@x\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000\r\nMessage-ID: <1@x>\r\n"
    second_pop3.deliver(
        [
            head + b"Subject: one\r\n\r\nfirst\r\n",
            head.replace(b"a@x", b"b@x") + b"Subject: two\r\n\r\nsecond\r\n",
            head.replace(b"<1@x>", b"<2@x>") + b"Subject: one\r\n\r\nfirst\r\n",
            b"Subject: bare\r\n\r\nthird\r\n",
            b"Subject: also bare\r\n\r\nfourth\r\n",
        ]
    )
    client = session(second_pop3)
    try:
        with pytest.raises(poplib.error_proto, match="CAPA"):
            client.capa()  # so no PIPELINING, STLS or SASL either
        uidls = [line.split()[1] for line in client.uidl()[1]]
    finally:
        client.quit()
    # UIDL is a digest of the Received, Date and Message-ID headers only: other headers and
    # the body do not count, and messages without those headers all share one UIDL
    assert uidls[0] == uidls[1] != uidls[2]
    assert uidls[3] == uidls[4] != uidls[0]


def test_accounts_exist_only_inside_its_namespace(popa3d: Popa3d, second_pop3: Mbox) -> None:
    assert f"\n{second_pop3.user}:" in "\n" + (popa3d.root / "passwd").read_text()
    assert f"\n{second_pop3.user}:" not in "\n" + Path("/etc/passwd").read_text()
    assert not Path("/var/mail", second_pop3.user).exists()


def test_stops_and_leaves_no_mounts() -> None:
    server = Popa3d.start()
    port, root = server.port, server.root
    box = server.mailbox()
    box.deliver([receipt_email("Z")])
    assert session(box).quit().startswith(b"+OK")
    server.stop()
    assert not root.exists()
    assert str(root) not in Path("/proc/self/mounts").read_text()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_port_taken_before_the_server_binds_it_is_retried(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tests.support.popa3d as module
    from tests.support.server import free_port

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))  # as a client's local port would be: bound, silent
        taken = squatter.getsockname()[1]
        offered = iter([taken])
        monkeypatch.setattr(module, "free_port", lambda: next(offered, None) or free_port())
        with Popa3d.start() as server:
            assert server.port != taken
            box = server.mailbox()
            assert session(box).quit().startswith(b"+OK")
