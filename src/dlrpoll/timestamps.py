"""Timestamps as dlrpoll stores and shows them: ISO-8601 UTC text of one fixed width.

``2026-11-22T14:07:53.123456Z``: UTC, always microseconds, always ``Z``. The fixed width
makes text order equal time order, so ``WHERE done_at >= '2026-11-22'`` and ``ORDER BY
done_at`` are right in any tool, and SQLite's date functions read the values. This is the
one module that formats or reads that text; a shared leaf (it imports nothing of ours), so
the store, the reports, the CLI and the parsers can all use it.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo


def to_text(when: datetime) -> str:
    """``when`` as stored text: ``2026-11-22T14:07:53.123456Z``. A naive datetime is UTC."""
    if when.tzinfo is UTC:  # what the parsers make: twice as fast (two columns per receipt)
        text = when.isoformat()  # "…+00:00", without ".ffffff" when that is zero
        return text[:-6] + "Z" if when.microsecond else text[:-6] + ".000000Z"
    offset = when.utcoffset()
    if offset:
        when = when - offset
    return when.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def to_text_or_none(when: datetime | None) -> str | None:
    """:func:`to_text`, with ``None`` for ``None``."""
    return None if when is None else to_text(when)


def from_text(value: str | datetime) -> datetime:
    """The aware UTC datetime a stored timestamp stands for.

    Takes the stored text (any ISO-8601 form Python reads, ``Z`` included) or a datetime,
    as some drivers hand back; a value without a zone is UTC. Raises ``ValueError`` for
    text that is not ISO-8601.
    """
    got = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return got.astimezone(UTC) if got.tzinfo else got.replace(tzinfo=UTC)


def from_text_or_none(value: str | datetime | None) -> datetime | None:
    """:func:`from_text`, with ``None`` for ``None``."""
    return None if value is None else from_text(value)


def parse_iso(text: str, default_tz: tzinfo = UTC) -> datetime:
    """An ISO-8601 date or date and time as written by a person or a provider
    (``2026-11-22``, ``2026-11-22T14:00``, ``…+02:00``, ``…Z``), aware; one without an
    offset is in ``default_tz``. Raises ``ValueError`` for anything else."""
    got = datetime.fromisoformat(text.strip())
    return got if got.tzinfo else got.replace(tzinfo=default_tz)
