"""The raw item: what a source hands over and the journal keeps, before any parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RawFormat(StrEnum):
    """How a journaled payload is read; the value is what ``raw_messages.format`` holds.

    Which formats a source produces, which of them are containers to split and which are
    records of items left on the server is the source's knowledge (see
    :class:`dlrpoll.sources.base.Source`), never the poller's.
    """

    #: RFC 5322 bytes: one e-mail, possibly holding several receipts
    EMAIL = "email"
    #: a receipt's text; the profile tells its wire format
    TEXT = "text"
    #: a whole SOAP response, journaled before its items are split out of it
    SOAP_ENVELOPE = "soap-envelope"
    #: a SOAP response that cannot be read without its HTTP Content-Type (MTOM, a charset
    #: given only there), journaled as a MIME entity: ``Content-Type: …``, a blank line, body
    SOAP_MIME = "soap-mime"
    #: the headers of an e-mail left on the server (too large to fetch), kept as a record
    EMAIL_HEADERS = "email-headers"


@dataclass(frozen=True, slots=True)
class RawItem:
    """Bytes fetched from a source, with what the source knows about them.

    ``format`` tells the parser how to read ``payload`` (:class:`RawFormat`). ``parse_error`` is
    set by the source when it already knows the item cannot be parsed (an oversize e-mail,
    a hostile response); such items are journaled and quarantined, never parsed.
    ``ack`` is the source's own handle for acknowledging the item (a POP3 message number);
    it is never stored.
    """

    remote_id: str | None
    payload: bytes
    format: RawFormat
    parse_error: str | None = None
    sender: str | None = None
    received_at: datetime | None = None
    ack: Any = field(default=None, compare=False)
