"""The private Dovecot with IMAP and OAuth2: password and token sign-in over every port with
the standard library's clients, the token endpoint's answers, and the Maildir helpers."""

from __future__ import annotations

import base64
import imaplib
import json
import poplib
import socket
import ssl
from collections.abc import Callable

import pytest

from tests.support.dovecot import Dovecot, Mailbox
from tests.support.mail import receipt_email


@pytest.fixture
def box(dovecot_imap: Dovecot) -> Mailbox:
    return dovecot_imap.mailbox()


def _tls(server: Dovecot) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(server.ca_file))


def imap_client(server: Dovecot, tls: str) -> imaplib.IMAP4:
    assert server.imap_port is not None and server.imaps_port is not None
    if tls == "ssl":
        client: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            server.host, server.imaps_port, ssl_context=_tls(server), timeout=10
        )
    else:
        client = imaplib.IMAP4(server.host, server.imap_port, timeout=10)
        if tls == "starttls":
            client.starttls(ssl_context=_tls(server))
    # imaplib writes an answer and its CRLF separately: without this, Nagle against delayed
    # ACK costs 40 ms per AUTHENTICATE (shared note "dovecot-imap-oauth2")
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return client


def pop3_client(server: Dovecot, tls: str) -> poplib.POP3:
    if tls == "ssl":
        return poplib.POP3_SSL(server.host, server.ssl_port, context=_tls(server), timeout=10)
    client = poplib.POP3(server.host, server.port, timeout=10)
    if tls == "starttls":
        client.stls(context=_tls(server))
    return client


def command(client: poplib.POP3, line: str) -> bytes:
    """Send one POP3 line and return the reply line; raises ``poplib.error_proto`` on -ERR
    (poplib has no public way to send AUTH)."""
    reply: bytes = client._shortcmd(line)  # type: ignore[attr-defined]
    return reply


def sasl(mechanism: str, user: str, token: str, port: int) -> bytes:
    """The SASL initial response of XOAUTH2 or OAUTHBEARER (RFC 7628), before base64."""
    if mechanism == "XOAUTH2":
        return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()
    return f"n,a={user},\x01host=127.0.0.1\x01port={port}\x01auth=Bearer {token}\x01\x01".encode()


def answering(initial: bytes, challenges: list[bytes]) -> Callable[[bytes], bytes]:
    """An imaplib AUTHENTICATE callback: the credentials first; to an error challenge (the
    server's JSON) an empty answer, after which the server says NO."""

    def respond(challenge: bytes) -> bytes:
        if not challenge:
            return initial
        challenges.append(challenge)
        return b""

    return respond


@pytest.mark.parametrize("tls", ["none", "starttls", "ssl"])
def test_imap_password_login_sees_what_was_delivered(
    dovecot_imap: Dovecot, box: Mailbox, tls: str
) -> None:
    box.deliver([receipt_email(f"I{tls}{n}") for n in range(3)])
    with imap_client(dovecot_imap, tls) as client:
        client.login(box.user, box.password)
        typ, data = client.select("INBOX")
    assert (typ, data) == ("OK", [b"3"])


@pytest.mark.parametrize(
    ("mechanism", "tls"), [("XOAUTH2", "none"), ("XOAUTH2", "ssl"), ("OAUTHBEARER", "starttls")]
)
def test_imap_signs_in_with_a_valid_token(
    dovecot_imap: Dovecot, box: Mailbox, mechanism: str, tls: str
) -> None:
    token = box.token()
    challenges: list[bytes] = []
    with imap_client(dovecot_imap, tls) as client:
        port = client.port
        typ, _ = client.authenticate(mechanism, answering(sasl(mechanism, box.user, token, port),
                                                          challenges))  # fmt: skip
        assert client.select("INBOX")[0] == "OK"
    assert typ == "OK" and challenges == []
    assert dovecot_imap.token_endpoint.asked(token) == 1


@pytest.mark.parametrize("kind", ["unknown", "expired"])
def test_imap_refuses_a_bad_token_with_the_servers_reason(
    dovecot_imap: Dovecot, box: Mailbox, kind: str
) -> None:
    endpoint = dovecot_imap.token_endpoint
    token = "not-a-token" if kind == "unknown" else endpoint.expired(box.user)
    challenges: list[bytes] = []
    with imap_client(dovecot_imap, "ssl") as client:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.authenticate("XOAUTH2", answering(sasl("XOAUTH2", box.user, token, 0),
                                                     challenges))  # fmt: skip
    assert [json.loads(c) for c in challenges] == [
        {"status": "401", "schemes": "bearer", "scope": "mail"}
    ]
    assert endpoint.asked(token) == 1


def test_a_token_granted_to_another_user_is_refused(dovecot_imap: Dovecot, box: Mailbox) -> None:
    other = dovecot_imap.mailbox()
    with imap_client(dovecot_imap, "none") as client:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            client.authenticate("XOAUTH2", answering(sasl("XOAUTH2", box.user, other.token(), 0),
                                                     []))  # fmt: skip


@pytest.mark.parametrize("tls", ["none", "starttls", "ssl"])
def test_pop3_two_step_xoauth2(dovecot_imap: Dovecot, box: Mailbox, tls: str) -> None:
    box.deliver([receipt_email("P1")])
    client = pop3_client(dovecot_imap, tls)
    try:
        assert client.capa()["SASL"] == ["PLAIN", "XOAUTH2", "OAUTHBEARER"]
        # two steps: the command alone, the server's bare "+ ", then the credentials
        assert command(client, "AUTH XOAUTH2") == b"+ "
        b64 = base64.b64encode(sasl("XOAUTH2", box.user, box.token(), 0)).decode()
        assert command(client, b64).startswith(b"+OK")
        assert client.stat()[0] == 1
    finally:
        client.quit()


def test_pop3_xoauth2_with_an_expired_token_fails_after_the_challenge(
    dovecot_imap: Dovecot, box: Mailbox
) -> None:
    client = pop3_client(dovecot_imap, "ssl")
    try:
        assert command(client, "AUTH XOAUTH2") == b"+ "
        bad = dovecot_imap.token_endpoint.expired(box.user)
        challenge = command(client, base64.b64encode(sasl("XOAUTH2", box.user, bad, 0)).decode())
        assert challenge.startswith(b"+ ")
        assert json.loads(base64.b64decode(challenge[2:]))["status"] == "401"
        with pytest.raises(poplib.error_proto, match=r"-ERR \[AUTH\] Authentication failed"):
            command(client, "")
    finally:
        client.quit()


def test_passwords_and_tokens_do_not_cross(dovecot_imap: Dovecot, box: Mailbox) -> None:
    client = pop3_client(dovecot_imap, "none")
    try:
        client.user(box.user)
        with pytest.raises(poplib.error_proto, match="-ERR"):
            client.pass_(box.token())  # a token is no password
    finally:
        client.close()
    with imap_client(dovecot_imap, "none") as imap:
        with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
            imap.authenticate("XOAUTH2", answering(sasl("XOAUTH2", box.user, box.password, 0),
                                                   []))  # fmt: skip


def test_an_endpoint_failure_is_a_temporary_failure(dovecot_imap: Dovecot, box: Mailbox) -> None:
    endpoint = dovecot_imap.token_endpoint
    token = box.token()
    endpoint.fail_with(500)
    client = pop3_client(dovecot_imap, "none")
    try:
        with pytest.raises(poplib.error_proto, match=r"-ERR \[SYS/TEMP\] Temporary auth"):
            command(
                client,
                "AUTH XOAUTH2 " + base64.b64encode(sasl("XOAUTH2", box.user, token, 0)).decode(),
            )
    finally:
        endpoint.fail_with(None)
        client.close()
    assert endpoint.requests[-1].status == 500


def test_maildir_helpers_follow_imap_moves_flags_and_folders(
    dovecot_imap: Dovecot, box: Mailbox
) -> None:
    messages = [receipt_email(f"F{n}") for n in range(3)]
    box.deliver(messages)
    box.deliver([receipt_email("Old")], folder="Archive/2024")
    assert box.folders() == ["INBOX", "Archive/2024"]
    with imap_client(dovecot_imap, "ssl") as client:
        client.login(box.user, box.password)
        assert client.select("Archive/2024") == ("OK", [b"1"])
        client.select("INBOX")
        assert client.create("Processed")[0] == "OK"
        assert client.uid("MOVE", "1", "Processed")[0] == "OK"
        client.uid("STORE", "2", "+FLAGS", r"(\Deleted)")
        client.uid("STORE", "3", "+FLAGS", r"(\Seen)")
    assert box.folders() == ["INBOX", "Archive/2024", "Processed"]
    assert [m.data for m in box.messages("Processed")] == [messages[0]]
    left = box.messages()
    assert sorted(m.data for m in left) == sorted(messages[1:])
    assert {m.data: (m.deleted, m.seen) for m in left} == {
        messages[1]: (True, False),
        messages[2]: (False, True),
    }
    assert (box.count(), box.count("Processed"), box.count("Archive/2024")) == (2, 1, 1)
