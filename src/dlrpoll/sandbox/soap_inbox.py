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
from importlib import resources
from types import TracebackType
from xml.sax.saxutils import escape

from dlrpoll.sandbox.soap_wire import (
    FAULT,
    NAMESPACE,
    SOAP_ENV,
    InboxHandler,
    Injected,
    Injection,
    Message,
    render,
)

log = logging.getLogger(__name__)

#: The provider returns at most this many messages per ``GetNewInboxMessages`` call.
MAX_PER_CALL = 300
_WSDL_PLACEHOLDER = "http://localhost/SMS.asmx"


def smpp_receipts(count: int, *, start: int = 0, stat: str = "DELIVRD") -> list[str]:
    """``count`` SMPP Appendix B receipt texts with distinct message ids (``start`` on)."""
    return [
        f"id:{n:010X} sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 "
        f"stat:{stat} err:000 text:"
        for n in range(start, start + count)
    ]


class SoapInbox:
    """A provider-like SOAP inbox on ``host``:``port`` (0 picks a free port).

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Thread-safe.
    """

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
        self.token = token
        self.signature = signature
        self.host = host
        self.port = port
        self.max_per_call = max_per_call
        self.stall_seconds = stall_seconds
        #: when set, ``SetMessageReadFlag`` answers true but marks nothing (a broken server)
        self.ignore_read_flag = False
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._unread: OrderedDict[str, Message] = OrderedDict()
        self._read: dict[str, Message] = {}
        self._injections: deque[Injection] = deque()
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
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._wsdl_template = (
            resources.files("dlrpoll.sandbox").joinpath("sms.wsdl").read_text(encoding="utf-8")
        )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> SoapInbox:
        """Bind and serve in a background thread; returns ``self``."""
        inbox = self

        class Handler(InboxHandler):
            owner = inbox

        server = http.server.ThreadingHTTPServer((self.host, self.port), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() returns within this
            name=f"soap-inbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        log.info("sandbox SOAP inbox listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving; stalled calls are let go (their connections close unanswered)."""
        self.release()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> SoapInbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

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
                self._injections.append(Injection(Injected(kind), operation, size, body))

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
    def _take_injection(self, operation: str) -> Injection | None:
        for inj in self._injections:
            if inj.operation is None or inj.operation == operation:
                self._injections.remove(inj)
                return inj
        return None

    def _call(self, operation: str, params: dict[str, str]) -> tuple[int, str, Injection | None]:
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


__all__ = ["MAX_PER_CALL", "NAMESPACE", "SOAP_ENV", "Injected", "SoapInbox", "smpp_receipts"]
