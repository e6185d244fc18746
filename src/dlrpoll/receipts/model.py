"""The canonical receipt and the SMPP message states it is expressed in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import cast


class State(IntEnum):
    """SMPP ``message_state`` values (SMPP v5 section 4.7.15)."""

    SCHEDULED = 0
    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9

    @property
    def smpp_final(self) -> bool:
        """Whether SMPP defines this state as final. Profiles may say otherwise per status."""
        return self not in _INTERMEDIATE


_INTERMEDIATE = frozenset({State.SCHEDULED, State.ENROUTE})


@dataclass(frozen=True, slots=True)
class Receipt:
    """One delivery receipt event, whatever format it arrived in.

    ``message_id``, ``provider_status`` and ``error_code`` are kept verbatim. Datetimes are
    timezone-aware. ``final`` is decided by the provider profile that read the receipt.
    """

    message_id: str
    state: State
    final: bool
    provider_status: str
    format: str
    error_code: str | None = None
    submitted_at: datetime | None = None
    done_at: datetime | None = None
    sub: int | None = None
    dlvrd: int | None = None
    src_addr: str | None = None
    dst_addr: str | None = None
    client_ref: str | None = None
    text: str | None = None


class _ReceiptBuilder:
    """The same slots as :class:`Receipt`, without the frozen ``__setattr__``.

    The frozen dataclass's generated ``__init__`` sets each of its 14 fields through
    ``object.__setattr__``, which costs more than the whole SMPP regex match. Parsers on the
    hot path fill this twin with plain attribute stores and then turn it into a
    ``Receipt``: the layouts are identical, so CPython allows the ``__class__`` assignment,
    and the result is an ordinary frozen ``Receipt`` (tests check it equals one built the
    usual way).
    """

    __slots__ = Receipt.__slots__

    def __init__(
        self,
        message_id: str,
        state: State,
        final: bool,
        provider_status: str,
        format: str,
        error_code: str | None,
        submitted_at: datetime | None,
        done_at: datetime | None,
        sub: int | None,
        dlvrd: int | None,
        src_addr: str | None,
        dst_addr: str | None,
        client_ref: str | None,
        text: str | None,
    ) -> None:
        self.message_id = message_id
        self.state = state
        self.final = final
        self.provider_status = provider_status
        self.format = format
        self.error_code = error_code
        self.submitted_at = submitted_at
        self.done_at = done_at
        self.sub = sub
        self.dlvrd = dlvrd
        self.src_addr = src_addr
        self.dst_addr = dst_addr
        self.client_ref = client_ref
        self.text = text
        self.__class__ = Receipt  # type: ignore[assignment]


#: ``Receipt(...)`` with all 14 fields given positionally, in field order, about three times
#: faster; for parsers' hot paths (anything else should call ``Receipt`` itself).
make_receipt = cast(
    "Callable[[str, State, bool, str, str, str | None, datetime | None, datetime | None, "
    "int | None, int | None, str | None, str | None, str | None, str | None], Receipt]",
    _ReceiptBuilder,
)
