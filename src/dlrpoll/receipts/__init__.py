"""Receipts: the canonical receipt, provider profiles and one parser per wire format.

Pure: no I/O, no database, no clock. Every parser turns ``str | bytes`` into receipts or
raises :class:`~dlrpoll.errors.ParseError`; nothing else escapes.

- :mod:`.parse` — :func:`parse_payload`, the entry point for raw items
- :mod:`.smpp` — SMPP Appendix B text (``id:… stat:… err:…``)
- :mod:`.keyvalue` — query strings, HTTP requests, ``Key: value`` lines; :mod:`.documents`
  — JSON and XML documents
- :mod:`.tree` — every key/value shape as one tree, and paths into it (``status.name``,
  ``results[0].to``); :mod:`.fields` — a receipt's fields found in a tree
- :mod:`.dates`, :mod:`.anydate` — dates in every form receipts write them;
  :mod:`.values` — what "absent" looks like
- :mod:`.mail`, :mod:`.mailtext`, :mod:`.sentences` — receipts inside e-mails
- :mod:`.profiles` — field names and status tables; :mod:`.spec` — the profile language
  (``[profiles.NAME]``); :mod:`.paths`, :mod:`.datefmt`, :mod:`.matchid`, :mod:`.embedded`
- :mod:`.catalogue` — the built-in providers; :mod:`.builtin` compiles them, adds the
  user's, and makes ``auto`` (:mod:`.detect`); :mod:`.explain` for ``parse --explain``
- :mod:`.safety` — the last check every receipt passes
"""

from dlrpoll.receipts.builtin import (
    AUTO,
    BUILTIN_PROFILES,
    auto_profile,
    build_profiles,
    resolve_profile,
)
from dlrpoll.receipts.catalogue import PROVIDERS
from dlrpoll.receipts.model import Receipt, State
from dlrpoll.receipts.parse import FORMATS, parse_payload, parse_text
from dlrpoll.receipts.profiles import Profile, StatusEntry

__all__ = [
    "AUTO",
    "BUILTIN_PROFILES",
    "FORMATS",
    "PROVIDERS",
    "Profile",
    "Receipt",
    "State",
    "StatusEntry",
    "auto_profile",
    "build_profiles",
    "parse_payload",
    "parse_text",
    "resolve_profile",
]
