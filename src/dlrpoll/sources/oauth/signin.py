"""OAuth2 sign-in for one mail source: its mechanism, its cached tokens, and the words for a
refusal. The protocol exchanges themselves live with each protocol (IMAP's AUTHENTICATE in
``sources/imap``, POP3's two-step AUTH in :mod:`dlrpoll.sources.oauth.pop3`).

Token caches live for the whole process, one per source and token configuration, so a daemon
or a ``run`` loop that makes new source objects still reuses a token until shortly before it
expires (:data:`~dlrpoll.sources.oauth.tokens.REFRESH_MARGIN`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dlrpoll.config import LoadedConfig
from dlrpoll.config.mailbox import MailboxSourceBase
from dlrpoll.errors import SourceAuthError
from dlrpoll.sources.oauth.sasl import MECHANISMS, initial_response
from dlrpoll.sources.oauth.tokens import (
    AccessToken,
    CommandToken,
    FileToken,
    TokenCache,
    TokenSource,
)

__all__ = ["OAuthSignIn", "Refused", "sign_in_for"]

T = TypeVar("T")

_caches: dict[tuple[str, str], TokenCache] = {}
_caches_lock = threading.Lock()


class Refused(Exception):
    """A protocol's sign-in was refused: ``reason`` is the server's decoded challenge (or its
    final answer when there was none). Raised by the exchange, turned into
    :class:`~dlrpoll.errors.SourceAuthError` by :meth:`OAuthSignIn.run`."""

    def __init__(self, reason: str, answer: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.answer = answer


class OAuthSignIn:
    """How one source signs in with OAuth2 (``auth = { … }``)."""

    def __init__(self, source: str, username: str, mechanism: str, tokens: TokenCache) -> None:
        self.source = source
        self.username = username
        self.mechanism = mechanism
        self.tokens = tokens
        #: the last token used, for ``check-config --connect`` (never logged)
        self.last_token: AccessToken | None = None

    @property
    def sasl_name(self) -> str:
        """``XOAUTH2`` or ``OAUTHBEARER``."""
        return MECHANISMS[self.mechanism]

    def message(self, token: AccessToken, host: str, port: int) -> bytes:
        """The SASL client message for ``token`` (before base64)."""
        try:
            return initial_response(self.mechanism, self.username, token.value, host, port)
        except ValueError as exc:
            raise SourceAuthError(self.source, f"cannot sign in: {exc}") from exc

    def run(self, where: str, exchange: Callable[[AccessToken], T]) -> T:
        """Sign in with ``exchange(token)``, which raises :class:`Refused` when the server
        says no. A cached token that is refused may have been revoked: it is dropped and one
        fresh token is tried. Raises :class:`~dlrpoll.errors.SourceAuthError` naming the
        server's reason and the fix."""
        token, fresh = self.tokens.get()
        try:
            self.last_token = token
            return exchange(token)
        except Refused as exc:
            if fresh:
                raise self.refused(where, exc) from None
        self.tokens.invalidate()
        token, _ = self.tokens.get()
        self.last_token = token
        try:
            return exchange(token)
        except Refused as exc:
            raise self.refused(where, exc) from None

    def refused(self, where: str, exc: Refused) -> SourceAuthError:
        return SourceAuthError(
            self.source,
            f"{where}: {self.sasl_name} sign-in as {self.username!r} refused; the server "
            f"said {exc.reason} ({exc.answer}); the token from {self.tokens.description} is "
            "expired, revoked, or not for this user or service; `dlrpoll check-config "
            "--connect` shows what the token says",
        )


def _token_source(config: LoadedConfig, cfg: MailboxSourceBase) -> TokenSource:
    assert cfg.auth is not None
    name, timeout, token = cfg.name, cfg.timeout, cfg.auth.token
    if token.command is not None:
        return CommandToken(name, token.command, timeout)
    if token.file is not None:
        path = Path(token.file).expanduser()
        if not path.is_absolute() and config.path is not None:
            path = config.path.parent / path
        return FileToken(name, path)
    if token.microsoft is not None:
        from dlrpoll.sources.oauth.microsoft import MicrosoftTokenSource

        key = "client_secret" if token.microsoft.client_secret is not None else "certificate"
        credential = config.secret(name, "auth", "token", "microsoft", key)
        where = cfg.where("auth", "token", "microsoft")
        return MicrosoftTokenSource(name, token.microsoft, credential, timeout, where=where)
    assert token.google is not None
    from dlrpoll.sources.oauth.google import GoogleTokenSource

    google = token.google
    secrets = {}
    if google.service_account_file is None:
        secrets = {
            k: config.secret(name, "auth", "token", "google", k)
            for k in ("client_secret", "refresh_token")
        }
    return GoogleTokenSource(
        name,
        google,
        subject=google.subject or cfg.username,
        secrets=secrets,
        timeout=timeout,
        where=cfg.where("auth", "token", "google"),
    )


def sign_in_for(config: LoadedConfig, cfg: MailboxSourceBase) -> OAuthSignIn:
    """The sign-in of the mailbox source ``cfg`` (its ``auth`` table), with the process's
    token cache for it. Raises :class:`~dlrpoll.errors.ConfigError` when an optional library
    is missing."""
    assert cfg.auth is not None
    name, auth = cfg.name, cfg.auth
    # a rotated secret (a new client secret in the environment) gets a new cache
    secrets = sorted((k, hash(v)) for k, v in config.source_secrets(name).items() if k[0] == "auth")
    key = (name, auth.model_dump_json() + repr(secrets))
    with _caches_lock:
        cache = _caches.get(key)
        if cache is None:
            cache = TokenCache(_token_source(config, cfg))
            _caches[key] = cache
    return OAuthSignIn(name, cfg.username, auth.mechanism, cache)
