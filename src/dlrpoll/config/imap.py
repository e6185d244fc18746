"""``kind = "imap"`` settings: receipts forwarded to a mailbox read over IMAP."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from dlrpoll.config.mailbox import MailboxSourceBase


class ImapSourceConfig(MailboxSourceBase):
    """``kind = "imap"``: a folder of an IMAP mailbox. ``after_store`` says what happens to a
    message once it is journaled and its receipts stored: ``move`` (to ``move_to``, created
    when missing), ``delete``, ``flag`` (``\\Seen``) or ``keep``."""

    ssl_port = 993
    plain_port = 143

    kind: Literal["imap"]
    folder: str = Field(default="INBOX", min_length=1)
    after_store: Literal["move", "delete", "flag", "keep"] = "move"
    move_to: str | None = None
    #: messages per UID FETCH (a batch is also bounded in bytes); one journal commit each
    fetch_batch: int = Field(default=500, ge=1, le=10000)

    @model_validator(mode="after")
    def _consistent(self) -> ImapSourceConfig:
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
