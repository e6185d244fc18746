"""Dispatch a raw payload to the parser for its format (stub, being written)."""

from __future__ import annotations

from datetime import tzinfo

from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.profiles import Profile


def parse_payload(payload: bytes, fmt: str, profile: Profile, tz: tzinfo) -> list[Receipt]:
    """Receipts in one raw item. ``fmt`` is the journal's format: ``"email"`` or ``"text"``."""
    raise NotImplementedError
