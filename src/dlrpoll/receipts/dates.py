"""Dates as receipts write them: SMPP digits, ISO-8601, RFC 5322, Unix seconds.

SMPP Appendix B dates are ``YYMMDDhhmm`` (10 digits), ``YYMMDDhhmmss`` (12) or the full SMPP
absolute time ``YYMMDDhhmmsstnnp`` (16): ``t`` tenths of a second, ``nn`` the offset from UTC
in quarter hours, ``p`` ``+`` or ``-``. A ``p`` of ``R`` marks a relative time, which has no
meaning in a receipt read later: it is read as absent. So is an all-zero date. Dates without
a zone are in the zone the caller gives.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_to_datetime

from dlrpoll.errors import ParseError

_CACHE_MAX = 16384


class _MinuteCaches(dict[tzinfo, dict[str, datetime | None]]):
    """One minute cache per zone, made on first use (a subscript, no call, on the hot path)."""

    def __missing__(self, tz: tzinfo) -> dict[str, datetime | None]:
        cache: dict[str, datetime | None] = {}
        self[tz] = cache
        return cache


# Receipts from one SMSC share their dates to the minute, so a cache of the minute (keyed by
# the first ten digits, plus the offset of a 16-character date) hits nearly always; seconds
# and tenths are added from a table. That is several times cheaper than building a datetime.
# An entry depends on its key alone (the seconds and tenths are checked by the tables), so a
# malformed date cannot spoil the minute for the well-formed dates that share it.
#: zone → ``YYMMDDhhmm`` (or ``YYMMDDhhmmnnp``) → the minute, ``None`` if absent or invalid
#: (which :func:`smpp_date` tells apart). A hot path may look a 10-digit date up in it first.
MINUTES = _MinuteCaches()
#: The part of a date after its minute, ``value[10:13]``: "SS" (a 12-digit date) → seconds,
#: "SSt" (16 characters) → seconds and tenths, as timedeltas; a missing key is invalid.
STEPS = {f"{s:02d}": timedelta(seconds=s) for s in range(60)} | {
    f"{s:02d}{t}": timedelta(seconds=s, microseconds=t * 100_000)
    for s in range(60)
    for t in range(10)
}

_OFFSETS: dict[str, timezone] = {}


def _offset(quarters: str, sign: str) -> timezone:
    key = quarters + sign
    zone = _OFFSETS.get(key)
    if zone is None:
        minutes = 15 * int(quarters)
        if minutes == 0:
            zone = UTC
        else:
            # ValueError beyond ±24 hours: _minute reports the date as invalid
            zone = timezone(timedelta(minutes=minutes if sign == "+" else -minutes))
        _OFFSETS[key] = zone
    return zone


def smpp_date(value: str, tz: tzinfo, what: str = "date") -> datetime | None:
    """An SMPP date as a timezone-aware datetime; ``None`` when absent (all zeros, relative).

    ``YYMMDDhhmm`` and ``YYMMDDhhmmss`` are in ``tz``; ``YYMMDDhhmmsstnnp`` carries its own
    offset. Invalid dates raise :class:`ParseError` naming ``what``. Cheap enough for the
    hot path: a slice or two and two dict lookups when the minute is cached.
    """
    n = len(value)
    if n == 12 or n == 16:
        # the minute's key: YYMMDDhhmm, then a 16-character date's offset (nnp)
        key = value[:10] + value[13:]
        step = STEPS.get(value[10:13])
    else:  # 10 digits need no step; any other length is invalid (step None)
        key = value[:10]
        step = None
    cache = MINUTES[tz]
    try:
        base = cache[key]
    except KeyError:
        base = _minute(key, tz, value, what)
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = base
    if base is None:
        if _absent(value):
            return None
        raise _invalid(value, what)
    if step is not None:
        return base + step
    if n == 10:
        return base
    raise _invalid(value, what)


def _absent(value: str) -> bool:
    """All zeros, or a relative time (which means nothing once the receipt is read)."""
    if not value.isascii():
        return False
    if len(value) in (10, 12):
        return value.strip("0") == ""
    if len(value) == 16 and value[:15].isdigit() and value[15] in "+-R":
        return value[15] == "R" or value[:12].strip("0") == ""
    return False


def _invalid(value: str, what: str) -> ParseError:
    return ParseError(
        f"{what} {value!r} is not an SMPP date; expected YYMMDDhhmm, YYMMDDhhmmss "
        f"or YYMMDDhhmmsstnnp"
    )


def _minute(key: str, tz: tzinfo, value: str, what: str) -> datetime | None:
    """The minute ``key`` names: ``YYMMDDhhmm`` in ``tz``, or ``YYMMDDhhmmnnp`` (a
    16-character date's minute and offset). ``None`` for an all-zero minute, a relative time
    or a malformed key (the caller tells them apart). Depends on ``key`` and ``tz`` alone, so
    it may be cached under the key; ``value`` and ``what`` only name the date in an error."""
    digits = key[:10]
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
        return None
    if digits.strip("0") == "":
        return None
    try:
        zone = tz
        if len(key) == 13:
            quarters, sign = key[10:12], key[12]
            if not (quarters.isascii() and quarters.isdigit()) or sign not in ("+", "-"):
                return None  # malformed, or R: a relative time
            zone = _offset(quarters, sign)
        return datetime(
            2000 + int(key[0:2]),
            int(key[2:4]),
            int(key[4:6]),
            int(key[6:8]),
            int(key[8:10]),
            tzinfo=zone,
        )
    except ValueError as exc:  # no such day or time, or an offset beyond ±24 hours
        raise ParseError(f"{what} {value!r} is not a valid date ({exc}); check the source") from exc


_ISO_LIKE = re.compile(r"\d{4}[-/]\d{2}[-/]\d{2}")


def any_date(value: str, tz: tzinfo, what: str = "date", *, epoch: bool = False) -> datetime | None:
    """A date as key/value receipts write it: SMPP digits (or Unix seconds when ``epoch``),
    ISO-8601 (``2024-01-02T03:04:05Z``, ``2024-01-02 03:04``), or an RFC 5322 date."""
    text = value.strip()
    if not text:
        return None
    if text.isdigit() and text.isascii():
        if epoch:
            try:
                return datetime.fromtimestamp(int(text), UTC)
            except (ValueError, OverflowError, OSError) as exc:
                raise ParseError(f"{what} {value!r} is not a Unix time") from exc
        return smpp_date(text, tz, what)
    if len(text) == 16 and text[:15].isdigit():
        return smpp_date(text, tz, what)
    if _ISO_LIKE.match(text):
        iso = text[:10].replace("/", "-") + text[10:]
        if iso.endswith(("Z", "z")):
            iso = iso[:-1] + "+00:00"
        try:
            got = datetime.fromisoformat(iso)
        except ValueError:
            got = None
        if got is not None:
            return got if got.tzinfo is not None else got.replace(tzinfo=tz)
    else:
        try:
            got = parsedate_to_datetime(text)
        except (ValueError, TypeError, IndexError, OverflowError):
            got = None
        if got is not None:
            return got if got.tzinfo is not None else got.replace(tzinfo=tz)
    raise ParseError(
        f"{what} {value!r} is not a date we can read; expected YYMMDDhhmm[ss], ISO-8601 "
        f"(2024-01-02T03:04:05Z) or an RFC 5322 date"
    )
