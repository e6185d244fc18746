"""``token = { microsoft = { … } }``: app-only access tokens for Exchange Online from Microsoft
Entra ID, by the OAuth2 client-credentials flow, through the well-kept ``msal`` library (the
``dlrpoll[msal]`` extra).

How Microsoft documents this for IMAP and POP3 ("Authenticate an IMAP, POP or SMTP connection
using OAuth", learn.microsoft.com/exchange/client-developer/legacy-protocols/
how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth): scope
``https://outlook.office365.com/.default``; the app needs the application permission
``IMAP.AccessAsApp`` or ``POP.AccessAsApp`` (Office 365 Exchange Online) with admin consent;
its service principal must be registered in Exchange Online (``New-ServicePrincipal``) and be
given the mailbox (``Add-MailboxPermission … -AccessRights FullAccess``).

msal keeps tokens in its own cache as well; ours (:class:`~dlrpoll.sources.oauth.tokens.
TokenCache`) decides when to ask again, so msal's is emptied before each request.
"""

from __future__ import annotations

import re
from typing import Any

import requests

from dlrpoll.config.oauth import MicrosoftToken
from dlrpoll.config.secrets import Secret
from dlrpoll.errors import (
    ConfigError,
    SourceAuthError,
    SourceConnectError,
    SourceTimeoutError,
)
from dlrpoll.sources.oauth.http import TokenSession
from dlrpoll.sources.oauth.tokens import AccessToken

__all__ = ["MicrosoftTokenSource"]

#: Entra ID error codes with the step that fixes them.
_AADSTS_HINTS = {
    "7000215": "the client secret is wrong: copy the secret's *value* (not its ID) from "
    "Entra ID › App registrations › Certificates & secrets",
    "7000222": "the client secret has expired: create a new one in Entra ID › App "
    "registrations › Certificates & secrets",
    "700016": "no app with this client_id in this tenant: check client_id and tenant",
    "90002": "no such tenant: check tenant (the directory ID or a verified domain)",
    "700027": "the certificate was not accepted: upload its public part to the app "
    "registration, or check certificate_thumbprint",
    "1002012": "the scope is not valid: for IMAP and POP3 it is "
    "https://outlook.office365.com/.default",
    "500011": "Exchange Online is not known in this tenant; check scope",
}


def _hint(description: str) -> str:
    found = re.search(r"AADSTS(\d+)", description)
    if found and found.group(1) in _AADSTS_HINTS:
        return _AADSTS_HINTS[found.group(1)]
    return "check tenant, client_id and the credential in Entra ID › App registrations"


def _certificate(pem: str) -> dict[str, str]:
    certs = re.findall(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", pem, re.S)
    cred = {"private_key": pem}
    if certs:
        cred["public_certificate"] = certs[0]
    return cred


class MicrosoftTokenSource:
    """Client-credentials tokens from Entra ID. ``credential`` is the resolved client secret
    or certificate PEM; ``timeout`` bounds every HTTP request (seconds); ``where`` names the
    setting in messages (the source and its key path, from the config)."""

    def __init__(
        self,
        source: str,
        cfg: MicrosoftToken,
        credential: Secret,
        timeout: float,
        *,
        where: str = "auth.token.microsoft",
    ) -> None:
        try:
            import msal
        except ImportError as exc:
            raise ConfigError(
                f"{where} needs the msal library: pip install 'dlrpoll[msal]'"
            ) from exc
        self.source = source
        self.cfg = cfg
        self.timeout = timeout
        self.description = f"Microsoft Entra ID (tenant {cfg.tenant}, client {cfg.client_id})"
        client_credential: Any
        if cfg.client_secret is not None:
            client_credential = credential.reveal()
        else:
            client_credential = _certificate(credential.reveal())
            if cfg.certificate_thumbprint:
                client_credential["thumbprint"] = cfg.certificate_thumbprint
        self._msal = msal
        self._credential = client_credential
        self._app: Any = None

    def _application(self) -> Any:
        """msal's app, made at the first fetch: making it reads the tenant's discovery
        document over the network, which belongs in a poll, not in setting up a source."""
        if self._app is None:
            cfg = self.cfg
            try:
                self._app = self._msal.ConfidentialClientApplication(
                    cfg.client_id,
                    client_credential=self._credential,
                    authority=f"{cfg.authority_host.rstrip('/')}/{cfg.tenant}",
                    http_client=TokenSession(cfg.ca_file, self.timeout),
                    # the authority is the configured one: no lookup of Microsoft's list of
                    # instances (a sovereign cloud or a test's endpoint is not on it)
                    instance_discovery=False,
                )
            except ValueError as exc:
                # msal's tenant discovery ("Unable to get authority configuration for …"), or
                # a certificate it cannot load
                raise SourceAuthError(
                    self.source,
                    f"{self.description}: {exc}; check tenant, authority_host and certificate",
                ) from exc
        return self._app

    def fetch(self, now: float) -> AccessToken:
        try:
            app = self._application()
            # our cache decides when a new token is due; msal would hand back its own copy
            app.remove_tokens_for_client()
            result = app.acquire_token_for_client(scopes=[self.cfg.scope])
        except requests.Timeout as exc:
            raise SourceTimeoutError(
                self.source, f"{self.description}: no answer within {self.timeout:g} s"
            ) from exc
        except requests.RequestException as exc:
            raise SourceConnectError(
                self.source,
                f"{self.description}: cannot reach {self.cfg.authority_host} ({exc}); check "
                "the network, a proxy, or ca_file",
            ) from exc
        token = result.get("access_token") if isinstance(result, dict) else None
        if not isinstance(token, str):
            error = result.get("error", "no access token") if isinstance(result, dict) else ""
            described = str(result.get("error_description") or "") if result else ""
            first = described.splitlines()[0] if described else ""
            raise SourceAuthError(
                self.source,
                f"{self.description} refused: {error}: {first!r}; {_hint(described)}",
            )
        expires_in = result.get("expires_in")
        expires_at = now + float(expires_in) if isinstance(expires_in, int | float) else None
        return AccessToken(token, expires_at)
