"""A SOAP inbox like the provider's ``SMS.asmx``, served over HTTP on 127.0.0.1.

It mirrors the documented service (document/literal, namespace
``http://upsidewireless.com/webservice/sms``): ``GetNewInboxMessages`` returns at most 300
unread messages and marks them read, ``GetNewInboxCount`` counts them,
``GetTopMessageNoReset`` peeks at the oldest one and ``SetMessageReadFlag`` marks it read.
Every call is checked against a token and a signature; a wrong pair is a SOAP ``Client``
fault. The WSDL is served at ``?wsdl``.

Responses are built with string templates (not zeep), so the sandbox is fast enough to
benchmark against. :meth:`SoapInbox.inject` makes the next call(s) misbehave the ways a real
network and server do: HTTP 500, a non-XML or truncated body, a stall after the request was
read, a hostile (DTD, entity) or oversized body.

Example::

    with SoapInbox(token="t", signature="s") as inbox:
        ids = inbox.load(smpp_receipts(600))
        ...  # point a source at inbox.wsdl_url
"""

from __future__ import annotations

import http.server
import logging
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any
from xml.sax.saxutils import escape

from dlrpoll.sandbox.server import SandboxServer
from dlrpoll.sandbox.soap_xml import (
    BOMB,
    ENVELOPE,
    FAULT,
    NAMESPACE,
    SOAP_ENV,
    XXE,
    Injected,
    Message,
    parse_request,
    render,
)

__all__ = ["MAX_PER_CALL", "NAMESPACE", "SOAP_ENV", "Injected", "SoapInbox", "smpp_receipts"]

log = logging.getLogger(__name__)

#: The provider returns at most this many messages per ``GetNewInboxMessages`` call.
MAX_PER_CALL = 300
_WSDL_PLACEHOLDER = "http://localhost/SMS.asmx"


@dataclass
class _Injection:
    kind: Injected
    operation: str | None
    size: int
    body: bytes = b""


def smpp_receipts(count: int, *, start: int = 0, stat: str = "DELIVRD") -> list[str]:
    """``count`` SMPP Appendix B receipt texts with distinct message ids (``start`` on)."""
    return [
        f"id:{n:010X} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
        f"stat:{stat} err:000 text:"
        for n in range(start, start + count)
    ]


class SoapInbox(SandboxServer):
    """A provider-like SOAP inbox on ``host``:``port`` (0 picks a free port).

    Use as a context manager, or call :meth:`start` and :meth:`stop` (stalled calls are let
    go; their connections close unanswered). Thread-safe.
    """

    label = "sandbox SOAP inbox"

    def __init__(
        self,
        token: str = "sandbox-token",
        signature: str = "sandbox-signature",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_per_call: int = MAX_PER_CALL,
        stall_seconds: float = 60.0,
    ) -> None:
        super().__init__(host, port)
        self.token = token
        self.signature = signature
        self.max_per_call = max_per_call
        self.stall_seconds = stall_seconds
        #: when set, ``SetMessageReadFlag`` answers true but marks nothing (a broken server)
        self.ignore_read_flag = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._unread: OrderedDict[str, Message] = OrderedDict()
        self._read: dict[str, Message] = {}
        self._injections: deque[_Injection] = deque()
        self._release = threading.Event()
        self._epoch = int(time.time() * 1000)
        self._seq = 0
        #: SOAP calls received, by operation
        self.calls: Counter[str] = Counter()
        #: SOAP requests received, and WSDL downloads
        self.requests = 0
        self.wsdl_requests = 0
        #: responses written in full (a moment tests may act at: the client is reading it)
        self.responses = 0
        #: the message ids each ``GetNewInboxMessages`` call returned (and marked read)
        self.fetch_log: list[list[str]] = []
        self._wsdl_template = (
            resources.files("dlrpoll.sandbox").joinpath("sms.wsdl").read_text(encoding="utf-8")
        )

    # -- lifecycle -------------------------------------------------------------------------
    def make_server(self) -> http.server.ThreadingHTTPServer:
        inbox = self

        class Handler(_Handler):
            owner = inbox

        server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        return server

    @property
    def url(self) -> str:
        """The service's endpoint."""
        return f"http://{self.host}:{self.port}/SMS.asmx"

    @property
    def wsdl_url(self) -> str:
        """Where the WSDL is served (its address points at :attr:`url`)."""
        return f"{self.url}?wsdl"

    @property
    def wsdl(self) -> str:
        """The WSDL text as served."""
        return self._wsdl_template.replace(_WSDL_PLACEHOLDER, self.url)

    # -- the queue -------------------------------------------------------------------------
    def load(
        self,
        bodies: Iterable[str],
        *,
        sender: str = "12065551234",
        inbound: str = "55555",
        carrier: str = "ATT",
    ) -> list[str]:
        """Queue one unread message per body (the receipt text); returns their message ids."""
        ids: list[str] = []
        now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        with self._changed:
            for body in bodies:
                self._seq += 1
                mid = f"Mail{self._epoch}-{self._seq}"
                self._unread[mid] = Message(mid, body, sender, inbound, carrier, now)
                ids.append(mid)
            self._changed.notify_all()
        return ids

    def unread(self) -> int:
        """How many messages are still unread."""
        with self._lock:
            return len(self._unread)

    def unread_ids(self) -> list[str]:
        """The unread messages' ids, oldest first."""
        with self._lock:
            return list(self._unread)

    def read_ids(self) -> set[str]:
        """Ids of messages that were marked read (fetched or flagged)."""
        with self._lock:
            return set(self._read)

    # -- misbehaviour ----------------------------------------------------------------------
    def inject(
        self,
        kind: Injected | str,
        *,
        times: int = 1,
        operation: str | None = None,
        size: int = 2 * 1024 * 1024,
        body: bytes = b"",
    ) -> None:
        """Make the next ``times`` calls (of ``operation``, or any) misbehave as ``kind``.
        ``size`` is the length of a ``HUGE`` response, ``body`` the bytes of a ``RAW`` one.

        The call is still carried out first: a stalled or truncated ``GetNewInboxMessages``
        has marked its messages read, as a real server would have.
        """
        with self._lock:
            for _ in range(times):
                self._injections.append(_Injection(Injected(kind), operation, size, body))

    def release(self) -> None:
        """Let stalled calls go: their connections close without an answer. Later stalls
        wait again."""
        with self._lock:
            event, self._release = self._release, threading.Event()
        event.set()

    def wait_requests(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` SOAP requests have been received."""
        with self._changed:
            return self._changed.wait_for(lambda: self.requests >= count, timeout)

    def wait_responses(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` SOAP responses have been written in full."""
        with self._changed:
            return self._changed.wait_for(lambda: self.responses >= count, timeout)

    # -- the service -----------------------------------------------------------------------
    def _take_injection(self, operation: str) -> _Injection | None:
        for inj in self._injections:
            if inj.operation is None or inj.operation == operation:
                self._injections.remove(inj)
                return inj
        return None

    def _call(self, operation: str, params: dict[str, str]) -> tuple[int, str, _Injection | None]:
        """Carry out one call: (HTTP status, SOAP body content, injection to apply)."""
        with self._changed:
            self.requests += 1
            self.calls[operation] += 1
            self._changed.notify_all()
            injection = self._take_injection(operation)
            if params.get("token") != self.token or params.get("signature") != self.signature:
                return 500, FAULT.format(code="Client", text="Invalid token or signature"), None
            if operation == "GetNewInboxMessages":
                taken: list[Message] = []
                while self._unread and len(taken) < self.max_per_call:
                    mid, popped = self._unread.popitem(last=False)
                    self._read[mid] = popped
                    taken.append(popped)
                self.fetch_log.append([m.mid for m in taken])
                inner = "".join(render(m, "NewSMSMessage") for m in taken)
                result = (
                    f"<GetNewInboxMessagesResult>{inner}</GetNewInboxMessagesResult>"
                    if taken
                    else "<GetNewInboxMessagesResult />"
                )
                body = f'<GetNewInboxMessagesResponse xmlns="{NAMESPACE}">{result}'
                return 200, body + "</GetNewInboxMessagesResponse>", injection
            if operation == "GetNewInboxCount":
                body = (
                    f'<GetNewInboxCountResponse xmlns="{NAMESPACE}"><GetNewInboxCountResult>'
                    f"{len(self._unread)}</GetNewInboxCountResult></GetNewInboxCountResponse>"
                )
                return 200, body, injection
            if operation == "GetTopMessageNoReset":
                if self._unread:
                    msg = next(iter(self._unread.values()))
                    result = render(msg, "GetTopMessageNoResetResult", top=True)
                else:
                    result = (
                        "<GetTopMessageNoResetResult><isValid>false</isValid>"
                        "<utcTime>0001-01-01T00:00:00</utcTime></GetTopMessageNoResetResult>"
                    )
                body = (
                    f'<GetTopMessageNoResetResponse xmlns="{NAMESPACE}">{result}'
                    "</GetTopMessageNoResetResponse>"
                )
                return 200, body, injection
            if operation == "SetMessageReadFlag":
                mid = params.get("messageId", "")
                if mid in self._unread and not self.ignore_read_flag:
                    self._read[mid] = self._unread.pop(mid)
                ok = "true" if mid in self._read or self.ignore_read_flag else "false"
                body = (
                    f'<SetMessageReadFlagResponse xmlns="{NAMESPACE}"><SetMessageReadFlagResult>'
                    f"{ok}</SetMessageReadFlagResult></SetMessageReadFlagResponse>"
                )
                return 200, body, injection
            text = escape(f"Server did not recognize the operation {operation!r}")
            return 500, FAULT.format(code="Client", text=text), injection


class _Handler(http.server.BaseHTTPRequestHandler):
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
            operation, params = parse_request(data)
        except ValueError:
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

    def _misbehave(self, inj: _Injection, content: str, body: bytes) -> None:
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
            hostile = BOMB + ENVELOPE.format(body=content).split("?>", 1)[1]
            self._send(200, hostile.replace("<data>", "<data>&lol9;", 1).encode())
        elif kind is Injected.EXTERNAL_ENTITY:
            hostile = XXE + ENVELOPE.format(body=content).split("?>", 1)[1]
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
