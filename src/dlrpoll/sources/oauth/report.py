"""What ``check-config --connect`` shows for a mail source: the server's capabilities, the
sign-in mechanism used, and for a JWT access token its audience, roles or scopes and expiry
(decoded, not verified), with a hint for each usual Microsoft 365 step that is missing.

:func:`check_connection` is the entry point for the CLI; it never raises for a failed
connection or sign-in (that is what it reports), only for a configuration it cannot use.

The Microsoft 365 steps (learn.microsoft.com/exchange/client-developer/legacy-protocols/
how-to-authenticate-an-imap-pop-smtp-application-by-using-oauth): an app registration with
the *application* permission ``IMAP.AccessAsApp`` or ``POP.AccessAsApp`` of "Office 365
Exchange Online" and admin consent; a token for ``https://outlook.office365.com/.default``;
the app's service principal registered in Exchange Online (``New-ServicePrincipal``); and the
mailbox given to it (``Add-MailboxPermission … -AccessRights FullAccess``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dlrpoll.config import LoadedConfig, SourceConfig
from dlrpoll.sources.oauth.jwt import TokenClaims, claims
from dlrpoll.sources.oauth.signin import OAuthSignIn
from dlrpoll.sources.oauth.tokens import AccessToken

__all__ = ["ConnectionReport", "check_connection", "token_lines"]

#: Audiences of a token Exchange Online accepts for IMAP and POP3.
EXCHANGE_AUDIENCES = frozenset(
    {
        "https://outlook.office365.com",
        "https://outlook.office.com",
        "00000002-0000-0ff1-ce00-000000000000",
    }
)


@dataclass
class ConnectionReport:
    """``lines`` say what was found, ``hints`` what to do; ``error`` is the failure, if any
    (``ok`` is then false)."""

    source: str
    lines: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def text(self) -> list[str]:
        """Every line, for printing: findings, then the error, then hints."""
        out = [f"[{self.source}] {line}" for line in self.lines]
        if self.error:
            out.append(f"[{self.source}] FAILED: {self.error}")
        out += [f"[{self.source}] hint: {hint}" for hint in self.hints]
        return out


def _exchange_hints(found: TokenClaims, protocol: str, now: float) -> list[str]:
    hints: list[str] = []
    proto = "IMAP" if protocol == "imap" else "POP"
    if found.audience and not EXCHANGE_AUDIENCES.intersection(found.audience):
        hints.append(
            f"the token is for {', '.join(found.audience)}, not Exchange Online: ask for the "
            "scope https://outlook.office365.com/.default (Microsoft Graph tokens do not work "
            "for IMAP or POP3)"
        )
    if found.scopes and not found.roles:
        need = f"{proto}.AccessAsUser.All"
        if need not in found.scopes:
            hints.append(
                f"this delegated token lacks the scope {need}: add that delegated permission "
                "of Office 365 Exchange Online to the app and sign in again"
            )
    else:
        need = f"{proto}.AccessAsApp"
        if need not in found.roles:
            hints.append(
                f"the token has no role {need}: in Entra ID › App registrations › API "
                "permissions, add the application permission "
                f"{need} of Office 365 Exchange Online (APIs my organization uses) and grant "
                "admin consent"
            )
    if found.expires_at is not None and found.expires_at <= now:
        hints.append("the token has expired: whatever refreshes it has stopped")
    return hints


def token_lines(token: AccessToken, protocol: str, now: float) -> tuple[list[str], list[str]]:
    """What ``token`` says about itself, and hints for what is missing: ``(lines, hints)``.
    Never shows the token."""
    found = claims(token.value)
    if found is None:
        return ["access token: opaque (not a JWT; Google's are opaque), nothing to decode"], []
    lines = [
        "access token (decoded, not verified):",
        f"  audience: {', '.join(found.audience) or '(none)'}",
        f"  roles: {', '.join(found.roles) or '(none)'}",
        f"  scopes: {', '.join(found.scopes) or '(none)'}",
        f"  expires: {found.expires_text(now)}",
    ]
    if found.issuer:
        lines.append(f"  issuer: {found.issuer}")
    if found.app_id:
        lines.append(f"  app id: {found.app_id}")
    hints = _exchange_hints(found, protocol, now) if found.microsoft else []
    return lines, hints


def refusal_hints(signin: OAuthSignIn, protocol: str, username: str) -> list[str]:
    """Hints after the server refused a token that looks right: the Exchange Online steps
    no token can show."""
    token = signin.last_token
    found = claims(token.value) if token else None
    if found is None or not found.microsoft:
        return []
    app = found.app_id or "<application (client) ID>"
    return [
        "a token with the right audience and role is still refused until Exchange Online "
        "knows the app: New-ServicePrincipal -AppId "
        f"{app} -ObjectId <object ID of its Enterprise application>",
        f"... and the mailbox is given to it: Add-MailboxPermission -Identity {username} "
        "-User <that object ID> -AccessRights FullAccess (the Enterprise application's object "
        "ID, not the app registration's)",
        f"... and {protocol.upper()} is enabled for the mailbox (Set-CASMailbox "
        f"{'-ImapEnabled' if protocol == 'imap' else '-PopEnabled'} $true); changes can take "
        "up to an hour to apply",
    ]


def check_connection(
    config: LoadedConfig, cfg: SourceConfig, *, clock: Callable[[], float] = time.time
) -> ConnectionReport | None:
    """Connect to a mail source and report (see the module docstring); ``None`` for a kind
    that is not a mailbox (SOAP). Changes nothing on the server: the IMAP folder is opened
    read-only and POP3 ends with ``QUIT`` before any ``DELE``."""
    if cfg.kind == "imap":
        from dlrpoll.sources.imap.check import check_imap

        return check_imap(config, cfg, now=clock())
    if cfg.kind == "pop3":
        from dlrpoll.sources.oauth.pop3_check import check_pop3

        return check_pop3(config, cfg, now=clock())
    return None
