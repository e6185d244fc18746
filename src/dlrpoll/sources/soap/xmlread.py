"""A response's bytes to an XML tree, safely, whatever the SOAP stack's framing.

- DTDs are refused outright (no entity, internal or external, is ever expanded), with no
  network access and no huge trees.
- Encodings: a byte order mark (UTF-8, UTF-16, UTF-32), else the charset of the HTTP
  Content-Type (RFC 7303), else the XML declaration, else UTF-8. When the Content-Type and
  the declaration disagree, RFC 7303 would take the Content-Type; dlrpoll never guesses
  silently, so it reads the bytes both ways: the only reading that is well-formed XML is
  taken (and the log says which); two that are both XML and the same are one; two that are
  both XML and differ are refused with a message naming both charsets and where they part.
  Blank lines before ``<?xml`` are skipped.
- MTOM/XOP (``multipart/related``): the root part is the envelope; each ``xop:Include`` is
  replaced by its attachment, base64-encoded as XOP says the element's content is.

A response whose body cannot be read without its HTTP Content-Type (MTOM, or a charset given
only there) is journaled as a MIME entity, format ``soap-mime``: ``Content-Type: …``, a blank
line, the body as it arrived (:func:`journal_form`). Everything else is journaled as the body
alone, format ``soap-envelope``.
"""

from __future__ import annotations

import base64
import codecs
import logging
import re
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import unquote

from lxml import etree

from dlrpoll.errors import SourceResponseError
from dlrpoll.rawitem import RawFormat

log = logging.getLogger(__name__)

#: a DOCTYPE in the prolog, seen before lxml is given the bytes at all
_DOCTYPE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s|<\?[^?]*\?>|<!--(?:[^-]|-[^-])*-->)*<!DOCTYPE")
#: how much of a response the DOCTYPE pre-check reads (lxml's docinfo check sees the rest)
_PROLOG_SCAN = 64 * 1024
_WS = b" \t\r\n"
_DECL = re.compile(r"\A<\?xml\b[^>]*\?>")
_DECL_ENCODING = re.compile(rb"\A<\?xml\b[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']")
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_XOP_INCLUDE = "{http://www.w3.org/2004/08/xop/include}Include"
_MIME_HEAD = b"Content-Type: "


def content_type(value: str) -> tuple[str, dict[str, str]]:
    """A Content-Type's media type (lower case) and its parameters (names lower case)."""
    head, *rest = value.split(";")
    params: dict[str, str] = {}
    for part in rest:
        name, _, val = part.partition("=")
        params[name.strip().lower()] = val.strip().strip('"')
    return head.strip().lower(), params


def _codec(name: str) -> str | None:
    """Python's name for a text encoding called ``name``; None for an unknown one and for
    codecs that are not text encodings (``base64``, ``rot13``)."""
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    return info.name if getattr(info, "_is_text_encoding", True) else None


_WIDE = ("utf-16", "utf-32")


def _declared(body: bytes) -> str | None:
    found = _DECL_ENCODING.match(body)
    return found.group(1).decode("ascii") if found else None


def journal_form(ctype: str, body: bytes) -> tuple[RawFormat, bytes]:
    """How to journal a response: as its body alone when the body reads the same without
    its HTTP Content-Type, else as a MIME entity that keeps the Content-Type."""
    if not ctype:
        return RawFormat.SOAP_ENVELOPE, body
    mtype, params = content_type(ctype)
    charset = params.get("charset")
    if not mtype.startswith("multipart/"):
        boms = (codecs.BOM_UTF8, *(bom for bom, _name in _BOMS))
        if charset is None or body.startswith(boms):  # a BOM outranks the header
            return RawFormat.SOAP_ENVELOPE, body
        own = _declared(body.lstrip(_WS)) or "utf-8"
        if _codec(charset) == _codec(own):
            return RawFormat.SOAP_ENVELOPE, body
    header = _MIME_HEAD + ctype.encode("latin-1", "replace") + b"\r\n\r\n"
    return RawFormat.SOAP_MIME, header + body


def _recode(source: str, data: bytes, encoding: str, why: str) -> bytes:
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise SourceResponseError(
            source, f"the response is not valid {encoding} ({why}): {exc}"
        ) from exc
    text = _DECL.sub("", text.lstrip("\ufeff").lstrip(), count=1)
    return text.encode("utf-8")


def xml_bytes(source: str, payload: bytes, charset: str | None = None) -> bytes:
    """``payload`` as bytes lxml reads right (see the module's rules on encodings)."""
    if payload.startswith(codecs.BOM_UTF8):
        return payload[3:].lstrip(_WS)
    for bom, name in _BOMS:
        if payload.startswith(bom):
            return _recode(source, payload, name, "by its byte order mark")
    header = _codec(charset) if charset else None
    if charset and header is None:
        raise SourceResponseError(source, f"the response's charset {charset!r} is unknown")
    body = payload.lstrip(_WS)  # blank lines before <?xml
    if header is None:
        return body  # lxml reads the declaration, or UTF-8
    # an ASCII-compatible declaration only: UTF-16 without a BOM has none this finds
    declared = _declared(body)
    own = _codec(declared) if declared else None
    if own is None or own == header:
        if header == "utf-8":
            return body
        data = payload if header.startswith(_WIDE) else body
        return _recode(source, data, header, f"as the HTTP Content-Type says, {charset}")
    return _conflict(source, payload, (charset or header, header), (declared or own, own))


def _reading(payload: bytes, said: str, codec: str) -> tuple[str | None, str]:
    """``payload`` read as ``codec`` (called ``said`` by the response): its text without the
    declaration, or None and why not (not that encoding, or not well-formed XML so read)."""
    data = payload if codec.startswith(_WIDE) else payload.lstrip(_WS)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        return None, f"it is not valid {said} ({exc.reason} at byte {exc.start})"
    text = _DECL.sub("", text.lstrip("\ufeff").lstrip(), count=1)
    try:
        etree.fromstring(text.encode("utf-8"), _checker())
    except etree.XMLSyntaxError as exc:
        return None, f"read as {said} it is not well-formed XML ({exc})"
    return text, ""


def _conflict(
    source: str, payload: bytes, header: tuple[str, str], declared: tuple[str, str]
) -> bytes:
    """The Content-Type's charset and the declaration's disagree: the only reading that is
    XML, or the one both give; else :class:`SourceResponseError` naming both."""
    said = (
        f"the HTTP Content-Type says charset={header[0]} and the XML declaration says {declared[0]}"
    )
    (by_header, why_header), (by_decl, why_decl) = (
        _reading(payload, *named) for named in (header, declared)
    )
    if by_header is not None and by_decl is not None and by_header != by_decl:
        pairs = enumerate(zip(by_header, by_decl, strict=False))
        at = next((i for i, (a, b) in pairs if a != b), min(len(by_header), len(by_decl)))
        raise SourceResponseError(
            source,
            f"{said}; both read it as well-formed XML, and differently ({header[0]} reads "
            f"{by_header[at : at + 16]!r}, {declared[0]} reads {by_decl[at : at + 16]!r} at "
            f"character {at}): dlrpoll will not guess which is right; ask the provider to "
            "send a Content-Type charset that agrees with the XML declaration",
        )
    text = by_header if by_header is not None else by_decl
    if text is None:
        raise SourceResponseError(
            source,
            f"{said}, and neither reads it: as the Content-Type says, {why_header}; as the "
            f"declaration says, {why_decl}",
        )
    if by_header is None or by_decl is None:
        taken, other, why = (
            (declared[0], header[0], why_header)
            if by_header is None
            else (header[0], declared[0], why_decl)
        )
        log.info(
            "source %s: %s; only %s reads the response as XML (%s: %s), so it was read as %s",
            source,
            said,
            taken,
            other,
            why,
            taken,
        )
    return text.encode("utf-8")


def _checker() -> etree.XMLParser:
    """The one parser configuration for responses: no DTD loading, entities, network or huge
    trees; comments and processing instructions dropped."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(source: str, payload: bytes) -> Any:
    """The root of an XML document, parsed without DTDs, entities, network or huge trees.
    Raises :class:`SourceResponseError` naming what is wrong."""
    if _DOCTYPE.match(payload, 0, _PROLOG_SCAN):
        raise SourceResponseError(
            source,
            "refused a response with a DTD (<!DOCTYPE>): entities are never expanded, "
            "as they can be an XML bomb or read local files; expected a plain SOAP envelope",
        )
    try:
        root = etree.fromstring(payload, parser=_checker())
    except etree.XMLSyntaxError as exc:
        what = "is empty" if not payload.strip() else f"is not well-formed XML ({exc})"
        raise SourceResponseError(source, f"the response {what}; expected a SOAP envelope") from exc
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise SourceResponseError(
            source, "refused a response with a DTD: expected a plain SOAP envelope"
        )
    return root


def read_tree(source: str, payload: bytes, fmt: str) -> Any:
    """The root element of a journaled response of format ``fmt``."""
    if fmt != RawFormat.SOAP_MIME:
        return parse_xml(source, xml_bytes(source, payload))
    if not payload.startswith(_MIME_HEAD):
        raise SourceResponseError(source, "a soap-mime record without its Content-Type")
    head, _, body = payload.partition(b"\r\n\r\n")
    mtype, params = content_type(head[len(_MIME_HEAD) :].decode("latin-1"))
    if not mtype.startswith("multipart/"):
        return parse_xml(source, xml_bytes(source, body, params.get("charset")))
    return _read_multipart(source, payload, params)


def _part_bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _read_multipart(source: str, entity: bytes, params: dict[str, str]) -> Any:
    message = BytesParser(policy=policy.compat32).parsebytes(entity)
    payload = message.get_payload() if message.is_multipart() else None
    parts = [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else []
    if not parts:
        raise SourceResponseError(source, "the multipart response has no parts")
    by_id = {str(p.get("Content-ID", "")).strip().strip("<>"): p for p in parts}
    start = params.get("start", "").strip("<>")
    root_part = by_id.get(start) if start else parts[0]
    if root_part is None:
        raise SourceResponseError(source, f"the multipart response has no part <{start}>")
    _rtype, rparams = content_type(str(root_part.get("Content-Type", "text/xml")))
    root_bytes = _part_bytes(root_part)
    root = parse_xml(source, xml_bytes(source, root_bytes, rparams.get("charset")))
    for include in list(root.iter(_XOP_INCLUDE)):
        href = include.get("href", "")
        cid = unquote(href[4:]) if href.startswith("cid:") else href
        part = by_id.get(cid)
        if part is None:
            raise SourceResponseError(
                source, f"xop:Include refers to {href!r}, which is not among the response's parts"
            )
        parent = include.getparent()
        data = _part_bytes(part)
        parent.remove(include)
        parent.text = (parent.text or "") + base64.b64encode(data).decode("ascii")
    return root
