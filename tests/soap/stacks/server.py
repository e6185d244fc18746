"""A reproduced SOAP stack on 127.0.0.1: one inbox (destructive ``GetMessages``, two-phase
``PeekMessage`` + ``MarkRead``) served the way :class:`Flavour` says a real stack serves it.

    with Stack(Flavour("axis", style="rpc", multiref=True)) as stack:
        stack.load(["id:1 … stat:DELIVRD …"])
        ...  # point a source at stack.wsdl_url with stack.toml(mode)
        assert stack.unread() == []
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, replace
from types import TracebackType
from urllib.parse import parse_qs

from lxml import etree

from tests.soap.canned import Canned, Request, Response
from tests.soap.stacks import render, wsdls
from tests.soap.stacks.render import Message

USER, PASSWORD, API_KEY = "acct42", "s3cret-pass", "key-9f8e7d"


@dataclass(frozen=True)
class Flavour:
    """How a stack writes its WSDL and answers."""

    name: str
    style: str = "doc"  # "doc": document/literal; "rpc": rpc/encoded
    wsdl_qualified: bool = True  # elementFormDefault in the WSDL
    writes_qualified: bool = True  # whether the answers' children carry the namespace
    answer_ns: str = wsdls.NS  # the namespace the answers' wrapper is in
    multiref: bool = False  # rpc: structs as Axis multiRef siblings
    rpc_imports: str = "axis"
    ports: tuple[tuple[str, str], ...] = (("InboxSoap", "soap11"),)
    multidoc: bool = False  # WCF's ?wsdl → ?wsdl=wsdl0 → ?xsd=xsd0
    framing: str = "plain"
    auth: str | None = None  # "basic", "digest", "header", "wsse"
    redirect: int | None = None  # the WSDL's address answers this redirect to the service
    redirect_host: str = "127.0.0.1"
    faults: int = 0  # so many first calls answer a namespace-qualified fault
    wsdl_bomb: bool = False  # the WSDL comes gzip-compressed, inflating to BOMB_MIB MiB


class Stack:
    """Serves one :class:`Flavour`'s inbox; a context manager."""

    def __init__(self, flavour: Flavour) -> None:
        self.flavour = flavour
        self._lock = threading.Lock()
        self._unread: OrderedDict[str, Message] = OrderedDict()
        self._read: list[str] = []
        self._seq = 0
        self.calls: Counter[str] = Counter()
        self.rejected = 0  # requests refused for their credentials
        self.canned = Canned(self._handle)

    # -- the inbox -----------------------------------------------------------------------
    def load(self, texts: list[str], sender: str = "Zoë") -> list[str]:
        with self._lock:
            ids = []
            for text in texts:
                self._seq += 1
                mid = f"m-{self._seq:04d}"
                self._unread[mid] = Message(mid, text, sender)
                ids.append(mid)
            return ids

    def unread(self) -> list[str]:
        with self._lock:
            return list(self._unread)

    def read(self) -> list[str]:
        with self._lock:
            return list(self._read)

    # -- addresses ------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return self.canned.url("/svc")

    @property
    def wsdl_url(self) -> str:
        return self.base + "?wsdl"

    def documents(self) -> dict[str, str]:
        f = self.flavour
        address = self.canned.url("/old") if f.redirect else self.base
        if f.multidoc:
            return wsdls.wcf_documents(self.base, address)
        if f.style == "rpc":
            return {"?wsdl": wsdls.rpc_wsdl(address, import_style=f.rpc_imports)}
        text_type = "s:base64Binary" if f.framing == "mtom" else "s:string"
        doc = wsdls.doc_wsdl(
            address, qualified=f.wsdl_qualified, text_type=text_type, ports=f.ports
        )
        return {"?wsdl": doc}

    # -- HTTP -----------------------------------------------------------------------------
    def _handle(self, req: Request) -> Response:
        if not self._authorized(req):
            with self._lock:
                self.rejected += 1
            return self._challenge()
        path, _, query = req.path.partition("?")
        if req.method == "GET":
            doc = self.documents().get("?" + query.lower() if query else "")
            if path != "/svc" or doc is None:
                return Response(404, b"not found", {"Content-Type": "text/plain"})
            if self.flavour.wsdl_bomb:
                data = render.bomb(doc.encode(), b"", render.BOMB_MIB, gzip_format=True)
                return Response(200, data, {"Content-Encoding": "gzip"})
            return Response(200, doc.encode())
        if path == "/old" and self.flavour.redirect:
            target = self.canned.url("/svc").replace("127.0.0.1", self.flavour.redirect_host)
            return Response(self.flavour.redirect, b"", {"Location": target})
        if path == "/svc/GetMessages":  # ASMX's HTTP POST binding: runs the same operation
            form = parse_qs(req.body.decode())
            taken = self._fetch(int(form.get("max", ["10"])[0]))
            items = "".join(f"<message>{m.id}</message>" for m in taken)
            return Response(
                200, f'<ArrayOfMessage xmlns="{wsdls.NS}">{items}</ArrayOfMessage>'.encode()
            )
        return self._soap(req)

    def _soap(self, req: Request) -> Response:
        root = etree.fromstring(req.body)
        soap12 = etree.QName(root).namespace == render.ENV12
        body = next(el for el in root if etree.QName(el).localname == "Body")
        call = next(el for el in body if isinstance(el.tag, str))
        op = etree.QName(call).localname
        params = {etree.QName(c).localname: c.text or "" for c in call if isinstance(c.tag, str)}
        f = self.flavour
        with self._lock:
            self.calls[op] += 1
            faulting = sum(self.calls.values()) <= f.faults
        if self.flavour.auth == "wsse" and not _wsse_ok(root):
            content = render.qualified_fault(soap12=soap12)
            return render.frame(
                render.envelope(content, soap12=soap12), "plain", soap12=soap12, status=500
            )
        if faulting:
            content = render.qualified_fault(soap12=soap12)
            return render.frame(
                render.envelope(content, soap12=soap12), f.framing, soap12=soap12, status=500
            )
        if op.lower() == "getmessages":
            msgs = self._fetch(int(params.get("max") or 10))
        elif op.lower() == "peekmessage":
            msgs = self._peek()
        else:
            with self._lock:
                mid = params.get("id", "")
                if mid in self._unread:
                    del self._unread[mid]
                    self._read.append(mid)
            msgs = []
        if f.style == "rpc":
            content = render.rpc_body(op, msgs, multiref=f.multiref)
        else:
            mtom = f.framing == "mtom"
            content = render.doc_body(
                op, msgs, ns=f.answer_ns, qualified=f.writes_qualified, mtom=mtom
            )
        xml = render.envelope(content, soap12=soap12)
        return render.frame(xml, f.framing, soap12=soap12, attachments=msgs)

    def _fetch(self, limit: int) -> list[Message]:
        with self._lock:
            taken = []
            while self._unread and len(taken) < limit:
                mid, msg = self._unread.popitem(last=False)
                self._read.append(mid)
                taken.append(msg)
            return taken

    def _peek(self) -> list[Message]:
        with self._lock:
            return [next(iter(self._unread.values()))] if self._unread else []

    # -- credentials ----------------------------------------------------------------------
    def _authorized(self, req: Request) -> bool:
        kind = self.flavour.auth
        given = req.header("Authorization") or ""
        if kind == "basic":
            expected = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            return given == f"Basic {expected}"
        if kind == "digest":
            return _digest_ok(req.method, given)
        if kind == "header":
            return req.header("X-Api-Key") == API_KEY
        return True

    def _challenge(self) -> Response:
        headers = {"Content-Type": "text/plain"}
        if self.flavour.auth == "basic":
            headers["WWW-Authenticate"] = 'Basic realm="inbox"'
        elif self.flavour.auth == "digest":
            headers["WWW-Authenticate"] = f'Digest realm="inbox", nonce="{_NONCE}", qop="auth"'
        return Response(401 if self.flavour.auth != "header" else 403, b"denied", headers)

    def __enter__(self) -> Stack:
        self.canned.__enter__()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.canned.__exit__(t, e, tb)


_NONCE = "dcd98b7102dd2f0e8b11d0f600bfb0c093"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RFC 2617 says MD5


def _digest_ok(method: str, header: str) -> bool:
    if not header.startswith("Digest "):
        return False
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
    ha1 = _md5(f"{USER}:inbox:{PASSWORD}")
    ha2 = _md5(f"{method}:{p.get('uri', '')}")
    want = _md5(f"{ha1}:{_NONCE}:{p.get('nc')}:{p.get('cnonce')}:auth:{ha2}")
    return p.get("username") == USER and p.get("response") == want


_WSSE = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
_WSU = "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd}"


def _wsse_ok(root: etree._Element) -> bool:
    token = root.find(f".//{_WSSE}UsernameToken")
    if token is None or token.findtext(f"{_WSSE}Username") != USER:
        return False
    password = token.find(f"{_WSSE}Password")
    if password is None:
        return False
    if (password.get("Type") or "").endswith("#PasswordDigest"):
        nonce = base64.b64decode(token.findtext(f"{_WSSE}Nonce") or "")
        created = (token.findtext(f"{_WSU}Created") or "").encode()
        digest = base64.b64encode(hashlib.sha1(nonce + created + PASSWORD.encode()).digest())
        return password.text == digest.decode()
    return password.text == PASSWORD


def variant(flavour: Flavour, **changes: object) -> Flavour:
    return replace(flavour, **changes)  # type: ignore[arg-type]
