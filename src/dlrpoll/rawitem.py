"""The raw item: what a source hands over and the journal keeps, before any parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RawItem:
    """Bytes fetched from a source, with what the source knows about them.

    ``format`` tells the parser how to read ``payload``: ``"email"`` (RFC 5322 bytes),
    ``"text"`` (a receipt's text, format detected by the profile), or ``"soap-envelope"``
    (a whole SOAP response, journaled before its items are split out). ``parse_error`` is
    set by the source when it already knows the item cannot be parsed (an oversize e-mail,
    a hostile response); such items are journaled and quarantined, never parsed.
    ``ack`` is the source's own handle for acknowledging the item (a POP3 message number);
    it is never stored.
    """

    remote_id: str | None
    payload: bytes
    format: str
    parse_error: str | None = None
    sender: str | None = None
    received_at: datetime | None = None
    ack: Any = field(default=None, compare=False)
