"""What a receipt may hold before it is stored: the last check every parser's output passes.

A receipt's identifying fields (message id, status, error code, client reference,
addresses) are refused, as a :class:`~dlrpoll.errors.ParseError` naming the field, when they
hold a control character (C0, DEL, C1) or a lone surrogate, or are longer than
:data:`MAX_FIELD`: no provider sends such ids, and stored they would break reports, CSV
exports and terminals (a lone surrogate cannot be stored as UTF-8 at all). The free
``text`` (the first characters of the message) is informational: its control characters
and lone surrogates are replaced by U+FFFD and it is cut to :data:`MAX_TEXT` characters.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from dlrpoll.errors import ParseError
from dlrpoll.receipts.model import Receipt

#: Longest identifying field kept (an SMPP message id is at most 65 octets).
MAX_FIELD = 256
#: Longest ``text`` kept; the rest is cut off.
MAX_TEXT = 1024

_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls, DEL, C1 controls, lone surrogates
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# the same, but a tab or a line break may stay in free text
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_FIELDS = (
    ("message_id", "message id"),
    ("provider_status", "status"),
    ("error_code", "error code"),
    ("client_ref", "client reference"),
    ("src_addr", "sender address"),
    ("dst_addr", "recipient address"),
)


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a lone surrogate (it cannot be encoded as UTF-8)."""
    return _SURROGATE.search(text) is not None


def safe_receipt(receipt: Receipt) -> Receipt:
    """``receipt``, its ``text`` cleaned; :class:`ParseError` when an identifying field is
    unsafe (see the module docstring)."""
    for attr, what in _FIELDS:
        value = getattr(receipt, attr)
        if value is None:
            continue
        if len(value) > MAX_FIELD:
            raise ParseError(
                f"refused: the receipt's {what} is {len(value)} characters long "
                f"(at most {MAX_FIELD}): {value[:40]!r}…"
            )
        bad = _UNSAFE.search(value)
        if bad is not None:
            kind = "a lone surrogate" if has_surrogate(bad.group()) else "a control character"
            raise ParseError(
                f"refused: the receipt's {what} {value[:80]!r} holds {kind} "
                f"(U+{ord(bad.group()):04X} at {bad.start()}); no provider sends one, so the "
                "receipt is garbled or hostile"
            )
    text = receipt.text
    if text is None or (len(text) <= MAX_TEXT and _UNSAFE_TEXT.search(text) is None):
        return receipt
    return dataclasses.replace(receipt, text=_UNSAFE_TEXT.sub("\ufffd", text[:MAX_TEXT]))


def safe_receipts(receipts: Iterable[Receipt]) -> list[Receipt]:
    """:func:`safe_receipt` of each; the first unsafe one fails them all."""
    return [safe_receipt(r) for r in receipts]
