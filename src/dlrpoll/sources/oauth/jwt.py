"""Reading an access token that is a JWT, *without verifying it*: only to tell a user what the
token says (audience, roles or scopes, expiry) and to know when to refresh it. The server that
receives the token verifies it; we never trust these claims for anything else.

Microsoft's tokens for Exchange Online are JWTs (aud ``https://outlook.office365.com``,
app-only ones carry ``roles``, delegated ones ``scp``); Google's are opaque (``ya29.…``),
so :func:`claims` returns ``None`` for them.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["TokenClaims", "claims", "expiry"]


@dataclass(frozen=True)
class TokenClaims:
    """What a JWT access token says about itself (unverified). Times are Unix seconds."""

    audience: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    expires_at: float | None = None
    issuer: str | None = None
    tenant: str | None = None
    app_id: str | None = None
    subject: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def microsoft(self) -> bool:
        """Issued by Microsoft Entra ID (v1 or v2 endpoint)."""
        issuer = self.issuer or ""
        return "sts.windows.net" in issuer or "login.microsoftonline" in issuer

    def expires_text(self, now: float) -> str:
        if self.expires_at is None:
            return "no expiry in the token"
        when = datetime.fromtimestamp(self.expires_at, UTC).isoformat(timespec="seconds")
        left = self.expires_at - now
        if left <= 0:
            return f"{when} (EXPIRED {int(-left)} s ago)"
        return f"{when} (in {int(left // 60)} min)"


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _strings(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(value.split()) if " " in value else (value,)
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    return ()


def claims(token: str) -> TokenClaims | None:
    """The claims of a JWT access token, or ``None`` when ``token`` is not a JWT (an opaque
    token). Never raises."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(_b64url(parts[1]))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(payload, dict):
        return None
    exp = payload.get("exp")
    return TokenClaims(
        audience=_strings(payload.get("aud")),
        roles=_strings(payload.get("roles")),
        scopes=_strings(payload.get("scp") or payload.get("scope")),
        expires_at=float(exp) if isinstance(exp, int | float) else None,
        issuer=payload.get("iss") if isinstance(payload.get("iss"), str) else None,
        tenant=payload.get("tid") if isinstance(payload.get("tid"), str) else None,
        app_id=str(payload.get("appid") or payload.get("azp") or "") or None,
        subject=str(payload.get("upn") or payload.get("sub") or "") or None,
        raw=payload,
    )


def expiry(token: str) -> float | None:
    """When a JWT access token expires (Unix seconds), or ``None`` for an opaque token."""
    found = claims(token)
    return found.expires_at if found else None
