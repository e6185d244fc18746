"""Receipts inside e-mails (RFC 5322 bytes).

The subject and every text part are searched: MIME multipart, quoted-printable and base64,
declared and undeclared charsets (UTF-8, else Windows-1252), HTML turned into lines. One
e-mail may hold several receipts, each either an SMPP Appendix B line, a query-string line,
a block of ``Key: value`` lines, or a JSON/XML part. A candidate that looks like a receipt
but cannot be read fails the whole e-mail (it is quarantined, not half-stored), and an
e-mail with no receipt at all is a :class:`~dlrpoll.errors.ParseError` too.
"""

from __future__ import annotations

import codecs
import dataclasses
import email
import email.policy
import html
import re
from collections.abc import Iterator
from datetime import tzinfo
from email.header import decode_header, make_header
from email.message import Message

from dlrpoll.errors import ParseError
from dlrpoll.receipts.keyvalue import (
    Fields,
    json_records,
    line_pairs,
    looks_like_query,
    query_pairs,
    receipt_from_fields,
    xml_records,
)
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.smpp import looks_like_smpp, parse_smpp

_TEXT_TYPES = frozenset(
    {"text/plain", "text/html", "application/json", "text/xml", "application/xml", "text/csv"}
)
_BLOCK_END = re.compile(r"<\s*(?:br|/p|/div|/tr|/li|/h\d|/table)\b[^>]*>", re.IGNORECASE)
_CELL_GAP = re.compile(r"<\s*/t[dh]\s*>\s*<\s*t[dh]\b[^>]*>", re.IGNORECASE)
_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_BLANK = re.compile(r"\n\s*\n")


def html_to_text(markup: str) -> str:
    """Lines of text from HTML: one line per block, table cells as ``Key: value``."""
    text = _DROP.sub("", markup)
    text = _CELL_GAP.sub(": ", text)
    text = _BLOCK_END.sub("\n", text)
    text = _TAG.sub("", text)
    return html.unescape(text)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text from a part's bytes: its declared charset if Python knows it, else UTF-8, else
    Windows-1252 (what undeclared mail from Windows tools usually is)."""
    if charset:
        try:
            codecs.lookup(charset)
        except LookupError:
            charset = None
    if charset:
        try:
            return data.decode(charset)
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header(msg: Message, name: str) -> str:
    raw = msg.get(name)
    if raw is None:
        return ""
    try:
        return str(make_header(decode_header(str(raw))))
    except (LookupError, UnicodeError, ValueError):
        return str(raw)


def _texts(msg: Message) -> Iterator[tuple[str, str]]:
    """``(content type, text)`` for every part worth searching, plain text before HTML of the
    same ``multipart/alternative``."""
    yield from _walk(msg, has_plain_sibling=False)


def _walk(part: Message, has_plain_sibling: bool) -> Iterator[tuple[str, str]]:
    ctype = part.get_content_type()
    if part.is_multipart():
        children = part.get_payload()
        if not isinstance(children, list):
            return
        plain = ctype == "multipart/alternative" and any(
            isinstance(c, Message) and c.get_content_type() == "text/plain" for c in children
        )
        for child in children:
            if isinstance(child, Message):
                if ctype == "message/rfc822":  # a forwarded e-mail: its subject counts too
                    subject = _header(child, "Subject")
                    if subject:
                        yield "subject", subject
                yield from _walk(child, plain)
        return
    if ctype not in _TEXT_TYPES:
        return
    if ctype == "text/html" and has_plain_sibling:
        return
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return
    text = decode_bytes(data, part.get_content_charset())
    if ctype == "text/html":
        text = html_to_text(text)
    yield ctype, text


def _from_text(text: str, profile: Profile, tz: tzinfo) -> Iterator[Receipt]:
    stripped = text.strip()
    if stripped.startswith(("{", "[")) or (stripped.startswith("<") and "<?xml" in text[:100]):
        try:
            recs = json_records(stripped) if stripped[0] in "{[" else xml_records(stripped)
        except ParseError:
            recs = []
        found = [f for f in (Fields(p, profile) for p in recs) if f.is_receipt()]
        if found:
            shape = "json" if stripped[0] in "{[" else "xml"
            for f in found:
                yield receipt_from_fields(f, tz, shape)
            return
    rest: list[str] = []
    for line in text.splitlines():
        s = line.strip().strip("\x00")
        if looks_like_smpp(s):
            yield parse_smpp(s, profile, tz)
            continue
        if looks_like_query(s) and "=" in s:
            f = Fields(query_pairs(s), profile)
            if f.is_receipt():
                yield receipt_from_fields(f, tz, "query")
                continue
        rest.append(line)
    blocks = [Fields(line_pairs(b), profile) for b in _BLANK.split("\n".join(rest))]
    found = [f for f in blocks if f.is_receipt()]
    if not found:
        # one report whose fields are spread over paragraphs
        whole = Fields(line_pairs("\n".join(rest)), profile)
        found = [whole] if whole.is_receipt() else []
    for f in found:
        yield receipt_from_fields(f, tz, "lines")


def parse_email(payload: bytes, profile: Profile, tz: tzinfo) -> list[Receipt]:
    """Every receipt in one e-mail, in the order they appear (the subject's last)."""
    msg = email.message_from_bytes(payload, policy=email.policy.compat32)
    subject = _header(msg, "Subject")
    body: list[Receipt] = []
    searched = 0
    subjects: list[str] = [subject] if subject else []
    for ctype, text in _texts(msg):
        if ctype == "subject":
            subjects.append(text)
            continue
        searched += 1
        body.extend(_from_text(text, profile, tz))
    seen = {(r.message_id, r.provider_status) for r in body}
    extra: list[Receipt] = []
    for line in subjects:
        for r in _from_text(line, profile, tz):
            # a subject usually repeats, in part, a receipt the body holds in full
            if (r.message_id, r.provider_status) not in seen:
                extra.append(r)
    out: list[Receipt] = []
    for r in body + extra:
        r = dataclasses.replace(r, format=f"email+{r.format}")
        if r not in out:
            out.append(r)
    if not out:
        raise ParseError(
            f"no receipt in this e-mail (subject {subject[:80]!r}, {searched} text part(s)); "
            "expected SMPP 'id:… stat:…' lines, query strings or 'Key: value' lines with a "
            "message id and a status — if the provider writes them another way, "
            "define a profile naming its fields"
        )
    return out
