"""SASL ``XOAUTH2`` and ``OAUTHBEARER`` (RFC 7628): the client's message, and the server's
error challenge read back into words. Pure: no I/O.

Wire facts (shared note "dovecot-imap-oauth2", and the providers' documentation):

- ``XOAUTH2``: ``user=USER\\x01auth=Bearer TOKEN\\x01\\x01`` (Google's and Microsoft's
  format, https://developers.google.com/gmail/imap/xoauth2-protocol).
- ``OAUTHBEARER``: a GS2 header ``n,a=USER,`` then ``\\x01``-separated ``host=``, ``port=``,
  ``auth=Bearer TOKEN`` and a closing ``\\x01\\x01`` (RFC 7628 §3.1). ``a=`` is required by
  Dovecot and Gmail; ``=`` and ``,`` in it are escaped as ``=3D`` and ``=2C`` (RFC 5801).
- A refused token is answered with a *challenge*: base64 of a JSON object such as
  ``{"status":"401","schemes":"bearer","scope":"mail"}`` (XOAUTH2) or
  ``{"status":"invalid_token"}`` (OAUTHBEARER). The client must answer it (an empty line for
  XOAUTH2, ``\\x01`` for OAUTHBEARER per RFC 7628 §3.2.3) and then gets the final ``NO`` /
  ``-ERR``; a client that waits for the failure without answering waits forever.
"""

from __future__ import annotations

import base64
import binascii
import json

__all__ = [
    "MECHANISMS",
    "challenge_answer",
    "decode_challenge",
    "initial_response",
    "oauthbearer",
    "xoauth2",
]

#: Our mechanism names (config) → the SASL names.
MECHANISMS = {"xoauth2": "XOAUTH2", "oauthbearer": "OAUTHBEARER"}

#: Longest server reason quoted in an error message.
_MAX_REASON = 400


def _check(name: str, value: str) -> None:
    # \x01 separates the fields: a value holding one would forge another field
    if "\x01" in value or "\r" in value or "\n" in value:
        raise ValueError(f"{name} holds a control character; it cannot be sent in SASL")


def xoauth2(user: str, token: str) -> bytes:
    """The ``XOAUTH2`` client message (before base64). Raises ``ValueError`` when ``user`` or
    ``token`` holds a field separator."""
    _check("the username", user)
    _check("the access token", token)
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode()


def _saslname(user: str) -> str:
    return user.replace("=", "=3D").replace(",", "=2C")


def oauthbearer(user: str, token: str, host: str, port: int) -> bytes:
    """The ``OAUTHBEARER`` client message (RFC 7628 §3.1, before base64). Raises
    ``ValueError`` as :func:`xoauth2`."""
    _check("the username", user)
    _check("the access token", token)
    _check("the host", host)
    return (
        f"n,a={_saslname(user)},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"
    ).encode()


def initial_response(mechanism: str, user: str, token: str, host: str, port: int) -> bytes:
    """The client message for ``mechanism`` (``xoauth2`` or ``oauthbearer``)."""
    if mechanism == "xoauth2":
        return xoauth2(user, token)
    if mechanism == "oauthbearer":
        return oauthbearer(user, token, host, port)
    raise ValueError(f"unknown mechanism {mechanism!r}")


def challenge_answer(mechanism: str) -> bytes:
    """What to answer an error challenge with (before base64), so the server sends its final
    failure: nothing for ``XOAUTH2``, ``\\x01`` for ``OAUTHBEARER`` (RFC 7628 §3.2.3)."""
    return b"\x01" if mechanism == "oauthbearer" else b""


def decode_challenge(data: bytes | str, *, is_base64: bool = True) -> str:
    """The server's reason from an error challenge, for an error message: the JSON as sent
    (compact, at most a few hundred characters), or the raw text when it is not JSON.
    ``is_base64=False`` when the caller already decoded it (``imaplib`` does)."""
    raw = data.encode("ascii", "replace") if isinstance(data, str) else bytes(data)
    raw = raw.strip()
    if is_base64:
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return _printable(raw.decode("ascii", "replace"))
    text = raw.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
    except ValueError:
        return _printable(text)
    return _printable(json.dumps(parsed, separators=(",", ":"), ensure_ascii=True))


def _printable(text: str) -> str:
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    if len(text) > _MAX_REASON:
        text = text[:_MAX_REASON] + "…"
    return text or "(empty)"
