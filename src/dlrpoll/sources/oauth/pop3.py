"""POP3 ``AUTH XOAUTH2`` / ``AUTH OAUTHBEARER`` (RFC 5034), always in two steps.

Exchange Online refuses the one-line form (``AUTH XOAUTH2 <base64>``), a known trap in other
mail fetchers, so the command goes alone, the server's ``+`` is awaited, and only then the
credentials line follows::

    C: AUTH XOAUTH2
    S: +
    C: dXNlcj1hbGljZQFhdXRoPUJlYXJlciB0b2tlbgEB
    S: +OK Logged in.

A refused token is answered with a base64 JSON challenge (``+ eyJzdGF0dXMiOiI0MDEi…``) that
must itself be answered (an empty line; ``\\x01`` for OAUTHBEARER) before the final ``-ERR``
comes; its decoded JSON is quoted in our error. Shared note "dovecot-imap-oauth2".

:func:`sign_in` is what the POP3 source calls instead of ``USER``/``PASS`` when its
configuration has ``auth``.
"""

from __future__ import annotations

import base64
import poplib

from dlrpoll.errors import SourceAuthError, SourceConnectError, SourceProtocolError
from dlrpoll.sources.oauth.sasl import challenge_answer, decode_challenge
from dlrpoll.sources.oauth.signin import OAuthSignIn, Refused
from dlrpoll.sources.oauth.tokens import AccessToken

__all__ = ["sign_in"]

#: RFC 2449 / 3206 response codes that mean "later", not "no".
_TEMPORARY = ("[SYS/TEMP]", "[IN-USE]", "[LOGIN-DELAY]")
_MAXLINE = 8192


def _send(client: poplib.POP3, line: bytes) -> None:
    client.sock.sendall(line + b"\r\n")


def _read(client: poplib.POP3) -> bytes:
    line = client.file.readline(_MAXLINE + 1)
    if not line:
        raise ConnectionResetError("the server closed the connection")
    if len(line) > _MAXLINE:
        raise poplib.error_proto("line too long")
    return line.rstrip(b"\r\n")


def _text(line: bytes) -> str:
    return line.decode("utf-8", "replace")


def sign_in(client: poplib.POP3, signin: OAuthSignIn, host: str, port: int, what: str) -> None:
    """Sign in on a connected (and secured) POP3 ``client`` with ``signin``'s mechanism.
    ``what`` names the step in messages. Raises :class:`~dlrpoll.errors.SourceAuthError`
    (refused, with the server's reason), :class:`~dlrpoll.errors.SourceConnectError` (a
    temporary refusal, worth a retry) or :class:`~dlrpoll.errors.SourceProtocolError`; socket
    errors (``OSError``) and ``poplib.error_proto`` are left to the caller's mapping."""
    name = signin.source
    mech = signin.sasl_name

    def exchange(token: AccessToken) -> None:
        message = base64.b64encode(signin.message(token, host, port))
        _send(client, b"AUTH " + mech.encode())
        line = _read(client)
        if line.startswith(b"-ERR"):
            raise SourceAuthError(
                name,
                f"{what}: the server refused AUTH {mech} ({_text(line)}); it may not offer "
                "OAuth2 over POP3, or POP3 is switched off for this mailbox",
            )
        if not line.startswith(b"+"):
            raise SourceProtocolError(name, f"{what}: unexpected answer {_text(line)!r}")
        _send(client, message)
        line = _read(client)
        if line.startswith(b"+OK"):
            return
        if line.startswith(b"+"):
            # an error challenge: answer it, or the server waits for us forever
            reason = decode_challenge(line[1:].strip())
            _send(client, base64.b64encode(challenge_answer(signin.mechanism)))
            final = _read(client)
            raise Refused(reason, _text(final))
        if line.startswith(b"-ERR"):
            text = _text(line)
            if any(code in text for code in _TEMPORARY):
                raise SourceConnectError(name, f"{what}: the server is busy ({text}); will retry")
            raise Refused("no reason given", text)
        raise SourceProtocolError(name, f"{what}: unexpected answer {_text(line)!r}")

    signin.run(what, exchange)
