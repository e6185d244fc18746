"""Dispatch a raw payload to the parser for its format; the one entry point sources' items
go through.

``fmt`` is the journal's format: ``"text"`` (one receipt's text, detected as SMPP Appendix B
or key/value, the profile's format breaking ties) or ``"email"`` (RFC 5322 bytes, possibly
several receipts). ``"smpp"`` and ``"keyvalue"`` force one parser (``dlrpoll parse
--format``). Only :class:`~dlrpoll.errors.ParseError` leaves this module.
"""

from __future__ import annotations

from datetime import tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.keyvalue import looks_like_query, parse_keyvalue, sniff_shape
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.smpp import looks_like_smpp, parse_smpp, parse_standard

#: The formats :func:`parse_payload` accepts.
FORMATS = ("text", "email", "smpp", "keyvalue")

_STRIP = " \t\r\n\x00\ufeff"


def _looks_utf16(data: bytes) -> bool:
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    head = data[:200]
    if len(head) < 4:
        return False
    # ASCII text in UTF-16 has a NUL in every other byte
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    return max(even, odd) >= len(head) // 2 * 0.6


def decode_text(payload: bytes | str) -> str:
    """A receipt's text from its bytes (UTF-8, else Windows-1252), stripped of padding
    (spaces, line ends, NULs and a byte-order mark)."""
    if isinstance(payload, str):
        return payload.strip(_STRIP)
    try:  # the common case: plain UTF-8 (or ASCII)
        text = payload.decode("utf-8").strip(_STRIP)
    except UnicodeDecodeError:
        text = None
    if text is not None and "\x00" not in text:
        return text
    data = payload.strip(b" \t\r\n\x00")
    if _looks_utf16(data):
        raise ParseError(
            "looks like UTF-16 bytes, not text; the source must decode the item as UTF-16 "
            "before it is parsed"
        )
    if text is not None:
        return text
    from dlrpoll.receipts.mail import decode_bytes  # the email package, only when needed

    return decode_bytes(data, None).strip(_STRIP)


def parse_text(payload: bytes | str, profile: Profile, tz: tzinfo) -> list[Receipt]:
    """The receipt(s) in one text: SMPP Appendix B or key/value, detected."""
    # a str needs only the strip: spare the hot path the call to decode_text
    text = payload.strip(_STRIP) if isinstance(payload, str) else decode_text(payload)
    if not text:
        raise ParseError("empty receipt: the item holds no text")
    if profile.format == "smpp":
        fast = parse_standard(text, profile, tz)
        if fast is not None:
            return [fast]
    if text[0] in "{[<":
        return parse_keyvalue(text, profile, tz, sniff_shape(text))
    if profile.format == "smpp":
        # one line that is not a query string is Appendix B, and errors say what it lacks
        if looks_like_smpp(text) or ("\n" not in text and not looks_like_query(text)):
            return [parse_smpp(text, profile, tz)]
        return parse_keyvalue(text, profile, tz)
    if looks_like_query(text):
        return parse_keyvalue(text, profile, tz, "query")
    if looks_like_smpp(text):
        return [parse_smpp(text, profile, tz)]
    return parse_keyvalue(text, profile, tz, "lines")


def _parse(payload: bytes | str, fmt: str, profile: Profile, tz: tzinfo) -> list[Receipt]:
    zone = tz if profile.timezone is None else (profile.tzinfo or tz)
    if fmt == "text":
        return parse_text(payload, profile, zone)
    if fmt == "email":
        data = payload.encode("utf-8") if isinstance(payload, str) else payload
        from dlrpoll.receipts.mail import parse_email  # the email package, only when needed

        return parse_email(data, profile, zone)
    if fmt == "smpp":
        text = decode_text(payload)
        if not text:
            raise ParseError("empty receipt: the item holds no text")
        return [parse_smpp(text, profile, zone)]
    if fmt == "keyvalue":
        text = decode_text(payload)
        if not text:
            raise ParseError("empty receipt: the item holds no text")
        return parse_keyvalue(text, profile, zone, sniff_shape(text))
    raise ParseError(f"unknown payload format {fmt!r}; the parsers read {', '.join(FORMATS)}")


def _plain_text(payload: bytes | str) -> str | None:
    """The stripped text of plain UTF-8 without a NUL inside (what nearly every item is), or
    ``None`` for anything :func:`decode_text` must look at more closely."""
    if isinstance(payload, str):
        return payload.strip(_STRIP)
    try:
        text = payload.decode().strip(_STRIP)  # UTF-8, the default
    except UnicodeDecodeError:
        return None
    return None if "\x00" in text else text


def parse_payload(payload: bytes | str, fmt: str, profile: Profile, tz: tzinfo) -> list[Receipt]:
    """Receipts in one raw item. ``fmt`` is the journal's format: ``"email"`` or ``"text"``
    (or ``"smpp"``/``"keyvalue"`` to force a parser). Dates without a zone are read in the
    profile's ``timezone`` if it has one, else in ``tz``. ``payload`` is the raw bytes, or
    text already decoded (``dlrpoll parse`` decodes a whole UTF-8 file at once).

    Raises :class:`~dlrpoll.errors.ParseError`, and nothing else, when the item is not a
    receipt we can read.
    """
    try:
        if fmt == "text" or fmt == "smpp":  # the common cases
            zone = tz if profile.timezone is None else (profile.tzinfo or tz)
            if fmt == "smpp" or profile.format == "smpp":
                # The fast path, for what nearly every item is: UTF-8 Appendix B in the
                # standard order. It is parse_text's (or _parse's) first step with
                # decode_text folded in, two calls fewer per receipt. Any miss (not UTF-8, a
                # NUL inside, another order or format, empty) goes on to the full path,
                # which decides everything afresh, so the result is the same either way.
                text = _plain_text(payload)
                if text:
                    if fmt == "smpp":
                        return [parse_smpp(text, profile, zone)]
                    fast = parse_standard(text, profile, zone)
                    if fast is not None:
                        return [fast]
            if fmt == "text":
                return parse_text(payload, profile, zone)
        return _parse(payload, fmt, profile, tz)
    except ParseError:
        raise
    except Exception as exc:
        # A parser bug must quarantine one item, never stop a poll; the reason says so.
        raise ParseError(
            f"the parser failed on this item ({type(exc).__name__}: {exc}); "
            "please report it with the raw item"
        ) from exc
