"""Dates as receipts write them, each read the one way it can be read.

All-digit dates (:func:`digit_date`):

- ``YYMMDDhhmm`` (10), ``YYMMDDhhmmss`` (12) and the SMPP absolute time ``YYMMDDhhmmsstnnp``
  (16: ``t`` tenths, ``nn`` the offset in quarter hours, ``p`` ``+`` or ``-``), as SMPP
  Appendix B writes them. A ``p`` of ``R`` marks a relative time, which means nothing once
  the receipt is read: absent;
- ``YYYYMMDDhhmmss`` (14) and the same with hundredths (16 digits);
- 12 digits that are ``YYYYMMDDhhmm`` rather than ``YYMMDDhhmmss``: the reading that gives a
  valid date is taken, and when both do, the SMPP one (the format Appendix B defines);
- in key/value fields (:mod:`.anydate`), Unix seconds and milliseconds too.

A four-digit year is read from 1970 to 2099. An all-zero date, an empty one and the absent
words (:mod:`.values`) are absent. Dates without a zone are in the zone the caller gives.

:func:`smpp_date` is the hot path's reader: SMPP dates from a cache of minutes, everything
else from :func:`digit_date` (and ISO-8601 from :mod:`.anydate`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.values import ABSENT, is_zero

_CACHE_MAX = 16384
#: Unix times read where a field may hold one: 2001-09-09 to 2038-01-19 (32-bit time_t).
#: Beyond that window a 10-digit value is not taken for a Unix time.
UNIX_MIN = 1_000_000_000
UNIX_MAX = 2**31 - 1


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
#: zone → ``YYMMDDhhmm`` (or ``YYMMDDhhmmnnp``) → the minute, ``None`` when that is not a
#: valid SMPP minute (:func:`digit_date` then has the last word). A hot path may look a
#: 10-digit date up in it first.
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
        # ValueError beyond ±24 hours: the caller reports the date as invalid
        zone = (
            UTC
            if minutes == 0
            else timezone(timedelta(minutes=minutes if sign == "+" else -minutes))
        )
        _OFFSETS[key] = zone
    return zone


def smpp_date(value: str, tz: tzinfo, what: str = "date") -> datetime | None:
    """A date from Appendix B text as a timezone-aware datetime; ``None`` when absent.

    Every form in the module docstring but Unix times, and ISO-8601 (which some SMSCs
    write). Raises :class:`ParseError` naming ``what`` when the value is not a date. Cheap
    enough for the hot path: a slice or two and two dict lookups when the minute is cached.
    """
    n = len(value)
    if n == 10:
        key = value
        step = None
    elif n == 12 or (n == 16 and value[15] in "+-"):
        # the minute's key: YYMMDDhhmm, then a 16-character date's offset (nnp)
        key = value[:10] + value[13:]
        step = STEPS.get(value[10:13])
    else:
        return _slow(value, tz, what)
    cache = MINUTES[tz]
    try:
        base = cache[key]
    except KeyError:
        base = _minute(key, tz)
        if len(cache) >= _CACHE_MAX:
            cache.clear()
        cache[key] = base
    if base is not None:
        if step is not None:
            return base + step
        if n == 10:
            return base
    return _slow(value, tz, what)


def _slow(value: str, tz: tzinfo, what: str) -> datetime | None:
    text = value.strip()
    if text.isdigit() and text.isascii() or (len(text) == 16 and text[:15].isdigit()):
        return digit_date(text, tz, what, unix=False)
    from dlrpoll.receipts.anydate import text_date  # ISO and RFC 5322: off the hot path

    return text_date(text, tz, what, smpp=True)


def _minute(key: str, tz: tzinfo) -> datetime | None:
    """The minute ``key`` names: ``YYMMDDhhmm`` in ``tz``, or ``YYMMDDhhmmnnp`` (a
    16-character date's minute and offset); ``None`` when it names no valid minute (all
    zeros, a relative time, malformed, impossible). Depends on ``key`` and ``tz`` alone, so
    it may be cached under the key."""
    digits = key[:10]
    if not (digits.isascii() and digits.isdigit()) or digits == "0000000000":
        return None
    zone = tz
    if len(key) == 13:
        quarters, sign = key[10:12], key[12]
        if not (quarters.isascii() and quarters.isdigit()) or sign not in ("+", "-"):
            return None
        try:
            zone = _offset(quarters, sign)
        except ValueError:
            return None
    try:
        return datetime(
            2000 + int(key[0:2]),
            int(key[2:4]),
            int(key[4:6]),
            int(key[6:8]),
            int(key[8:10]),
            tzinfo=zone,
        )
    except ValueError:
        return None


# --- every all-digit form ---------------------------------------------------------------


def _build(y: int, mo: int, d: int, h: int, mi: int, s: int, us: int, tz: tzinfo) -> datetime:
    """A datetime; ``ValueError`` (with the reason) when there is no such moment."""
    return datetime(y, mo, d, h, mi, s, us, tzinfo=tz)


def _yy(v: str, tz: tzinfo) -> datetime:
    """``YYMMDDhhmm[ss]``."""
    sec = int(v[10:12]) if len(v) >= 12 else 0
    return _build(
        2000 + int(v[:2]), int(v[2:4]), int(v[4:6]), int(v[6:8]), int(v[8:10]), sec, 0, tz
    )


def _yyyy(v: str, tz: tzinfo) -> datetime:
    """``YYYYMMDDhhmm``, ``YYYYMMDDhhmmss`` or ``YYYYMMDDhhmmssHH`` (hundredths)."""
    year = int(v[:4])
    if not 1970 <= year <= 2099:
        raise ValueError(f"year {year} is outside 1970-2099")
    sec = int(v[12:14]) if len(v) >= 14 else 0
    hundredths = int(v[14:16]) if len(v) == 16 else 0
    return _build(
        year, int(v[4:6]), int(v[6:8]), int(v[8:10]), int(v[10:12]), sec, hundredths * 10_000, tz
    )


def _smpp16(v: str, tz: tzinfo) -> datetime | None:
    """``YYMMDDhhmmsstnnp``; ``None`` for a relative time (``p`` = ``R``)."""
    if v[15] == "R":
        return None
    zone = _offset(v[13:15], v[15])
    return _yy(v[:12], zone) + timedelta(microseconds=int(v[12]) * 100_000)


def unix_reading(v: str, what: str, window: bool) -> datetime | None:
    """Unix seconds (10 digits, or more with ``.fraction``) or milliseconds (13 digits) as
    a UTC datetime; ``None`` when it is not one (outside the window when ``window``)."""
    whole, dot, frac = v.partition(".")
    if not (whole.isdigit() and whole.isascii()) or (
        dot and not (frac.isdigit() and frac.isascii())
    ):
        return None
    seconds = int(whole)
    micros = int((frac + "000000")[:6]) if dot else 0
    if len(whole) == 13 and not dot:
        seconds, millis = divmod(seconds, 1000)
        micros = millis * 1000
    elif window and len(whole) != 10:
        return None
    if window and not UNIX_MIN <= seconds <= UNIX_MAX:
        return None
    try:
        return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=micros)
    except (ValueError, OverflowError, OSError) as exc:
        raise ParseError(f"{what} {v!r} is not a Unix time we can read ({exc})") from exc


def _try(fn, v: str, tz: tzinfo) -> tuple[datetime | None, str | None]:  # type: ignore[no-untyped-def]
    try:
        return fn(v, tz), None
    except ValueError as exc:
        return None, str(exc)


def digit_date(value: str, tz: tzinfo, what: str, *, unix: bool | None) -> datetime | None:
    """An all-digit date (or a 16-character SMPP time) in every form the module docstring
    names. ``unix``: ``False`` never reads a Unix time (Appendix B), ``True`` always does
    (a profile that says so), ``None`` reads one when it is the only valid reading.
    Raises :class:`ParseError` naming both readings when two are valid and it cannot tell.
    """
    v = value.strip()
    if v in ABSENT or is_zero(v):
        return None
    n = len(v)
    if unix is True:
        got = unix_reading(v, what, window=False)
        if got is not None:
            return got
        raise ParseError(
            f"{what} {value!r} is not a Unix time; the profile reads dates as Unix seconds"
        )
    if n == 16 and v[15] in "+-R":
        if not v[:15].isdigit():
            raise _unreadable(value, what)
        try:
            return _smpp16(v, tz)
        except ValueError as exc:
            raise ParseError(
                f"{what} {value!r} is not a valid date ({exc}); check the source"
            ) from exc
    if not (v.isdigit() and v.isascii()):
        raise _unreadable(value, what)
    unix_got = unix_reading(v, what, window=True) if unix is None else None
    if n == 10:
        got, why = _try(_yy, v, tz)
        if got is not None and unix_got is not None:
            raise ParseError(
                f"{what} {value!r} reads two ways: YYMMDDhhmm {got.isoformat()} or Unix time "
                f"{unix_got.isoformat()}; dlrpoll does not guess — set the profile's dates to "
                f'"smpp" or "unix"'
            )
        if got is not None:
            return got
        if unix_got is not None:
            return unix_got
        hint = (_unix_hint(v) if unix is False else "") or "; check the source"
        raise ParseError(f"{what} {value!r} is not a valid date ({why}){hint}")
    if n == 12:
        got, why = _try(_yy, v, tz)
        if got is not None:
            return got  # when YYYYMMDDhhmm is valid too, the SMPP reading wins (documented)
        got, why2 = _try(_yyyy, v, tz)
        if got is not None:
            return got
        raise ParseError(
            f"{what} {value!r} is not a valid date as YYMMDDhhmmss ({why}) nor as "
            f"YYYYMMDDhhmm ({why2}); check the source"
        )
    if n in (14, 16):
        got, why = _try(_yyyy, v, tz)
        if got is not None:
            return got
        raise ParseError(
            f"{what} {value!r} is not a valid date as YYYYMMDDhhmmss ({why}); check the source"
        )
    if unix_got is not None:  # 13 digits: milliseconds
        return unix_got
    if n == 15:
        raise ParseError(
            f"{what} {value!r} has 15 digits: an SMPP time YYMMDDhhmmsstnn ends in '+' or '-'; "
            "a '+' that arrived as a space (form decoding) was lost — have the provider "
            "encode it as %2B"
        )
    hint = (_unix_hint(v) if unix is False else "") or f"; {_EXPECTED}"
    raise ParseError(f"{what} {value!r} is not a date we can read{hint}")


_EXPECTED = (
    "expected YYMMDDhhmm[ss], YYMMDDhhmmsstnnp, YYYYMMDDhhmmss[HH] or ISO-8601 "
    "(2024-01-02T03:04:05Z)"
)


def _unix_hint(v: str) -> str:
    got = unix_reading(v, "date", window=True)
    if got is None:
        return ""
    return (
        f" — it looks like Unix time {got.isoformat()}, but Appendix B dates are never Unix "
        "times; ask the provider which it sends"
    )


def _unreadable(value: str, what: str) -> ParseError:
    return ParseError(f"{what} {value!r} is not an SMPP date; {_EXPECTED}")
