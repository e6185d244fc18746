"""How the reproduced stacks write their answers: the SOAP body content for each operation,
the envelope (1.1 or 1.2), and the framing on the wire (charsets, BOM, UTF-16, gzip,
deflate, MTOM), and compression bombs: a small gzip or deflate body that inflates to far
more than any sane response."""

from __future__ import annotations

import gzip
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from tests.soap.canned import Response

ENV11 = "http://schemas.xmlsoap.org/soap/envelope/"
ENV12 = "http://www.w3.org/2003/05/soap-envelope"
_XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
_XSD = 'xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
_ENC = 'xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"'


@dataclass(frozen=True)
class Message:
    id: str
    text: str
    sender: str


def _fields(m: Message, *, typed: bool = False, xop: str | None = None) -> str:
    t = ' xsi:type="xsd:string"' if typed else ""
    text = (
        f'<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:{xop}"/>'
        if xop
        else escape(m.text)
    )
    return f"<id{t}>{escape(m.id)}</id><text{t}>{text}</text><from{t}>{escape(m.sender)}</from>"


def doc_body(op: str, msgs: Sequence[Message], *, ns: str, qualified: bool, mtom: bool) -> str:
    """document/literal: the wrapper is always in ``ns``; children in ``ns`` when
    ``qualified`` (a default namespace), else in none (a prefixed wrapper)."""
    if qualified:
        open_, close = f'<{op}Response xmlns="{ns}">', f"</{op}Response>"
    else:
        open_, close = f'<w:{op}Response xmlns:w="{ns}">', f"</w:{op}Response>"

    def one(m: Message) -> str:
        return f"<message>{_fields(m, xop=f'text-{m.id}@example.test' if mtom else None)}</message>"

    if op == "GetMessages":
        inner = f"<messages>{''.join(one(m) for m in msgs)}</messages>" if msgs else "<messages/>"
    elif op == "PeekMessage":
        inner = one(msgs[0]) if msgs else ""
    else:
        inner = "<ok>true</ok>"
    return open_ + inner + close


def rpc_body(op: str, msgs: Sequence[Message], *, multiref: bool) -> str:
    """rpc/encoded, as Axis 1 (``multiref``: every struct a ``multiRef`` sibling) or NuSOAP
    (structs inline, array members named ``item``) write it."""
    wrapper = (
        f'<ns1:{op}Response xmlns:ns1="urn:inbox" '
        f'soapenv:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">'
    )
    close = f"</ns1:{op}Response>"
    refs = ""
    if multiref:
        refs = "".join(
            f'<multiRef id="id{k}" soapenc:root="0" {_ENC} xsi:type="ns2:Message" '
            f'xmlns:ns2="urn:inbox.types">{_fields(m, typed=True)}</multiRef>'
            for k, m in enumerate(msgs)
        )

    def member(tag: str, k: int, m: Message) -> str:
        if multiref:
            return f'<{tag} href="#id{k}"/>'
        return f'<{tag} xsi:type="ns2:Message" xmlns:ns2="urn:inbox.types">{_fields(m)}</{tag}>'

    if op == "getMessages":
        members = "".join(member("item", k, m) for k, m in enumerate(msgs))
        inner = (
            f'<return xsi:type="soapenc:Array" {_ENC} soapenc:arrayType="ns2:Message[{len(msgs)}]"'
            f' xmlns:ns2="urn:inbox.types">{members}</return>'
        )
    elif op == "peekMessage":
        inner = member("return", 0, msgs[0]) if msgs else '<return xsi:nil="true"/>'
    else:
        inner = '<return xsi:type="xsd:boolean">true</return>'
    return wrapper + inner + close + refs


def envelope(content: str, *, soap12: bool) -> str:
    ns = ENV12 if soap12 else ENV11
    return (
        f'<soapenv:Envelope xmlns:soapenv="{ns}" {_XSI} {_XSD}><soapenv:Body>{content}'
        "</soapenv:Body></soapenv:Envelope>"
    )


def qualified_fault(*, soap12: bool) -> str:
    if soap12:
        return (
            "<soapenv:Fault><soapenv:Code><soapenv:Value>soapenv:Receiver</soapenv:Value>"
            '</soapenv:Code><soapenv:Reason><soapenv:Text xml:lang="en">inbox is being '
            "maintained</soapenv:Text></soapenv:Reason></soapenv:Fault>"
        )
    return (
        "<soapenv:Fault><soapenv:faultcode>soapenv:Server.Busy</soapenv:faultcode>"
        "<soapenv:faultstring>inbox is being maintained</soapenv:faultstring></soapenv:Fault>"
    )


DECL = '<?xml version="1.0" encoding="{enc}"?>'
#: framing → (the charset the HTTP Content-Type says, the one the XML declaration says and
#: the body is in). Only the declaration reads the first two as XML; the third reads as XML
#: both ways, differently, for any text that is not ASCII.
CHARSET_CONFLICTS = {
    "us-ascii-header": ("us-ascii", "utf-8"),
    "utf-8-header-latin-1-body": ("utf-8", "iso-8859-1"),
    "latin-1-header-utf-8-body": ("ISO-8859-1", "utf-8"),
}
#: framing name → what it does to the envelope on the wire
FRAMINGS = (
    "plain", "header-charset", "bom", "utf-16", "blank-lines", "gzip", "deflate", "chunked",
    "mtom", "gzip-bomb", "deflate-bomb", *CHARSET_CONFLICTS,
)  # fmt: skip
#: how far a ``*-bomb`` framing's body inflates: blank space inside the Body, after the items
BOMB_MIB = 64
_MIB = 1 << 20


def frame(
    xml: str,
    framing: str,
    *,
    soap12: bool,
    status: int = 200,
    attachments: Sequence[Message] = (),
) -> Response:
    """The HTTP response carrying ``xml`` framed as ``framing``."""
    ctype = "application/soap+xml" if soap12 else "text/xml"
    if framing == "header-charset":  # Latin-1, said only in the HTTP header (RFC 7303)
        return Response(
            status, xml.encode("latin-1"), {"Content-Type": f"{ctype}; charset=ISO-8859-1"}
        )
    if framing in CHARSET_CONFLICTS:  # the Content-Type's charset and the declaration differ
        said, declared = CHARSET_CONFLICTS[framing]
        data = (DECL.format(enc=declared) + xml).encode(declared)
        return Response(status, data, {"Content-Type": f"{ctype}; charset={said}"})
    if framing == "bom":
        data = b"\xef\xbb\xbf" + (DECL.format(enc="utf-8") + xml).encode()
        return Response(status, data, {"Content-Type": ctype})
    if framing == "utf-16":
        data = (DECL.format(enc="utf-16") + xml).encode("utf-16")
        return Response(status, data, {"Content-Type": f"{ctype}; charset=utf-16"})
    plain = (DECL.format(enc="utf-8") + xml).encode()
    headers = {"Content-Type": f"{ctype}; charset=utf-8"}
    if framing == "blank-lines":
        return Response(status, b"\r\n\n  \r\n" + plain, headers)
    if framing == "gzip":
        return Response(status, gzip.compress(plain), {**headers, "Content-Encoding": "gzip"})
    if framing == "deflate":  # RFC 9110's "deflate": the zlib format (RFC 1950)
        return Response(status, zlib.compress(plain), {**headers, "Content-Encoding": "deflate"})
    if framing.endswith("-bomb"):
        encoding = framing.removesuffix("-bomb")
        head, sep, tail = plain.partition(b"</soapenv:Body>")
        body = bomb(head, sep + tail, BOMB_MIB, gzip_format=encoding == "gzip")
        return Response(status, body, {**headers, "Content-Encoding": encoding})
    if framing == "chunked":
        return Response(status, plain, headers, chunked=97)
    if framing == "mtom":
        return _mtom(plain, status, attachments, soap12)
    return Response(status, plain, headers)


def _mtom(root: bytes, status: int, attachments: Sequence[Message], soap12: bool) -> Response:
    boundary = "uuid:7f3c-mtom-boundary"
    start_info = "application/soap+xml" if soap12 else "text/xml"
    parts = [
        f"--{boundary}\r\nContent-Type: application/xop+xml; charset=utf-8; "
        f'type="{start_info}"\r\nContent-Transfer-Encoding: binary\r\n'
        "Content-ID: <root.message@example.test>\r\n\r\n".encode()
        + root
        + b"\r\n"
    ]
    for m in attachments:
        parts.append(
            f"--{boundary}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Transfer-Encoding: binary\r\nContent-ID: <text-{m.id}@example.test>"
            "\r\n\r\n".encode()
            + m.text.encode()
            + b"\r\n"
        )
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    ctype = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
        f'start="<root.message@example.test>"; start-info="{start_info}"'
    )
    return Response(status, body, {"Content-Type": ctype})


def bomb(head: bytes, tail: bytes, mib: int, *, gzip_format: bool) -> bytes:
    """``head``, ``mib`` MiB of spaces, ``tail``: compressed as gzip (RFC 1952) or zlib
    (RFC 1950) in a few hundred kilobytes, without ever holding the spaces but once. After a
    full flush a deflate stream starts afresh, so one flushed MiB of spaces is the same bytes
    every time and is repeated rather than compressed ``mib`` times."""
    block = b" " * _MIB
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    spaces = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    last = deflate.compress(tail) + deflate.flush()
    stream = first + spaces * mib + last
    check = zlib.crc32 if gzip_format else zlib.adler32
    value = check(head, 0 if gzip_format else 1)
    for _ in range(mib):
        value = check(block, value)
    value = check(tail, value)
    if gzip_format:
        size = (len(head) + mib * _MIB + len(tail)) & 0xFFFFFFFF
        return b"\x1f\x8b\x08\0\0\0\0\0\x02\xff" + stream + struct.pack("<II", value, size)
    return b"\x78\xda" + stream + struct.pack(">I", value)
