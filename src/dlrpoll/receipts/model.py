"""The canonical receipt and the SMPP message states it is expressed in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum


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
