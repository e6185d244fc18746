"""Optional values as receipts write them: what "absent" looks like, counts, plain strings.

**Absent is not malformed.** In an optional field (``sub``, ``dlvrd``, ``err``, dates,
addresses, client reference) an empty value and the words ``null``, ``none``, ``nil``,
``ND`` and ``N/A`` (any case) mean the receipt does not say; so does an all-zero date or
address (``0000000000``, ``0000-00-00 00:00:00``, ``0``). A zero *count* or *error code* is a
value, not an absence: ``dlvrd:000`` says nothing was delivered and ``err:000`` says there
was no error, so both are kept (the error code verbatim). Every parser path reads optional
fields through these functions, so the fast path and the any-order path agree.
"""

from __future__ import annotations

from itertools import product

from dlrpoll.errors import ParseError

_WORDS = ("null", "none", "nil", "nd", "n/a")


def _spellings(word: str) -> set[str]:
    return {"".join(p) for p in product(*((c.lower(), c.upper()) for c in word))}


#: Every spelling of an absent value, for an exact-match lookup on hot paths (``x in ABSENT``).
ABSENT: frozenset[str] = frozenset({""}.union(*(_spellings(w) for w in _WORDS)))


def is_absent(value: str | None) -> bool:
    """Whether an optional field's value means "absent" (``None``, empty, ``null``, …)."""
    return value is None or value in ABSENT or value.strip() in ABSENT


def is_zero(value: str) -> bool:
    """All zeros, separators allowed: an absent date or address (``0000-00-00 00:00``)."""
    return (
        value.isascii()
        and any(c == "0" for c in value)
        and all(c == "0" or not c.isalnum() for c in value)
    )


def optional(value: str | None) -> str | None:
    """An optional string stripped, or ``None`` when absent."""
    if value is None:
        return None
    value = value.strip()
    return None if value in ABSENT else value


def address(value: str | None) -> str | None:
    """An optional address stripped, or ``None`` when absent or all zeros."""
    value = optional(value)
    return None if value is None or is_zero(value) else value


def count(value: str | None, what: str) -> int | None:
    """An optional count of messages (``sub``, ``dlvrd``); ``None`` when absent.

    Raises :class:`ParseError` when it is neither absent nor a number.
    """
    value = optional(value)
    if value is None:
        return None
    if not (value.isdigit() and value.isascii()):
        raise ParseError(f"{what}: {value!r} is not a number of messages")
    return int(value)
