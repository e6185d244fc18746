"""How the reproduced stacks write their answers: the SOAP body content for each operation,
the envelope (1.1 or 1.2), and the framing on the wire (charsets, BOM, UTF-16, gzip, MTOM)."""

from __future__ import annotations

import gzip
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
#: framing name → what it does to the envelope on the wire
FRAMINGS = ("plain", "header-charset", "bom", "utf-16", "blank-lines", "gzip", "chunked", "mtom")


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
