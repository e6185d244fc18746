"""A single-part e-mail with plain ASCII headers, read with a few bytes operations.

Most receipt e-mails are a handful of ASCII headers and one text part in 7bit or 8bit. For
those the standard library's parser (``email.message_from_bytes``, most of an e-mail's
parsing time) builds far more than :mod:`.mail` reads: the headers in order, the body's
bytes, its content type and charset. :func:`read_plain_mail` finds exactly what the
``email`` package (policy ``compat32``) gives for them and returns ``None`` for anything
else — MIME containers, encoded words, quoted-printable or base64 bodies, 8-bit or bare-CR
header bytes, a header block the parser would repair, parameters it would unquote or decode
(RFC 2231), a body over the text limit — which then takes the long way. A property test
(``tests/receipts/test_plainmail.py``) holds both ways to identical receipts.

The rules followed are those of CPython's ``email.feedparser`` and ``email._policybase``
(``Compat32.header_source_parse``): a header line is a field name of printable ASCII other
than ``:`` followed by ``:``; a line starting with a space or tab continues the previous
header; the value is the text after the colon with leading blanks removed, continuation
lines appended as they are, trailing CR/LF removed; the first empty line ends the headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: One header as the feed parser reads it: a name, ``:``, blanks (dropped), the rest of
#: the line and its continuation lines (those starting with a blank), kept as they are.
#: Lines end at LF only (a CR only ever comes before an LF here); ``str.splitlines``
#: would also end them at form feeds and the like, which the parser keeps in a line.
_HEADER = re.compile(r"([\x21-\x39\x3b-\x7e]+):[ \t]*([^\n]*\n(?:[ \t][^\n]*\n)*)")
#: The single-part types :mod:`.mail` searches, with simple parameters only: tokens or
#: quoted tokens, nothing the parser would have to unquote, decode (RFC 2231) or repair.
_CONTENT_TYPE = re.compile(
    r"\s*(text/plain|text/html|text/xml|text/csv|application/json|application/xml)\s*"
    r"((?:;\s*[a-z0-9_-]+\s*=\s*(?:[a-z0-9._:+-]+|\"[a-z0-9._:+-]*\")\s*)*);?\s*",
    re.IGNORECASE,
)
_PARAM = re.compile(
    r";\s*([a-z0-9_-]+)\s*=\s*(?:([a-z0-9._:+-]+)|\"([a-z0-9._:+-]*)\")", re.IGNORECASE
)
#: Content-Transfer-Encodings whose decoded body is the body's bytes as they are.
_IDENTITY = frozenset({"", "7bit", "8bit", "binary"})


@dataclass(frozen=True)
class PlainMail:
    """What :mod:`.mail` reads of a single-part e-mail, as ``email`` (``compat32``) gives it."""

    #: ``(name, value)`` of every header in order (``Message.items()``)
    headers: list[tuple[str, str]]
    #: the content type, lower case (``Message.get_content_type()``)
    content_type: str
    #: the declared charset, lower case, or ``None`` (``Message.get_content_charset()``)
    charset: str | None
    #: the body's bytes (``Message.get_payload(decode=True)``)
    body: bytes

    def header(self, name: str) -> str:
        """The first header called ``name`` (any case), or ``""``."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), "")


def read_plain_mail(payload: bytes, max_body: int) -> PlainMail | None:
    """``payload`` read as :class:`PlainMail`, or ``None`` when it is anything but a
    single-part text e-mail with plain headers (module docstring) or its body is over
    ``max_body`` bytes."""
    split = _header_end(payload)
    if split is None:
        return None
    head_end, body_start = split
    head = payload[:head_end]  # ends with the last header's LF
    body = payload[body_start:]
    if (
        len(body) > max_body
        or not head.isascii()
        or b"=?" in head  # maybe an encoded word
        or head.count(b"\r") != head.count(b"\r\n")  # a bare CR ends a line too
    ):
        return None
    headers = _headers(head)
    if headers is None:
        return None
    seen = {k.lower(): v for k, v in reversed(headers)}  # the first of each name
    cte = seen.get("content-transfer-encoding", "").strip().lower()
    if cte not in _IDENTITY:
        return None
    ctype = seen.get("content-type")
    if ctype is None:
        return PlainMail(headers, "text/plain", None, body)
    m = _CONTENT_TYPE.fullmatch(ctype)
    if m is None:
        return None
    charsets = [
        plain or quoted
        for name, plain, quoted in _PARAM.findall(m.group(2))
        if name.lower() == "charset"
    ]
    return PlainMail(headers, m.group(1).lower(), charsets[0].lower() if charsets else None, body)


def _header_end(payload: bytes) -> tuple[int, int] | None:
    """Where the header block ends (after its last LF) and the body starts (after the first
    empty line); ``None`` when there is no empty line or no header before it."""
    if payload[:1] == b"\n" or payload[:2] == b"\r\n":
        return None
    crlf = payload.find(b"\n\r\n")
    lf = payload.find(b"\n\n", 0, crlf if crlf >= 0 else len(payload))
    if lf >= 0:
        return lf + 1, lf + 2
    if crlf >= 0:
        return crlf + 1, crlf + 3
    return None


def _headers(head: bytes) -> list[tuple[str, str]] | None:
    """The ``(name, value)`` pairs of an ASCII header block that ends with LF, or ``None``
    when a line is one the feed parser would treat as a defect or as the body's start."""
    text = head.decode("ascii")
    out: list[tuple[str, str]] = []
    pos = 0
    end = len(text)
    while pos < end:
        m = _HEADER.match(text, pos)
        if m is None:
            return None  # a continuation with nothing to continue, or the body's start
        out.append((m.group(1), m.group(2).rstrip("\r\n")))
        pos = m.end()
    return out
