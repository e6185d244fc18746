"""Dates in key/value receipts: everything :mod:`.dates` reads, plus ISO-8601, RFC 5322
and Unix times.

- ISO-8601 with ``T`` or a space between date and time, seconds and fractions optional
  (``2024-11-05T10:00:00.000+0000``, ``2024-11-05 10:00:05``), an offset written ``Z``,
  ``+hh:mm``, ``+hhmm`` or ``+hh`` — or ``␣hh:mm``/``␣hhmm``: an offset whose ``+``
  arrived as a space from form decoding (``-`` survives decoding, so it is the only reading);
  the basic form ``20241105T100005Z``; ``/`` for ``-`` in the date. A fraction beyond
  microseconds is cut to microseconds.
- RFC 5322 (``Tue, 05 Nov 2024 10:00:00 +0000``).
- Unix seconds (10 digits, or with a ``.fraction``) and milliseconds (13 digits), when the
  profile reads dates as Unix times, or when that is the only valid reading of the value
  (:func:`dlrpoll.receipts.dates.digit_date`: a value that both a Unix time and an SMPP date
  can be is rejected, naming both). A Unix time is UTC; everything else without a zone is in
  the zone the caller gives.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.dates import digit_date, unix_reading
from dlrpoll.receipts.values import ABSENT, is_zero

_ISO = re.compile(
    r"(?P<y>\d{4})(?P<sep>[-/]?)(?P<mo>\d{2})(?P=sep)(?P<d>\d{2})"
    r"(?:(?P<t>[T ])(?P<h>\d{2}):?(?P<mi>\d{2})(?::?(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"(?:\s?(?P<z>[Zz]|UTC|GMT)"
    r"|\s?(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?"
    r"|(?P<space> )(?P<sh>\d{2}):?(?P<sm>\d{2}))?",
    re.ASCII,
)

#: the readings of each date form, for messages
_EXPECTED = (
    "expected YYMMDDhhmm[ss], YYYYMMDDhhmmss, ISO-8601 (2024-11-05T10:00:00Z), Unix seconds "
    "or milliseconds, or an RFC 5322 date"
)


def iso_date(text: str, tz: tzinfo, what: str) -> datetime | None:
    """An ISO-8601 date-time (module docstring), or ``None`` when ``text`` is not one.

    Raises :class:`ParseError` when it is ISO-shaped but names no such moment.
    """
    m = _ISO.fullmatch(text)
    if m is None:
        return None
    if not m.group("sep") and m.group("t") != "T":
        return None  # 20241105 alone is an all-digit date, not ISO (digit_date reads it)
    zone: tzinfo = tz
    try:
        if m.group("z"):
            zone = UTC
        elif m.group("sign") or m.group("space"):
            if m.group("space") and m.group("t") is None:
                return None
            hours = int(m.group("oh") or m.group("sh"))
            minutes = int(m.group("om") or m.group("sm") or 0)
            if minutes >= 60:
                raise ValueError(f"offset minutes {minutes} must be below 60")
            delta = timedelta(hours=hours, minutes=minutes)
            zone = timezone(-delta if m.group("sign") == "-" else delta)
        fraction = (m.group("f") or "").ljust(6, "0")[:6]
        return datetime(
            int(m.group("y")),
            int(m.group("mo")),
            int(m.group("d")),
            int(m.group("h") or 0),
            int(m.group("mi") or 0),
            int(m.group("s") or 0),
            int(fraction),
            tzinfo=zone,
        )
    except ValueError as exc:
        raise ParseError(f"{what} {text!r} is not a valid date ({exc}); check the source") from exc


def text_date(text: str, tz: tzinfo, what: str, *, smpp: bool) -> datetime | None:
    """A date that is not all digits: ISO-8601 or RFC 5322 (``smpp``: read from Appendix B
    text, whose errors name its own forms). Raises :class:`ParseError` when unreadable."""
    if text in ABSENT or is_zero(text):
        return None
    got = iso_date(text, tz, what)
    if got is not None:
        return got
    if not smpp and any(c.isalpha() for c in text):
        # imported here: the email package costs start-up time `dlrpoll parse` need not pay
        from email.utils import parsedate_to_datetime

        try:
            got = parsedate_to_datetime(text)
        except (ValueError, TypeError, IndexError, OverflowError):
            got = None
        if got is not None:
            return got if got.tzinfo is not None else got.replace(tzinfo=tz)
    if smpp:
        raise ParseError(
            f"{what} {text!r} is not an SMPP date; expected YYMMDDhhmm[ss], "
            "YYMMDDhhmmsstnnp, YYYYMMDDhhmmss[HH] or ISO-8601 (2024-01-02T03:04:05Z)"
        )
    raise ParseError(f"{what} {text!r} is not a date we can read; {_EXPECTED}")


def any_date(
    value: str, tz: tzinfo, what: str = "date", *, unix: bool | None = None
) -> datetime | None:
    """A date in a key/value field, or ``None`` when absent (module docstring).

    ``unix``: ``True`` reads all-digit values as Unix times (the profile says so),
    ``False`` never does, ``None`` when that is the only valid reading. Raises
    :class:`ParseError` naming what the value looks like when it cannot be read.
    """
    text = value.strip()
    if text in ABSENT or is_zero(text):
        return None
    if text.isdigit() and text.isascii():
        return digit_date(text, tz, what, unix=unix)
    if len(text) == 16 and text[:15].isdigit() and text[15] in "+-R":
        return digit_date(text, tz, what, unix=False)
    if unix is not False and "." in text:
        got = unix_reading(text, what, window=unix is None)
        if got is not None:
            return got
    return text_date(text, tz, what, smpp=False)
