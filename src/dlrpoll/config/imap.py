"""``kind = "imap"`` settings: receipts forwarded to a mailbox read over IMAP."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dlrpoll.config.oauth import AuthConfig, check_sign_in
from dlrpoll.config.secrets import SecretValue
from dlrpoll.config.source_base import SourceBase
from dlrpoll.config.values import Size


class ImapSourceConfig(SourceBase):
    """``kind = "imap"``: a folder of an IMAP mailbox. ``after_store`` says what happens to a
    message once it is journaled and its receipts stored: ``move`` (to ``move_to``, created
    when missing), ``delete``, ``flag`` (``\\Seen``) or ``keep``."""

    kind: Literal["imap"]
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    allow_plaintext: bool = False
    ca_file: str | None = None
    username: str
    password: SecretValue | None = None
    auth: AuthConfig | None = None
    folder: str = Field(default="INBOX", min_length=1)
    after_store: Literal["move", "delete", "flag", "keep"] = "move"
    move_to: str | None = None
    max_messages: int = Field(default=2000, ge=1)
    max_size: Size = 1024 * 1024
    #: messages per UID FETCH (a batch is also bounded in bytes); one journal commit each
    fetch_batch: int = Field(default=500, ge=1, le=10000)

    @model_validator(mode="after")
    def _consistent(self) -> ImapSourceConfig:
        check_sign_in(self.password, self.auth)
        if self.tls == "none" and not self.allow_plaintext:
            raise ValueError(
                'tls = "none" sends the credentials in clear; set allow_plaintext = true '
                'to accept that, or use tls = "ssl" or "starttls"'
            )
        if self.after_store == "move":
            if not self.move_to:
                raise ValueError(
                    'after_store = "move" needs move_to = "FOLDER" (created when missing); '
                    'or choose after_store = "delete", "flag" or "keep"'
                )
            if self.move_to == self.folder:
                raise ValueError("move_to must differ from folder")
        elif self.move_to is not None:
            raise ValueError(f'move_to is only used with after_store = "move", not '
                             f'{self.after_store!r}')  # fmt: skip
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 993 if self.tls == "ssl" else 143
