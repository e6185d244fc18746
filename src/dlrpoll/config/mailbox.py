"""What the mailbox kinds (``pop3``, ``imap``) share: the server, TLS, sign-in (a password
or OAuth2, never both) and the per-poll limits."""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import Field, model_validator

from dlrpoll.config.oauth import AuthConfig, check_sign_in
from dlrpoll.config.secrets import SecretValue
from dlrpoll.config.source_base import SourceBase
from dlrpoll.config.values import Size


class MailboxSourceBase(SourceBase):
    """The settings of a mailbox source; a kind sets its two standard ports."""

    #: the port for ``tls = "ssl"``, and the plain one (STARTTLS or none)
    ssl_port: ClassVar[int]
    plain_port: ClassVar[int]

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    allow_plaintext: bool = False
    ca_file: str | None = None
    username: str
    password: SecretValue | None = None
    #: OAuth2 sign-in instead of ``password`` (see ``config/oauth.py``)
    auth: AuthConfig | None = None
    max_messages: int = Field(default=2000, ge=1)
    max_size: Size = 1024 * 1024

    @model_validator(mode="after")
    def _sign_in(self) -> Self:
        check_sign_in(self.password, self.auth)
        if self.tls == "none" and not self.allow_plaintext:
            raise ValueError(
                'tls = "none" sends the credentials in clear; set allow_plaintext = true '
                'to accept that, or use tls = "ssl" or "starttls"'
            )
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return self.ssl_port if self.tls == "ssl" else self.plain_port
