"""The sandbox SOAP inbox's XML: response templates, hostile bodies, message rendering and
request parsing (with lxml, DTDs and entities refused)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

NAMESPACE = "http://upsidewireless.com/webservice/sms"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    f'<soap:Envelope xmlns:soap="{SOAP_ENV}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    "<soap:Body>{body}</soap:Body></soap:Envelope>"
)
MESSAGE = (
    "<{tag}><isValid>{valid}</isValid><sender>{sender}</sender><data>{data}</data>"
    "<name>{name}</name><inboundnumber>{inbound}</inboundnumber>"
    "<carriercode>{carrier}</carriercode><messageid>{mid}</messageid>{extra}</{tag}>"
)
FAULT = (
    "<soap:Fault><faultcode>soap:{code}</faultcode><faultstring>{text}</faultstring></soap:Fault>"
)
BOMB = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    ' <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    ' <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">\n'
    ' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n'
    ' <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">\n'
    ' <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">\n'
    ' <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">\n'
    ' <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">\n'
    ' <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">\n'
    ' <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">\n]>\n'
)
XXE = '<?xml version="1.0"?>\n<!DOCTYPE foo [\n <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'


class Injected(enum.StrEnum):
    """Ways :meth:`SoapInbox.inject` can make a call misbehave."""

    #: HTTP 500 with an HTML error page (not a SOAP fault)
    HTTP_500 = "http-500"
    #: HTTP 200 with a body that is not XML
    NON_XML = "non-xml"
    #: the connection closes after half the announced Content-Length
    TRUNCATED = "truncated"
    #: a complete HTTP response whose XML stops halfway
    TRUNCATED_XML = "truncated-xml"
    #: the request is read (and acted on), then no response until :meth:`SoapInbox.release`
    STALL = "stall"
    #: a billion-laughs entity bomb inside an otherwise valid response
    BOMB = "bomb"
    #: an external entity (``file:///etc/passwd``) inside an otherwise valid response
    EXTERNAL_ENTITY = "external-entity"
    #: a valid response padded to ``size`` bytes (the padding is streamed, never held)
    HUGE = "huge"
    #: HTTP 200 with exactly the bytes given as ``body`` (hostile XML of the test's making)
    RAW = "raw"


@dataclass
class Message:
    mid: str
    body: str
    sender: str
    inbound: str
    carrier: str
    utc: str


def render(msg: Message, tag: str, *, top: bool = False) -> str:
    """One message as the element ``tag``; ``top`` adds the peek's tracking id and time."""
    extra = (
        f"<trackingid>T{escape(msg.mid)}</trackingid><utcTime>{msg.utc}</utcTime>" if top else ""
    )
    return MESSAGE.format(
        tag=tag,
        valid="true",
        sender=escape(msg.sender),
        data=escape(msg.body),
        name="",
        inbound=escape(msg.inbound),
        carrier=escape(msg.carrier),
        mid=escape(msg.mid),
        extra=extra,
    )


_REQUEST_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
)


def parse_request(data: bytes) -> tuple[str, dict[str, str]]:
    """A SOAP request's operation and its arguments by local name; ``ValueError`` when the
    request is not a SOAP call."""
    try:
        root = etree.fromstring(data, parser=_REQUEST_PARSER)
        body = next(el for el in root if etree.QName(el).localname == "Body")
        call = next(el for el in body if isinstance(el.tag, str))
    except (etree.XMLSyntaxError, StopIteration) as exc:
        raise ValueError(f"not a SOAP request: {exc!r}") from exc
    params = {
        etree.QName(child).localname: (child.text or "")
        for child in call
        if isinstance(child.tag, str)
    }
    return etree.QName(call).localname, params
