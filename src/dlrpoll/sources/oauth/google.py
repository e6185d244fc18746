"""``token = { google = { … } }``: access tokens for Gmail / Google Workspace through the
well-kept ``google-auth`` library (the ``dlrpoll[google]`` extra).

Two flows (https://developers.google.com/gmail/imap/xoauth2-protocol):

- a service account with domain-wide delegation (Workspace only): the account's key signs a
  JWT asking for scope ``https://mail.google.com/`` on behalf of ``subject``; a Workspace
  admin allows the account's client ID that scope (Security › API controls › Domain-wide
  delegation);
- a stored refresh token of an OAuth client (any Google account), exchanged for access tokens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests

from dlrpoll.config.oauth import GoogleToken
from dlrpoll.config.secrets import Secret
from dlrpoll.errors import ConfigError, SourceAuthError, SourceConnectError, SourceTimeoutError
from dlrpoll.sources.oauth.http import TokenSession
from dlrpoll.sources.oauth.tokens import AccessToken

__all__ = ["GoogleTokenSource"]

_GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"


class GoogleTokenSource:
    """Access tokens from Google. ``secrets`` holds the resolved ``client_secret`` and
    ``refresh_token`` for the refresh-token flow; ``subject`` is whom a service account acts
    as; ``timeout`` bounds every HTTP request (seconds); ``where`` names the setting in
    messages (the source and its key path, from the config)."""

    def __init__(
        self,
        source: str,
        cfg: GoogleToken,
        *,
        subject: str,
        secrets: dict[str, Secret],
        timeout: float,
        where: str = "auth.token.google",
    ) -> None:
        try:
            import google.auth.transport.requests as google_requests
            from google.oauth2 import credentials as user_credentials
            from google.oauth2 import service_account
        except ImportError as exc:
            raise ConfigError(
                f"{where} needs the google-auth library: pip install 'dlrpoll[google]'"
            ) from exc
        self.source = source
        self.timeout = timeout
        self._transport = google_requests
        self._session = TokenSession(cfg.ca_file, timeout)
        self._creds: Any
        if cfg.service_account_file is not None:
            self.description = f"Google service account {cfg.service_account_file} as {subject}"
            try:
                creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                    cfg.service_account_file, scopes=cfg.scopes, subject=subject
                )
            except (OSError, ValueError) as exc:
                raise SourceAuthError(
                    source,
                    f"cannot use service_account_file {cfg.service_account_file}: {exc}; it "
                    "must be the JSON key file Google gave for the service account",
                ) from exc
            if cfg.token_uri:
                creds = creds.with_token_uri(cfg.token_uri)
            self._creds = creds
        else:
            self.description = f"Google OAuth client {cfg.client_id} (refresh token)"
            self._creds = user_credentials.Credentials(  # type: ignore[no-untyped-call]
                token=None,
                refresh_token=secrets["refresh_token"].reveal(),
                client_id=cfg.client_id,
                client_secret=secrets["client_secret"].reveal(),
                token_uri=cfg.token_uri or _GOOGLE_TOKEN_URI,
                scopes=cfg.scopes,
            )

    def fetch(self, now: float) -> AccessToken:
        from google.auth import exceptions

        try:
            self._creds.refresh(self._transport.Request(self._session))
        except exceptions.RefreshError as exc:
            reason = str(exc.args[0]) if exc.args else str(exc)
            raise SourceAuthError(
                self.source,
                f"{self.description} refused: {reason[:300]!r}; {self._hint(reason)}",
            ) from exc
        except exceptions.TransportError as exc:
            cause = exc.__cause__
            if isinstance(cause, requests.Timeout):
                raise SourceTimeoutError(
                    self.source, f"{self.description}: no answer within {self.timeout:g} s"
                ) from exc
            raise SourceConnectError(
                self.source,
                f"{self.description}: cannot reach the token endpoint ({exc}); check the "
                "network, a proxy, or ca_file",
            ) from exc
        except exceptions.GoogleAuthError as exc:
            raise SourceAuthError(self.source, f"{self.description}: {exc}") from exc
        token = self._creds.token
        if not isinstance(token, str):
            raise SourceAuthError(self.source, f"{self.description} gave no access token")
        expiry: datetime | None = self._creds.expiry
        expires_at = None
        if expiry is not None:
            # google-auth's expiry is naive UTC from its own clock; keep only the lifetime
            left = (expiry.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
            expires_at = now + left
        return AccessToken(token, expires_at)

    @staticmethod
    def _hint(reason: str) -> str:
        if "unauthorized_client" in reason:
            return (
                "the service account may not act for this user: allow its client ID the "
                "scope https://mail.google.com/ in the Workspace admin console (Security › "
                "API controls › Domain-wide delegation)"
            )
        if "invalid_grant" in reason:
            return (
                "the key, the subject or the refresh token is not accepted (revoked, expired "
                "or for another client); create a new one"
            )
        if "invalid_client" in reason:
            return "check client_id and client_secret"
        return "check the token settings"
