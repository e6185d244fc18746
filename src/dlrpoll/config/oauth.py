"""``auth = { mechanism = …, token = { … } }``: OAuth2 sign-in for the mail sources (``imap``,
``pop3``), as an alternative to ``password``; never both.

The shapes are a public contract (issue 18)::

    auth = { mechanism = "xoauth2", token = { command = ["/usr/local/bin/m365-token", "dlr"] } }
    auth = { mechanism = "oauthbearer", token = { file = "/run/dlrpoll/m365.token" } }
    auth = { mechanism = "xoauth2", token = { microsoft = { tenant = "…", client_id = "…",
                                                            client_secret = { env = "…" } } } }
    auth = { mechanism = "xoauth2", token = { google = { service_account_file = "…",
                                                         subject = "dlr@example.com" } } }

Secrets inside (a client secret, a certificate with its private key, a refresh token) are typed
:data:`~dlrpoll.config.secrets.SecretValue`, so they are found and resolved like every other
secret. A token ``file`` is a path read at each sign-in, not a secret resolved at start: the
process that keeps it fresh rewrites it.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dlrpoll.config.secrets import SecretRef, SecretValue
from dlrpoll.config.source_base import Model

#: Microsoft's token endpoint host and the scope that gives an Exchange Online token.
MICROSOFT_AUTHORITY_HOST = "https://login.microsoftonline.com"
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
#: Google's scope for IMAP and POP3 (https://developers.google.com/gmail/imap/xoauth2-protocol).
GOOGLE_SCOPE = "https://mail.google.com/"


class MicrosoftToken(Model):
    """``token.microsoft``: the client-credentials flow of a daemon app registered in Entra ID
    (with ``msal``, the ``dlrpoll[msal]`` extra). ``client_secret`` or ``certificate`` (a PEM
    holding the private key and its certificate, usually ``{ file = "…" }``), exactly one."""

    tenant: str = Field(min_length=1)
    client_id: str = Field(min_length=1)
    client_secret: SecretValue | None = None
    certificate: SecretValue | None = None
    #: SHA-1 thumbprint as Entra ID shows it; by default msal derives one from the certificate
    certificate_thumbprint: str | None = None
    scope: str = MICROSOFT_SCOPE
    #: another cloud's sign-in host (e.g. https://login.microsoftonline.us), or a test's
    authority_host: str = MICROSOFT_AUTHORITY_HOST
    #: a CA bundle for the token endpoint (a TLS-inspecting proxy); verification stays on
    ca_file: str | None = None

    @model_validator(mode="after")
    def _one_credential(self) -> MicrosoftToken:
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError(
                'give client_secret = { env = "NAME" } or certificate = { file = "PEM" }, '
                "exactly one"
            )
        if not self.authority_host.startswith("https://"):
            raise ValueError("authority_host must be an https:// URL")
        return self


class GoogleToken(Model):
    """``token.google`` (with ``google-auth``, the ``dlrpoll[google]`` extra): a service
    account with domain-wide delegation (``service_account_file``, acting as ``subject``, by
    default the source's username), or an OAuth client's stored refresh token
    (``client_id``, ``client_secret``, ``refresh_token``)."""

    service_account_file: str | None = None
    subject: str | None = None
    client_id: str | None = None
    client_secret: SecretValue | None = None
    refresh_token: SecretValue | None = None
    scopes: list[str] = Field(default_factory=lambda: [GOOGLE_SCOPE], min_length=1)
    #: the token endpoint; by default the service account file's, else Google's
    token_uri: str | None = None
    ca_file: str | None = None

    @model_validator(mode="after")
    def _one_flow(self) -> GoogleToken:
        stored = (self.client_id, self.client_secret, self.refresh_token)
        if self.service_account_file is not None:
            if any(v is not None for v in stored):
                raise ValueError(
                    "give service_account_file (with subject) or client_id, client_secret and "
                    "refresh_token, not both"
                )
        elif any(v is None for v in stored):
            raise ValueError(
                "give service_account_file (domain-wide delegation) or all of client_id, "
                "client_secret and refresh_token (a stored refresh token)"
            )
        return self


class TokenConfig(Model):
    """``token``: where the access token comes from; exactly one of the four."""

    #: a program that prints an access token on stdout (as mail fetchers' token helpers do)
    command: list[str] | None = Field(default=None, min_length=1)
    #: a file that another process keeps fresh
    file: str | None = None
    microsoft: MicrosoftToken | None = None
    google: GoogleToken | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TokenConfig:
        given = [k for k in ("command", "file", "microsoft", "google") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError(
                'token is one of { command = [...] }, { file = "PATH" }, '
                "{ microsoft = {...} } or { google = {...} }"
                + (f"; got {', '.join(given)}" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        """``command``, ``file``, ``microsoft`` or ``google``."""
        return next(k for k in ("command", "file", "microsoft", "google") if getattr(self, k))


class AuthConfig(Model):
    """``auth``: SASL ``XOAUTH2`` or ``OAUTHBEARER`` (RFC 7628) with an OAuth2 access token."""

    mechanism: Literal["xoauth2", "oauthbearer"]
    token: TokenConfig


def check_sign_in(password: SecretRef | str | None, auth: AuthConfig | None) -> None:
    """A mail source signs in with ``password`` or with ``auth``: exactly one. Raises
    ``ValueError`` (reported at the source's key path)."""
    if password is not None and auth is not None:
        raise ValueError("give password (password sign-in) or auth (OAuth2 sign-in), not both")
    if password is None and auth is None:
        raise ValueError(
            'give password = { env = "NAME" } for password sign-in, or '
            'auth = { mechanism = "xoauth2", token = { … } } for OAuth2'
        )
