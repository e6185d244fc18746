"""OAuth2 sign-in against Dovecot's oauth2 passdb (tokens checked by an introspection
endpoint of the test's own): IMAP and POP3, XOAUTH2 and OAUTHBEARER, good, expired and wrong
tokens, a refusal's reason decoded and quoted, POP3's AUTH in two steps on the wire."""

from __future__ import annotations

import socket
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from dlrpoll.config import LoadedConfig, Settings, parse_settings
from dlrpoll.errors import SourceAuthError, SourceConnectError
from dlrpoll.sources import RetryPolicy, make_source
from tests.support.dovecot import Dovecot, Mailbox, receipt_email
from tests.support.token_server import fake_jwt

XOAUTH2_REFUSAL = '{"status":"401","schemes":"bearer","scope":"mail"}'
OAUTHBEARER_REFUSAL = '{"status":"invalid_token"}'


@pytest.fixture
def box(dovecot_imap: Dovecot) -> Mailbox:
    return dovecot_imap.mailbox()


def config(box: Mailbox, kind: str, token: dict[str, Any], **more: Any) -> LoadedConfig:
    server = box.server
    source: dict[str, Any] = {
        "name": f"oauth-{kind}",
        "kind": kind,
        "host": "127.0.0.1",
        "ca_file": str(server.ca_file),
        "username": box.user,
        "auth": {"mechanism": more.pop("mechanism", "xoauth2"), "token": token},
        "timeout": 10,
    }
    if kind == "imap":
        source |= {"port": server.imaps_port, "after_store": "delete"}
    else:
        source |= {"port": server.ssl_port}
    source |= more
    settings: Settings = parse_settings({"sources": [source]})
    return LoadedConfig(settings, None, {})


def sign_in(config: LoadedConfig) -> None:
    """Open (connect, sign in) and close the configured source once."""
    cfg = config.settings.sources[0]
    with make_source(config, cfg, RetryPolicy(attempts=1)).open():
        pass


def token_file(tmp_path: Path, token: str) -> dict[str, str]:
    path = tmp_path / "access.token"
    path.write_text(token + "\n")
    return {"file": str(path)}


@pytest.mark.parametrize("kind", ["imap", "pop3"])
@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_a_good_token_signs_in(box: Mailbox, tmp_path: Path, kind: str, mechanism: str) -> None:
    token = box.server.token_endpoint.grant(box.user)
    sign_in(config(box, kind, token_file(tmp_path, token), mechanism=mechanism))
    assert box.server.token_endpoint.requests[-1].token == token


@pytest.mark.parametrize("kind", ["imap", "pop3"])
@pytest.mark.parametrize(
    ("mechanism", "reason"), [("xoauth2", XOAUTH2_REFUSAL), ("oauthbearer", OAUTHBEARER_REFUSAL)]
)
def test_an_expired_or_wrong_token_is_refused_with_the_servers_reason(
    box: Mailbox, tmp_path: Path, kind: str, mechanism: str, reason: str
) -> None:
    expired = box.server.token_endpoint.grant(box.user)
    box.server.token_endpoint.expire(expired)
    other_user = box.server.token_endpoint.grant("somebody-else")
    for token in (expired, "never-issued", other_user):
        with pytest.raises(SourceAuthError) as info:
            sign_in(config(box, kind, token_file(tmp_path, token), mechanism=mechanism))
        text = str(info.value)
        assert f"the server said {reason}" in text
        assert f"{mechanism.upper()} sign-in as {box.user!r} refused" in text
        assert token not in text  # never the token itself


def test_a_poll_through_oauth_stores_receipts(box: Mailbox, tmp_path: Path) -> None:
    from dlrpoll.poller import poll_source
    from dlrpoll.store import Store
    from tests.support.clock import Clock

    box.deliver([receipt_email("OAUTH-1"), receipt_email("OAUTH-2")])
    token = box.server.token_endpoint.grant(box.user)
    loaded = config(box, "imap", token_file(tmp_path, token))
    cfg = loaded.settings.sources[0]
    store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        source = make_source(loaded, cfg, RetryPolicy(attempts=1))
        result = poll_source(loaded, cfg, source, store, clock=Clock())
    finally:
        store.close()
    assert (result.outcome, result.stored) == ("ok", 2), result.error
    assert box.count() == 0


@pytest.mark.parametrize("kind", ["imap", "pop3"])
def test_a_token_endpoint_failure_is_temporary(box: Mailbox, tmp_path: Path, kind: str) -> None:
    token = box.server.token_endpoint.grant(box.user)
    box.server.token_endpoint.fail_with(500)
    try:
        with pytest.raises(SourceConnectError, match="busy"):
            sign_in(config(box, kind, token_file(tmp_path, token)))
    finally:
        box.server.token_endpoint.fail_with(None)


@pytest.mark.parametrize("kind", ["imap", "pop3"])
def test_a_revoked_cached_token_is_replaced_once(box: Mailbox, tmp_path: Path, kind: str) -> None:
    # a helper that prints the next of two tokens each time it runs; both good for an hour
    tokens = [fake_jwt({"exp": 4_000_000_000, "n": n, "kind": kind}) for n in (1, 2)]
    for token in tokens:
        box.server.token_endpoint.grant(box.user, token)
    listing = tmp_path / "tokens.txt"
    listing.write_text("\n".join(tokens))
    helper = tmp_path / "helper.py"
    helper.write_text(
        "import pathlib, sys\n"
        "p = pathlib.Path(sys.argv[1]); lines = p.read_text().splitlines()\n"
        "print(lines[0]); p.write_text('\\n'.join(lines[1:]))\n"
    )
    loaded = config(box, kind, {"command": [sys.executable, str(helper), str(listing)]})
    sign_in(loaded)  # token 1, now cached
    sign_in(loaded)  # token 1 again, from the cache: the helper is not run
    assert listing.read_text().splitlines() == [tokens[1]]
    box.server.token_endpoint.expire(tokens[0])  # revoked on the server's side
    sign_in(loaded)  # refused from the cache: dropped, token 2 fetched and accepted
    assert [r.token for r in box.server.token_endpoint.requests[-2:]] == tokens


class Recorder:
    """A TCP relay in front of a server that records what the client sends."""

    def __init__(self, port: int) -> None:
        self.upstream = port
        self.sent = bytearray()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        client, _ = self._listener.accept()
        server = socket.create_connection(("127.0.0.1", self.upstream))

        def pump(src: socket.socket, dst: socket.socket, record: bool) -> None:
            while data := src.recv(65536):
                if record:
                    self.sent += data
                dst.sendall(data)
            dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pump, args=(server, client, False), daemon=True)
        back.start()
        try:
            pump(client, server, True)
        except OSError:
            pass
        back.join(timeout=10)
        client.close()
        server.close()

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=10)


@pytest.mark.parametrize("good", [True, False])
def test_pop3_auth_goes_in_two_steps(box: Mailbox, tmp_path: Path, good: bool) -> None:
    token = box.server.token_endpoint.grant(box.user)
    if not good:
        box.server.token_endpoint.expire(token)
    recorder = Recorder(box.server.port)
    loaded = config(
        box, "pop3", token_file(tmp_path, token), tls="none", allow_plaintext=True,
        port=recorder.port,
    )  # fmt: skip
    try:
        if good:
            sign_in(loaded)
        else:
            with pytest.raises(SourceAuthError, match="refused"):
                sign_in(loaded)
    finally:
        recorder.close()
    lines = bytes(recorder.sent).split(b"\r\n")
    # the command alone, then (after the server's "+") the credentials on a line of their own
    assert lines[0] == b"AUTH XOAUTH2"
    assert lines[1].isascii() and len(lines[1]) > 40 and b" " not in lines[1]
    if not good:
        assert lines[2] == b""  # the error challenge answered, as the server needs
