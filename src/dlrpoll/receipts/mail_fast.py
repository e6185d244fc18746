"""The fast path for the common receipt e-mail: one text/plain part, plain headers.

Most receipt e-mails are a handful of ASCII headers and a text/plain body in 7bit or 8bit.
For those, the standard library's parser (``email.message_from_bytes``, about three
quarters of an e-mail's parsing time) builds far more than we read: we need the subject,
the body's bytes and its charset. :func:`simple_text_email` finds them with a few bytes
operations and returns ``None`` for anything else, which then goes through ``email`` and
its check for MIME bombs (MIME, encoded words, quoted-printable or base64, folded or 8-bit
relevant headers, unusual parameters, a body over the text limit, any mention of MIME
boundaries or a second Content-Type). A property test holds the two paths to identical
receipts.
"""

from __future__ import annotations

import re

__all__ = ["simple_text_email"]

#: Header lines as the ``email`` feed parser recognises them: a field name (printable
#: ASCII but ``:``) then ``:``, or a continuation; each ends in LF or CRLF (a bare CR is a
#: line end to the parser). Anything else in the header block (the parser would take the
#: body to start there) goes the long way.
_HEAD = re.compile(rb"(?:(?:[\x21-\x39\x3b-\x7e]+:|[ \t])[^\r\n]*\r?\n)*")
#: The headers we read. Folded or repeated, they go the long way.
_READ = (b"\nsubject:", b"\ncontent-type:", b"\ncontent-transfer-encoding:")
#: ``text/plain`` and simple parameters (tokens or quoted tokens), nothing the parser
#: would have to unquote, decode (RFC 2231) or repair.
_CONTENT_TYPE = re.compile(
    rb"\s*text/plain\s*((?:;\s*[a-z0-9_-]+=(?:[a-z0-9._:+-]+|\"[a-z0-9._:+-]*\")\s*)*);?\s*",
    re.IGNORECASE,
)
_PARAM = re.compile(rb";\s*([a-z0-9_-]+)=(?:([a-z0-9._:+-]+)|\"([a-z0-9._:+-]*)\")", re.IGNORECASE)
#: Content-Transfer-Encodings whose decoded body is the body's bytes as they are.
_IDENTITY = frozenset({b"", b"7bit", b"8bit", b"binary"})


def simple_text_email(payload: bytes, max_body: int) -> tuple[str, bytes, str | None] | None:
    """``(subject, body, charset)`` of a single-part text/plain e-mail with plain headers,
    as the ``email`` package (``compat32``) would give them: the first ``Subject``, the
    body's bytes (``get_payload(decode=True)``) and ``get_content_charset()``. ``None``
    when the e-mail is anything else, or its body is over ``max_body`` bytes."""
    split = _header_end(payload)
    if split is None:
        return None
    head_end, body_start = split
    head = payload[:head_end]  # ends with the last header's LF
    if not head.isascii() or head[:1] in (b" ", b"\t"):
        return None  # 8-bit header bytes, or a first line the parser would repair
    body = payload[body_start:]
    if len(body) > max_body or _HEAD.fullmatch(head) is None:
        return None
    lowered = payload.lower()
    if b"boundary" in lowered or lowered.count(b"content-type") > 1:
        return None  # MIME talk: the long way checks it for bombs
    low = b"\n" + lowered[:head_end]  # low[i + 1] is head[i]
    fields: dict[bytes, bytes] = {}
    for key in _READ:
        at = low.find(key)
        if at < 0:
            continue
        start = at + len(key)
        eol = low.find(b"\n", start)  # there is one: the head ends with LF
        if low.find(key, start) >= 0 or low[eol + 1 : eol + 2] in (b" ", b"\t"):
            return None  # repeated or folded
        fields[key[1:-1]] = head[start - 1 : eol - 1].removesuffix(b"\r")
    cte = fields.get(b"content-transfer-encoding", b"").strip().lower()
    if cte not in _IDENTITY:
        return None
    charset: str | None = None
    ctype = fields.get(b"content-type")
    if ctype is not None:
        ct = _CONTENT_TYPE.fullmatch(ctype)
        if ct is None:
            return None
        found = [
            (name, plain or quoted)
            for name, plain, quoted in _PARAM.findall(ct.group(1))
            if name.lower() == b"charset"
        ]
        if len(found) > 1:
            return None
        if found:
            charset = found[0][1].decode("ascii").lower()
    subject = fields.get(b"subject", b"").lstrip(b" \t")
    if b"=?" in subject:
        return None  # maybe an encoded word
    return subject.decode("ascii"), body, charset


def _header_end(payload: bytes) -> tuple[int, int] | None:
    """Where the header block ends and the body starts (after the first empty line); None
    when there is no empty line, or no header before it."""
    if payload[:1] == b"\n" or payload[:2] == b"\r\n":
        return None
    crlf = payload.find(b"\n\r\n")
    lf = payload.find(b"\n\n", 0, crlf if crlf >= 0 else len(payload))
    if lf >= 0:
        end, start = lf + 1, lf + 2
    elif crlf >= 0:
        end, start = crlf + 1, crlf + 3
    else:
        return None
    return end, start
