"""Date formats a profile names per field (``dates = { done_at = "epoch" }``).

When a provider documents how it writes a date, the profile says so and the date is read
that way only — never guessed: a value that is not in the named format is an error naming
the format.

============  ==============================================================================
``smpp``      ``YYMMDDhhmm``, ``YYMMDDhhmm[ss]``, ``YYMMDDhhmmsstnnp`` (and the other digit
              forms Appendix B readers meet); never a Unix time
``iso``       ISO-8601: ``2024-11-05T10:00:00Z``, ``…+01:00``, ``…+0100``, a space for ``T``,
              fractions; without an offset, in the profile's (or source's) time zone
``epoch``     Unix seconds (``1730800000``, ``1730800000.5``); always UTC
``epoch-ms``  Unix milliseconds (``1730800000123``); always UTC
pattern       a ``strftime`` pattern such as ``%d/%m/%Y %H:%M:%S`` (it must hold a ``%``);
              without ``%z`` the date is in the profile's (or source's) time zone
============  ==============================================================================

Absent values (empty, ``null``, all zeros: :mod:`.values`) are absent in every format.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.anydate import iso_date
from dlrpoll.receipts.dates import digit_date
from dlrpoll.receipts.values import ABSENT, is_zero

#: The named formats; anything else must be a strftime pattern.
NAMED_FORMATS: tuple[str, ...] = ("smpp", "iso", "epoch", "epoch-ms")
#: Unix times beyond this are not dates a receipt holds (the year 2100).
_EPOCH_MAX = 4_102_444_800


def check_format(fmt: object) -> str | None:
    """Why ``fmt`` is not a date format, or ``None`` when it is one."""
    if not isinstance(fmt, str) or not fmt:
        return "must be a date format: smpp, iso, epoch, epoch-ms or a strftime pattern"
    if fmt in NAMED_FORMATS:
        return None
    if "%" not in fmt:
        return (
            f"{fmt!r} is not a date format; use smpp, iso, epoch, epoch-ms or a strftime "
            'pattern like "%d/%m/%Y %H:%M:%S"'
        )
    try:
        # a pattern strptime cannot compile (a stray %Q) fails on any input
        datetime.strptime(datetime(2024, 11, 5, 10, 0, 5, tzinfo=UTC).strftime(fmt), fmt)
    except ValueError as exc:
        return f"{fmt!r} is not a strftime pattern strptime can read ({exc})"
    return None


def _epoch(text: str, fmt: str, what: str) -> datetime:
    whole, dot, frac = text.partition(".")
    ms = fmt == "epoch-ms"
    if not (whole.isascii() and whole.isdigit()) or (
        dot and not (frac.isascii() and frac.isdigit())
    ):
        unit = "milliseconds" if ms else "seconds"
        raise ParseError(f"{what} {text!r} is not a Unix time in {unit} (the profile's format)")
    seconds, micros = int(whole), int((frac + "000000")[:6]) if dot else 0
    if ms:
        seconds, millis = divmod(seconds, 1000)
        micros = millis * 1000 + (int((frac + "000")[:3]) if dot else 0)
    if seconds > _EPOCH_MAX:
        hint = " — milliseconds? use epoch-ms" if not ms else ""
        raise ParseError(f"{what} {text!r} is beyond the year 2100 as a Unix time{hint}")
    return datetime.fromtimestamp(seconds, UTC) + timedelta(microseconds=micros)


def read_date(value: str, fmt: str, tz: tzinfo, what: str) -> datetime | None:
    """``value`` read in the named format (module docstring); ``None`` when absent.

    Raises :class:`ParseError` naming the format when the value is not written in it.
    """
    text = value.strip()
    if text in ABSENT or is_zero(text):
        return None
    if fmt == "smpp":
        if text.isascii() and (text.isdigit() or (len(text) == 16 and text[:15].isdigit())):
            return digit_date(text, tz, what, unix=False)
        raise ParseError(f"{what} {text!r} is not an SMPP date (YYMMDDhhmm…), the profile's format")
    if fmt == "iso":
        got = iso_date(text, tz, what)
        if got is None:
            raise ParseError(
                f"{what} {text!r} is not an ISO-8601 date (2024-11-05T10:00:00Z), the "
                "profile's format"
            )
        return got
    if fmt in ("epoch", "epoch-ms"):
        return _epoch(text, fmt, what)
    try:
        got = datetime.strptime(text, fmt)
    except ValueError as exc:
        raise ParseError(
            f"{what} {text!r} does not match the profile's format {fmt!r} ({exc})"
        ) from None
    return got if got.tzinfo is not None else got.replace(tzinfo=tz)
