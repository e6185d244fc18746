"""Receipts inside a key/value receipt's field: Kannel's ``%A``, and the like.

A profile's ``embedded`` keys name fields whose value is the SMSC's own answer: a whole SMPP
Appendix B receipt (``id:… sub:… dlvrd:… submit date:… done date:… stat:… err:… text:…``),
or Kannel's ``ACK/`` and ``NACK/<code>/<reason>`` for a submit the SMSC accepted or refused.
The outer receipt's own fields come first; the embedded receipt fills only what they leave
absent (dates, error code, sub and dlvrd counts, text), and a ``NACK`` gives its code and
reason. The outer status decides the state: the embedded ``stat`` is the SMSC's word for the
same event, read here only so the receipt parses. An embedded value that looks like a
receipt but cannot be read is an error naming the key, never skipped silently.
"""

from __future__ import annotations

import dataclasses
from datetime import tzinfo
from typing import Any

from dlrpoll.errors import ParseError
from dlrpoll.receipts.model import Receipt, State
from dlrpoll.receipts.profiles import Profile, StatusEntry
from dlrpoll.receipts.smpp import looks_like_smpp, parse_smpp
from dlrpoll.receipts.values import optional

# reads any stat: the state comes from the outer receipt
_INNER = Profile("embedded", "smpp", states=(("*", StatusEntry(State.UNKNOWN, False)),))
_FILLED = ("error_code", "submitted_at", "done_at", "sub", "dlvrd", "text")


def fill_from_embedded(receipt: Receipt, values: list[tuple[str, str]], tz: tzinfo) -> Receipt:
    """``receipt`` with its absent fields filled from the first embedded value that says
    something (``values``: the embedded keys' ``(key as written, value)``, in the profile's
    order). Raises :class:`ParseError` naming the key when a receipt there cannot be read."""
    for key, raw in values:
        value = optional(raw)
        if value is None:
            continue
        fill: dict[str, Any] = {}
        upper = value.upper()
        if upper.startswith("NACK/"):
            _, code, reason = (value.split("/", 2) + ["", ""])[:3]
            fill = {"error_code": optional(code), "text": optional(reason)}
        elif upper.startswith("ACK/") or upper == "ACK":
            return receipt
        elif looks_like_smpp(value):
            try:
                inner = parse_smpp(value.strip(), _INNER, tz)
            except ParseError as exc:
                raise ParseError(
                    f"{key} holds an Appendix B receipt that cannot be read: {exc}"
                ) from None
            fill = {name: getattr(inner, name) for name in _FILLED}
        else:
            continue
        missing = {k: v for k, v in fill.items() if v is not None and getattr(receipt, k) is None}
        return dataclasses.replace(receipt, **missing) if missing else receipt
    return receipt
