"""Receipts: the canonical receipt, provider profiles and one parser per wire format.

Pure: no I/O, no database, no clock. Every parser turns ``str | bytes`` into receipts or
raises :class:`~dlrpoll.errors.ParseError`; nothing else escapes.
"""

from dlrpoll.receipts.model import Receipt, State
from dlrpoll.receipts.parse import parse_payload
from dlrpoll.receipts.profiles import BUILTIN_PROFILES, Profile, build_profiles

__all__ = ["BUILTIN_PROFILES", "Profile", "Receipt", "State", "build_profiles", "parse_payload"]
