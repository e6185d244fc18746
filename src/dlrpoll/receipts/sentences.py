"""Receipts written as sentences, as e-mail gateways word them.

``Message to +447700900555 delivered``, ``Your message 5512 to +44 7700 900555 could not be
delivered``, ``SMS to 447700900555 has not been delivered``. A sentence names the recipient
(a phone number: the sentence is about an SMS, not an e-mail) and what happened; the
outcome phrase is the provider status, read through the profile (the self-naming words
include ``could not be delivered``, ``not delivered``, ``delivered to the network`` is never
read as DELIVERED).

A sentence rarely carries the message id, so it is taken from, in order: the sentence itself
(``Message 5512 to …``, ``Message to … (ID 5512)``), a ``Message ID: …`` line beside it, or
the e-mail's ``In-Reply-To`` header — the id of the e-mail an e-mail-to-SMS gateway was sent,
which is how such a gateway's user matches the receipt. Without one the e-mail is rejected,
saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.safety import safe_receipt

FORMAT = "sentence"

_SENTENCE = re.compile(
    r"\b(?:message|sms|text\s+message)"
    r"(?:\s+(?:(?:id|ref|reference|no\.?)\s*[:#]?\s*|\#\s*)?(?P<id>[A-Za-z0-9][\w.\-]{0,64}?))??"
    r"\s+(?:sent\s+)?to\s+(?P<to>\+?[0-9][0-9 \-]{4,18}[0-9])"
    r"(?:\s*\((?:(?:message\s+)?(?:id|ref|reference)\s*[:#]?\s*)?(?P<id2>[A-Za-z0-9][\w.\-]{0,64})\))?"
    r",?\s+(?:(?:has|had)\s+been\s+|(?:has|had|was|is)\s+)?"
    r"(?P<status>(?:could\s+not|can\s*not)\s+be\s+delivered|not\s+(?:been\s+)?delivered"
    r"|delivered\s+to\s+(?:the\s+)?[A-Za-z]+|delivered(?!\s+to\b)|failed|expired|rejected"
    r"|undeliverable|undelivered)\b",
    re.IGNORECASE | re.ASCII,
)
_SPACES = re.compile(r"\s+")
_ARTICLE = re.compile(r"\bthe\s+", re.IGNORECASE)


def find_sentences(text: str) -> Iterator[re.Match[str]]:
    """Every receipt sentence in ``text`` (line breaks count as spaces)."""
    return _SENTENCE.finditer(_SPACES.sub(" ", text))


def sentence_receipts(
    text: str, profile: Profile, tz: tzinfo, fallback_id: str | None
) -> list[Receipt]:
    """The receipts ``text`` words as sentences; ``fallback_id`` when a sentence names none.

    Raises :class:`ParseError` when a sentence names no message id and there is no fallback,
    or its outcome is not a status the profile knows.
    """
    del tz  # sentences carry no dates
    out: list[Receipt] = []
    for m in find_sentences(text):
        status = _SPACES.sub(" ", m.group("status").strip())
        to = m.group("to").replace(" ", "").replace("-", "")
        message_id = m.group("id2") or m.group("id") or fallback_id
        if not message_id:
            raise ParseError(
                f"the e-mail reports {status!r} for a message to {to} but names no message id "
                "(none in the sentence, no 'Message ID:' line, no In-Reply-To header), so "
                "dlrpoll cannot tell which message it is about"
            )
        entry = profile.status(_ARTICLE.sub("", status))  # "delivered to the network"
        out.append(
            safe_receipt(
                Receipt(
                    message_id=message_id,
                    state=entry.state,
                    final=entry.final,
                    provider_status=status,
                    format=FORMAT,
                    dst_addr=to,
                )
            )
        )
    return out
