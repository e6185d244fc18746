"""The sandbox inbox's wire: the SOAP envelopes it writes, the requests it reads, and the
HTTP handler that serves them, misbehaving on request (:class:`Injected`)."""

from __future__ import annotations

import enum
import http.server
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from lxml import etree

if TYPE_CHECKING:
    from dlrpoll.sandbox.soap_inbox import SoapInbox

log = logging.getLogger("dlrpoll.sandbox.soap_inbox")

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
_BOMB = (
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
_XXE = '<?xml version="1.0"?>\n<!DOCTYPE foo [\n <!ENTITY xxe SYSTEM "file:///etc/passwd">\n]>\n'


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
class Injection:
    kind: Injected
    operation: str | None
    size: int
    body: bytes = b""


@dataclass
class Message:
    mid: str
    body: str
    sender: str
    inbound: str
    carrier: str
    utc: str


def render(msg: Message, tag: str, *, top: bool = False) -> str:
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


def _parse_request(data: bytes) -> tuple[str, dict[str, str]]:
    root = etree.fromstring(data, parser=_REQUEST_PARSER)
    body = next(el for el in root if etree.QName(el).localname == "Body")
    call = next(el for el in body if isinstance(el.tag, str))
    params = {
        etree.QName(child).localname: (child.text or "")
        for child in call
        if isinstance(child.tag, str)
    }
    return etree.QName(call).localname, params


class InboxHandler(http.server.BaseHTTPRequestHandler):
    owner: SoapInbox
    protocol_version = "HTTP/1.1"
    server_version = "dlrpoll-sandbox/1"
    # headers and body go out in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (about 40 ms a call on loopback)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("sandbox %s: " + format, self.address_string(), *args)  # noqa: G003

    def handle(self) -> None:
        try:
            super().handle()
        except ConnectionError:
            # the client gave up (a timeout, a size cap): nothing to answer
            log.debug("sandbox: client %s went away", self.address_string())

    def _send(
        self, status: int, body: bytes, content_type: str = "text/xml; charset=utf-8"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path.lower().endswith("?wsdl"):
            with self.owner._lock:
                self.owner.wsdl_requests += 1
            self._send(200, self.owner.wsdl.encode("utf-8"))
        else:
            self._send(404, b"not found: ask for ?wsdl", "text/plain")

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        try:
            operation, params = _parse_request(data)
        except (etree.XMLSyntaxError, StopIteration):
            fault = ENVELOPE.format(body=FAULT.format(code="Client", text="Malformed request"))
            self._send(500, fault.encode())
            return
        status, content, injection = self.owner._call(operation, params)
        body = ENVELOPE.format(body=content).encode("utf-8")
        if injection is None:
            self._send(status, body)
            with self.owner._changed:
                self.owner.responses += 1
                self.owner._changed.notify_all()
        else:
            self._misbehave(injection, content, body)

    def _misbehave(self, inj: Injection, content: str, body: bytes) -> None:
        kind = inj.kind
        if kind is Injected.HTTP_500:
            self._send(500, b"<html><body>Internal Server Error</body></html>", "text/html")
        elif kind is Injected.NON_XML:
            self._send(200, b"Service temporarily unavailable, please try later\n")
        elif kind is Injected.TRUNCATED:
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
        elif kind is Injected.TRUNCATED_XML:
            self._send(200, body[: len(body) // 2])
        elif kind is Injected.STALL:
            with self.owner._lock:
                event = self.owner._release
            event.wait(self.owner.stall_seconds)
            self.close_connection = True
        elif kind is Injected.BOMB:
            hostile = _BOMB + ENVELOPE.format(body=content).split("?>", 1)[1]
            self._send(200, hostile.replace("<data>", "<data>&lol9;", 1).encode())
        elif kind is Injected.EXTERNAL_ENTITY:
            hostile = _XXE + ENVELOPE.format(body=content).split("?>", 1)[1]
            self._send(200, hostile.replace("<data>", "<data>&xxe;", 1).encode())
        elif kind is Injected.HUGE:
            # streamed in blocks, so a 100 MB response costs the sandbox no memory
            head, tail = body.split(b"</soap:Body>", 1)
            head, tail = head + b"<!--", b"--></soap:Body>" + tail
            pad = max(0, inj.size - len(body) - 7)
            self.send_response(200)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(head) + pad + len(tail)))
            self.end_headers()
            self.wfile.write(head)
            block = b"x" * 65536
            while pad > 0:
                n = self.wfile.write(block[: min(pad, len(block))])
                pad -= n
            self.wfile.write(tail)
        elif kind is Injected.RAW:
            self._send(200, inj.body)
