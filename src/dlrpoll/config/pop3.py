"""``kind = "pop3"`` settings: receipts forwarded to a mailbox."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dlrpoll.config.mailbox import MailboxSourceBase


class Pop3SourceConfig(MailboxSourceBase):
    """``kind = "pop3"``: receipts forwarded to a mailbox."""

    ssl_port = 995
    plain_port = 110

    kind: Literal["pop3"]
    delete: Literal["after-store", "never"] = "after-store"
    pipeline_window: int = Field(default=200, ge=1, le=10000)
