"""A response's bytes to an XML tree, safely, whatever the SOAP stack's framing.

- DTDs are refused outright (no entity, internal or external, is ever expanded), with no
  network access and no huge trees.
- Encodings: a byte order mark (UTF-8, UTF-16, UTF-32), else the charset of the HTTP
  Content-Type (RFC 7303), else the XML declaration, else UTF-8. When the Content-Type and
  the declaration disagree, the only one that reads the bytes is taken; when both do, and
  differently, the response is refused rather than guessed at. Blank lines before
  ``<?xml`` are skipped.
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
import re
from email import policy
from email.message import Message
from email.parser import BytesParser
from typing import Any
from urllib.parse import unquote

from lxml import etree

from dlrpoll.errors import SourceResponseError
from dlrpoll.rawitem import RawFormat

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
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


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
    if header is not None and header.startswith(("utf-16", "utf-32")):
        return _recode(source, payload, header, f"as the HTTP Content-Type says, {charset}")
    body = payload.lstrip(_WS)  # blank lines before <?xml
    if header is None:
        return body  # lxml reads the declaration, or UTF-8
    declared = _declared(body)
    own = _codec(declared) if declared else None
    if own is None or own == header:
        if header == "utf-8":
            return body
        return _recode(source, body, header, f"as the HTTP Content-Type says, {charset}")
    readings: dict[str, str] = {}
    for name in (header, own):
        try:
            readings[name] = body.decode(name)
        except UnicodeDecodeError:
            continue
    if len(set(readings.values())) == 1:
        return _recode(source, body, next(iter(readings)), "the only charset that reads it")
    verdict = "neither reads it" if not readings else "they read it differently"
    raise SourceResponseError(
        source,
        f"the HTTP Content-Type says charset={charset} and the XML declaration says "
        f"{declared}, and {verdict}; dlrpoll will not guess which is right",
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
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(payload, parser=parser)
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
