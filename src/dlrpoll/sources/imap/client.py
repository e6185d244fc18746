"""Connecting to an IMAP server and signing in: TLS (``ssl``, ``starttls`` or, with consent,
``none``), then ``LOGIN`` with a password or ``AUTHENTICATE XOAUTH2``/``OAUTHBEARER`` with an
access token. Everything here consumes nothing on the server, so the caller retries it."""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass, field

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc

from dlrpoll.config import ImapSourceConfig, Secret
from dlrpoll.errors import SourceAuthError, SourceConnectError, SourceTLSError
from dlrpoll.sources.imap.errors import IO_ERRORS, TEMPORARY_CODES, map_error, server_text
from dlrpoll.sources.oauth import OAuthSignIn, Refused, challenge_answer, decode_challenge
from dlrpoll.sources.oauth.tokens import AccessToken

__all__ = ["Connection", "connect"]

log = logging.getLogger(__name__)


@dataclass
class Connection:
    """A signed-in client and what was learnt on the way (for ``check-config --connect``)."""

    client: IMAPClient
    #: capabilities announced before sign-in, and after it (servers announce more then)
    greeting_caps: tuple[str, ...] = ()
    caps: frozenset[str] = field(default_factory=frozenset)
    mechanism: str = "LOGIN"


def _caps(raw: object) -> tuple[str, ...]:
    if not isinstance(raw, tuple | list):
        return ()
    return tuple(c.decode("ascii", "replace") if isinstance(c, bytes) else str(c) for c in raw)


def tls_context(name: str, cfg: ImapSourceConfig) -> ssl.SSLContext:
    """A verifying context (host names checked), trusting ``ca_file`` when given."""
    try:
        return ssl.create_default_context(cafile=cfg.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise SourceTLSError(
            name,
            f"cannot use ca_file {cfg.ca_file!r} ({server_text(exc)}); it must be a readable "
            "PEM file with the CA certificate(s) that signed the server's",
        ) from exc


def connect(
    name: str,
    cfg: ImapSourceConfig,
    *,
    password: Secret | None,
    signin: OAuthSignIn | None,
) -> Connection:
    """Connect, secure and sign in. Raises our errors only (temporary ones are worth a
    retry: nothing was consumed)."""
    where = f"{cfg.host}:{cfg.effective_port}"
    ctx = tls_context(name, cfg) if cfg.tls != "none" else None
    try:
        client = IMAPClient(
            cfg.host,
            port=cfg.effective_port,
            ssl=cfg.tls == "ssl",
            ssl_context=ctx,
            timeout=cfg.timeout,
        )
    except IO_ERRORS as exc:
        raise map_error(name, f"connecting to {where}", exc, cfg.timeout) from exc
    # imapclient turns imaplib's debug output on and routes it to a logger: every line sent
    # and received formatted, even when nobody listens. Off: costly at 10,000 messages, and
    # those lines carry mail.
    client._imap.debug = 0
    try:
        sock = client.socket()
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            # imaplib writes a SASL answer and its CRLF apart: without this, Nagle's
            # algorithm meets the server's delayed ACK and each sign-in waits ~40 ms
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn = Connection(client, greeting_caps=_caps(client.capabilities()))
        if cfg.tls == "starttls":
            _starttls(name, client, ctx, where, cfg.timeout)
            conn.greeting_caps = _caps(client.capabilities())
        what = f"signing in to {where} as {cfg.username!r}"
        if signin is not None:
            conn.mechanism = _oauth(name, client, signin, conn.greeting_caps, cfg, what)
        else:
            assert password is not None
            _login(name, client, cfg.username, password, what, cfg.timeout)
        conn.caps = frozenset(c.upper() for c in _caps(client.capabilities()))
    except BaseException:
        _shutdown(client)
        raise
    log.debug("source %s: signed in to %s (%s); capabilities: %s",
              name, where, conn.mechanism, " ".join(sorted(conn.caps)))  # fmt: skip
    return conn


def _starttls(
    name: str, client: IMAPClient, ctx: ssl.SSLContext | None, where: str, timeout: float
) -> None:
    try:
        client.starttls(ctx)
    except imap_exc.CapabilityError as exc:
        raise SourceTLSError(
            name,
            f'{where} does not offer STARTTLS; use tls = "ssl" with its IMAPS port (993)',
        ) from exc
    except IO_ERRORS as exc:
        raise map_error(name, f"STARTTLS at {where}", exc, timeout) from exc


def _login(
    name: str, client: IMAPClient, user: str, password: Secret, what: str, timeout: float
) -> None:
    try:
        client.login(user, password.reveal())
    except imap_exc.LoginError as exc:
        text = server_text(exc)
        if any(code in text for code in TEMPORARY_CODES):
            raise SourceConnectError(name, f"{what}: the server is busy ({text})") from exc
        raise SourceAuthError(
            name,
            f"{what}: the server refused the credentials ({text}); check username and the "
            f"password (from {password.origin}). Microsoft 365 and Google no longer accept "
            'passwords for IMAP: use auth = { mechanism = "xoauth2", token = … }',
        ) from exc
    except IO_ERRORS as exc:
        raise map_error(name, what, exc, timeout) from exc


def _oauth(
    name: str,
    client: IMAPClient,
    signin: OAuthSignIn,
    caps: tuple[str, ...],
    cfg: ImapSourceConfig,
    what: str,
) -> str:
    mech = signin.sasl_name
    offered = [c[5:] for c in caps if c.upper().startswith("AUTH=")]
    if offered and mech not in (m.upper() for m in offered):
        raise SourceAuthError(
            name,
            f"{what}: the server does not offer {mech} (it offers {', '.join(offered)}); "
            "choose another auth.mechanism, or a server that supports OAuth2",
        )

    def exchange(token: AccessToken) -> None:
        message = signin.message(token, cfg.host, cfg.effective_port)
        challenges: list[bytes] = []

        def answer(challenge: bytes) -> bytes:
            # imaplib hands over each server challenge decoded; the first is empty
            if not challenges:
                challenges.append(b"")
                return message
            challenges.append(challenge)
            return challenge_answer(signin.mechanism)

        try:
            client.sasl_login(mech, answer)
        except imap_exc.LoginError as exc:
            text = server_text(exc)
            if any(code in text for code in TEMPORARY_CODES):
                raise SourceConnectError(name, f"{what}: the server is busy ({text})") from exc
            reasons = challenges[1:]
            reason = decode_challenge(reasons[0], is_base64=False) if reasons else "no reason given"
            raise Refused(reason, text) from exc

    try:
        signin.run(what, exchange)
    except IO_ERRORS as exc:
        raise map_error(name, what, exc, cfg.timeout) from exc
    return mech


def _shutdown(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except (OSError, imap_exc.IMAPClientError):
        pass


def logout(client: IMAPClient) -> None:
    """End the session politely; a connection that is gone is just closed."""
    try:
        client.logout()
    except (OSError, imap_exc.IMAPClientError) as exc:
        log.debug("IMAP LOGOUT failed (%s); closing", server_text(exc))
        _shutdown(client)
