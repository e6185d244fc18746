"""``kind = "pop3"`` settings: receipts forwarded to a mailbox."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dlrpoll.config.oauth import AuthConfig, check_sign_in
from dlrpoll.config.secrets import SecretValue
from dlrpoll.config.source_base import SourceBase
from dlrpoll.config.values import Size


class Pop3SourceConfig(SourceBase):
    """``kind = "pop3"``: receipts forwarded to a mailbox."""

    kind: Literal["pop3"]
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    allow_plaintext: bool = False
    ca_file: str | None = None
    username: str
    password: SecretValue | None = None
    #: OAuth2 sign-in instead of ``password`` (see ``config/oauth.py``)
    auth: AuthConfig | None = None
    delete: Literal["after-store", "never"] = "after-store"
    max_messages: int = Field(default=2000, ge=1)
    max_size: Size = 1024 * 1024
    pipeline_window: int = Field(default=200, ge=1, le=10000)

    @model_validator(mode="after")
    def _plaintext_needs_consent(self) -> Pop3SourceConfig:
        check_sign_in(self.password, self.auth)
        if self.tls == "none" and not self.allow_plaintext:
            raise ValueError(
                'tls = "none" sends the password in clear; set allow_plaintext = true '
                'to accept that, or use tls = "ssl" or "starttls"'
            )
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 995 if self.tls == "ssl" else 110
