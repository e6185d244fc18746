"""Receipts: the canonical receipt, provider profiles and one parser per wire format.

Pure: no I/O, no database, no clock. Every parser turns ``str | bytes`` into receipts or
raises :class:`~dlrpoll.errors.ParseError`; nothing else escapes.

- :mod:`.smpp` — SMPP Appendix B text (``id:… stat:… err:…``)
- :mod:`.keyvalue` — query strings, ``Key: value`` lines, flat JSON, simple XML
- :mod:`.mail` — receipts inside e-mails
- :mod:`.profiles` — field names and status tables, built-in and user-defined
- :mod:`.parse` — :func:`parse_payload`, the entry point for raw items
"""

from dlrpoll.receipts.model import Receipt, State
from dlrpoll.receipts.parse import FORMATS, parse_payload, parse_text
from dlrpoll.receipts.profiles import BUILTIN_PROFILES, Profile, StatusEntry
from dlrpoll.receipts.userprofiles import build_profiles

__all__ = [
    "BUILTIN_PROFILES",
    "FORMATS",
    "Profile",
    "Receipt",
    "State",
    "StatusEntry",
    "build_profiles",
    "parse_payload",
    "parse_text",
]
