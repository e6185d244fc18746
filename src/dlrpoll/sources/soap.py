"""A provider's SOAP inbox (``GetNewInboxMessages`` and the like), described by configuration.

The WSDL says how to call the service; the configuration says which operation to call, with
which arguments, and where the messages are in its response (``items``, ``fields``). zeep
builds and sends the request; the response bytes are handed to the poller unparsed, as an
envelope the poller journals and commits *before* :meth:`SoapSource.split` takes the items
out of it. That order is what makes a destructive call (one that marks messages read as it
returns them) safe: the bytes are on disk before anything can go wrong with them.

Two modes:

``destructive``
    Call ``operation`` (it marks what it returns as read); a full batch (``batch_limit``
    items) means more are waiting, so call again, up to ``max_batches`` times. Only failures
    to connect are retried. A response lost after the request was sent (read timeout, reset)
    is :class:`~dlrpoll.errors.PossibleLossError`: the server may have marked receipts read
    that never reached the journal. A truncated or oversize response is journaled as far as
    it arrived, with the reason.
``two-phase``
    Peek at one message (``peek_operation``), hand it over, and set its read flag
    (``ack_operation``) only when the poller says it is committed. Everything before the
    read flag is retried; a crash in between re-reads the message and dedupe drops it.

Hardening: responses are parsed by lxml with DTDs refused outright (so no entity, internal
or external, is ever expanded), no network access and no huge trees; the body is read in
chunks up to ``max_response_size``; every call has a connect and a read timeout; TLS is
verified. The WSDL (a URL or a local file) is loaded once per process.

Splitting uses the WSDL's schema once, to turn ``items`` and ``fields`` into element paths
(qualified names from the SOAP Body down); the envelopes themselves are walked with lxml,
which keeps ``split`` pure and cheap. ``items`` is a dotted path from the operation's result
as zeep returns it: zeep drops response wrappers that hold a single element, so the path may
start at any of those levels (``NewSMSMessage`` and
``GetNewInboxMessagesResult.NewSMSMessage`` name the same elements), and an empty path means
the deepest of them.
"""

from __future__ import annotations

import io
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import urllib3.exceptions
import zeep
import zeep.exceptions
import zeep.transports
from lxml import etree

from dlrpoll.config import LoadedConfig, Secret, SecretRef, SoapSourceConfig, SourceConfig
from dlrpoll.errors import (
    ConfigError,
    PossibleLossError,
    SourceAuthError,
    SourceConnectError,
    SourceError,
    SourceProtocolError,
    SourceResponseError,
    SourceTimeoutError,
    SourceTLSError,
    TemporarySourceError,
)
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.base import Batch, KnownIds
from dlrpoll.sources.retry import RetryPolicy

log = logging.getLogger(__name__)

#: zeep's constructors are untyped; reached through ``Any`` so strict mypy stays quiet
_zeep: Any = zeep

ArgValue = Secret | int | float | bool | str
ENVELOPE_FORMAT = RawFormat.SOAP_ENVELOPE

_SOAP_ENVS = (
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
)
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_CHUNK = 64 * 1024
#: a DOCTYPE in the prolog, seen before lxml is given the bytes at all
_DOCTYPE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s|<\?[^?]*\?>|<!--(?:[^-]|-[^-])*-->)*<!DOCTYPE")
#: how much of a response the DOCTYPE pre-check reads (lxml's docinfo check sees the rest)
_PROLOG_SCAN = 64 * 1024
_AUTH_WORDS = re.compile(r"token|signature|auth|credential|password|login|account|key", re.I)


def hardened_settings() -> zeep.Settings:
    """zeep settings for WSDLs and responses from outside: no DTDs, entities, external
    resolution or huge trees."""
    return zeep.Settings(
        forbid_dtd=True, forbid_entities=True, forbid_external=True, xml_huge_tree=False
    )


# -- the WSDL, once per process ------------------------------------------------------------


@dataclass(frozen=True)
class _Service:
    document: Any
    binding: Any
    address: str


_WSDL_CACHE: dict[tuple[str, str | None], _Service] = {}
_WSDL_LOCK = threading.Lock()


def _load_service(cfg: SoapSourceConfig) -> _Service:
    key = (cfg.wsdl, cfg.endpoint)
    with _WSDL_LOCK:
        cached = _WSDL_CACHE.get(key)
        if cached is not None:
            return cached
        session = requests.Session()
        session.verify = cfg.ca_file or True
        try:
            transport = _zeep.Transport(timeout=cfg.timeout, session=session)
            client = _zeep.Client(cfg.wsdl, transport=transport, settings=hardened_settings())
            proxy = client.service
            binding = proxy._binding
            address = cfg.endpoint or proxy._binding_options["address"]
        except requests.exceptions.SSLError as exc:
            raise SourceTLSError(cfg.name, f"loading the WSDL {cfg.wsdl}: {exc}") from exc
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise SourceConnectError(
                cfg.name, f"cannot fetch the WSDL {cfg.wsdl}: {_short(exc)}"
            ) from exc
        except OSError as exc:
            raise ConfigError(
                f"sources.{cfg.name}.wsdl: cannot read {cfg.wsdl}: {exc.strerror or exc}"
            ) from exc
        except zeep.exceptions.TransportError as exc:
            raise SourceProtocolError(
                cfg.name, f"cannot fetch the WSDL {cfg.wsdl}: HTTP {exc.status_code}"
            ) from exc
        except (zeep.exceptions.Error, etree.XMLSyntaxError, ValueError, IndexError) as exc:
            raise SourceResponseError(
                cfg.name, f"{cfg.wsdl} is not a WSDL dlrpoll can use: {exc}"
            ) from exc
        finally:
            session.close()
        service = _Service(client.wsdl, binding, address)
        _WSDL_CACHE[key] = service
        log.info("source %s: loaded WSDL %s (endpoint %s)", cfg.name, cfg.wsdl, address)
        return service


# -- where the items are: resolved once against the schema ---------------------------------


@dataclass(frozen=True)
class _Plan:
    """Where one operation's messages sit in its response, as qualified element names."""

    operation: str
    path: tuple[str, ...]  # from the SOAP Body's child down to the item elements
    fields: Mapping[str, tuple[str, ...]]  # our field name → path inside an item
    inputs: frozenset[str]  # the operation's parameter names


def _children(element: Any) -> list[Any]:
    elements = getattr(element.type, "elements", None) or []
    return [el for _name, el in elements if getattr(el, "qname", None) is not None]


def _local(qname: Any) -> str:
    return str(etree.QName(qname).localname)


def _descend(start: Any, steps: list[str]) -> list[Any] | None:
    chain = [start]
    for step in steps:
        match = next((c for c in _children(chain[-1]) if _local(c.qname) == step), None)
        if match is None:
            return None
        chain.append(match)
    return chain


def _plan(cfg: SoapSourceConfig, service: _Service, operation: str, items: str) -> _Plan:
    where = f"sources.{cfg.name}"
    try:
        op = service.binding.get(operation)
    except ValueError:
        known = ", ".join(sorted(service.binding._operations)) or "none"
        raise ConfigError(
            f"{where}: the WSDL {cfg.wsdl} has no operation {operation!r} (it has: {known})"
        ) from None
    wrapper = op.output.body
    inputs = _inputs(service, operation)
    if wrapper is None or getattr(wrapper, "qname", None) is None:
        raise ConfigError(f"{where}: operation {operation!r} has no response element to read")
    # the levels zeep unwraps: the response element, then single-element wrappers (twice)
    levels = [[wrapper]]
    for _ in range(2):
        last = levels[-1][-1]
        kids = _children(last)
        if len(kids) == 1 and not getattr(last.type, "attributes", None):
            levels.append([*levels[-1], kids[0]])
        else:
            break
    steps = [s for s in items.split(".") if s]
    chain: list[Any] | None = levels[-1] if not steps else None
    for level in levels if steps else []:
        tail = _descend(level[-1], steps)
        if tail is not None:
            chain = level + tail[1:]
            break
    if chain is None:
        offered = sorted({_local(c.qname) for lv in levels for c in _children(lv[-1])})
        raise ConfigError(
            f"{where}.items: {items!r} does not lead to elements in the response of "
            f"{operation!r}; the result offers: {', '.join(offered) or 'nothing'}"
        )
    item = chain[-1]
    fields: dict[str, tuple[str, ...]] = {}
    for ours, theirs in cfg.fields.items():
        found = _descend(item, [step for step in theirs.split(".") if step])
        if found is None or len(found) < 2:
            names = ", ".join(_local(c.qname) for c in _children(item)) or "nothing"
            raise ConfigError(
                f"{where}.fields.{ours}: {_local(item.qname)} has no element {theirs!r} "
                f"(it has: {names})"
            )
        fields[ours] = tuple(str(etree.QName(el.qname)) for el in found[1:])
    path = tuple(str(etree.QName(el.qname)) for el in chain)
    return _Plan(operation, path, fields, inputs)


def _inputs(service: _Service, operation: str) -> frozenset[str]:
    body = service.binding.get(operation).input.body
    return (
        frozenset(_local(el.qname) for el in _children(body)) if body is not None else frozenset()
    )


def _check_ack(cfg: SoapSourceConfig, service: _Service) -> None:
    where = f"sources.{cfg.name}"
    try:
        inputs = _inputs(service, cfg.ack_operation)
    except ValueError:
        known = ", ".join(sorted(service.binding._operations)) or "none"
        raise ConfigError(
            f"{where}.ack_operation: the WSDL has no operation {cfg.ack_operation!r} "
            f"(it has: {known})"
        ) from None
    if cfg.ack_arg not in inputs:
        raise ConfigError(
            f"{where}.ack_arg: {cfg.ack_operation} takes no argument {cfg.ack_arg!r} "
            f"(it takes: {', '.join(sorted(inputs)) or 'nothing'})"
        )


# -- reading envelopes ----------------------------------------------------------------------


def _parse_xml(source: str, payload: bytes) -> Any:
    """The envelope's root, parsed without DTDs, entities, network or huge trees."""
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


def _body(source: str, root: Any) -> Any:
    qn = etree.QName(root)
    if qn.localname != "Envelope" or qn.namespace not in _SOAP_ENVS:
        raise SourceResponseError(
            source, f"the response's root is <{qn.localname}>; expected a SOAP Envelope"
        )
    body = root.find(f"{{{qn.namespace}}}Body")
    if body is None:
        raise SourceResponseError(source, "the SOAP envelope has no Body")
    return body


def _fault_text(body: Any) -> tuple[str, str] | None:
    """(code, text) of a SOAP 1.1 or 1.2 fault in ``body``, or None."""
    for ns in _SOAP_ENVS:
        fault = body.find(f"{{{ns}}}Fault")
        if fault is None:
            continue
        code = fault.findtext("faultcode") or fault.findtext(f"{{{ns}}}Code/{{{ns}}}Value") or "?"
        text = fault.findtext("faultstring") or fault.findtext(f"{{{ns}}}Reason/{{{ns}}}Text") or ""
        return code.strip(), " ".join(text.split())
    return None


def _text(element: Any) -> str | None:
    if element.get(_XSI_NIL) in ("true", "1"):
        return None
    if len(element):
        return "".join(element.itertext())
    return element.text or ""


def _values(item: Any, fields: Mapping[str, tuple[str, ...]]) -> dict[str, str | None]:
    """Our fields' texts in one item element. One pass over its children finds the first
    step of every path (this runs for every message, so it avoids a search per field)."""
    first: dict[str, Any] = {}
    # filtered in C: proxies are made only for the elements asked for
    for child in item.iterchildren(*{path[0] for path in fields.values()}):
        first.setdefault(child.tag, child)
    out: dict[str, str | None] = {}
    for ours, path in fields.items():
        node = first.get(path[0])
        for tag in path[1:]:
            if node is None:
                break
            node = node.find(tag)
        out[ours] = None if node is None else _text(node)
    return out


def _received_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


# -- HTTP ------------------------------------------------------------------------------------


class _HttpFailure(Exception):
    """Raised by the transport; the session maps it to our errors, knowing the mode."""

    def __init__(self, stage: str, detail: str, prefix: bytes = b"") -> None:
        super().__init__(detail)
        self.stage = stage  # "connect" | "tls" | "after-send" | "truncated" | "too-large"
        self.detail = detail
        self.prefix = prefix


@dataclass(frozen=True)
class _Reply:
    status: int
    content: bytes
    problem: str | None = None  # set when only a prefix of the response arrived


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:297] + "..."


def _classify(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls"
    if isinstance(exc, requests.exceptions.ConnectTimeout | requests.exceptions.ProxyError):
        return "connect"
    if isinstance(exc, requests.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, "reason", reason)
        if isinstance(reason, urllib3.exceptions.NewConnectionError):
            return "connect"
    # a read timeout, or a reset/abort once the request may have been sent
    return "after-send"


class _CappedTransport(zeep.transports.Transport):
    """zeep's transport, reading the response in chunks up to a size cap, with connect and
    read timeouts on every call, and never logging bodies (they carry credentials)."""

    def __init__(self, *, timeout: float, cap: int, session: requests.Session) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            timeout=timeout, operation_timeout=timeout, session=session
        )
        self.cap = cap

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        try:
            response = self.session.post(
                address,
                data=message,
                headers=headers,
                timeout=(self.load_timeout, self.operation_timeout),
                stream=True,
            )
        except requests.RequestException as exc:
            raise _HttpFailure(_classify(exc), _short(exc)) from exc
        with closing(response):
            # a BytesIO hands its buffer over without a copy (getvalue), so a response costs
            # its size once, not two or three times (chunks, their join, a slice of it)
            body = io.BytesIO()
            total = 0
            try:
                # read1, not iter_content: a body that breaks off keeps the part that arrived
                while chunk := response.raw.read1(_CHUNK, decode_content=True):
                    body.write(chunk)
                    total += len(chunk)
                    if total > self.cap:
                        body.truncate(self.cap)
                        raise _HttpFailure(
                            "too-large",
                            f"the response exceeds max_response_size ({self.cap} bytes)",
                            body.getvalue(),
                        )
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _HttpFailure(
                    "truncated",
                    f"the response broke off after {total} bytes ({_short(exc)})",
                    body.getvalue(),
                ) from exc
        response._content = body.getvalue()
        return response


# -- the source ------------------------------------------------------------------------------


class SoapSource:
    """A configured SOAP inbox. ``args`` are the operation's arguments, secrets resolved."""

    def __init__(
        self,
        cfg: SoapSourceConfig,
        args: Mapping[str, ArgValue | SecretRef],
        retry: RetryPolicy,
    ) -> None:
        self.cfg = cfg
        self.name = cfg.name
        unresolved = sorted(k for k, v in args.items() if isinstance(v, SecretRef))
        if unresolved:
            raise ConfigError(
                f"sources.{cfg.name}.args: secret(s) {unresolved} were not resolved; "
                "load the config with its secrets"
            )
        self.args: dict[str, ArgValue] = {
            k: v for k, v in args.items() if not isinstance(v, SecretRef)
        }
        self.retry = retry
        self._plans: dict[str, _Plan] | None = None
        self._service: _Service | None = None
        # the last envelope the session split, so the poller's split of the same bytes is free
        self._last: tuple[bytes, list[RawItem] | SourceError, int] | None = None

    def __repr__(self) -> str:
        return f"SoapSource({self.name!r}, {self.cfg.wsdl!r}, mode={self.cfg.mode!r})"

    containers = frozenset({RawFormat.SOAP_ENVELOPE})
    records: frozenset[RawFormat] = frozenset()

    @property
    def consumes(self) -> bool:
        """GetNewInboxMessages marks what it returns read as it answers."""
        return self.cfg.mode == "destructive"

    @property
    def fetch_headroom(self) -> int:
        """Room for the largest response once as the journaled envelope, once as its items,
        and once more for the WAL; only a consuming fetch needs it."""
        return 3 * self.cfg.max_response_size if self.consumes else 0

    # -- WSDL and plans ---------------------------------------------------------------------
    def service(self) -> _Service:
        """The loaded WSDL (once per process per WSDL and endpoint); connect errors retried."""
        if self._service is None:
            self._service = self.retry.call(
                self.name, f"loading the WSDL {self.cfg.wsdl}", lambda: _load_service(self.cfg)
            )
        return self._service

    def plans(self) -> dict[str, _Plan]:
        """The item plans, by the response element they apply to."""
        if self._plans is None:
            service = self.service()
            plans = [_plan(self.cfg, service, self.cfg.operation, self.cfg.items)]
            if self.cfg.mode == "two-phase":
                plans.append(_plan(self.cfg, service, self.cfg.peek_operation, self.cfg.peek_items))
                _check_ack(self.cfg, service)
            self._plans = {p.path[0]: p for p in plans}
        return self._plans

    # -- split -----------------------------------------------------------------------------
    def split(self, envelope: RawItem) -> list[RawItem]:
        """The receipts inside a journaled response envelope. Pure (the WSDL is loaded once,
        beforehand if it is a URL). Raises :class:`SourceResponseError` for a hostile,
        truncated or unexpected envelope, :class:`SourceProtocolError` for a SOAP fault."""
        return self._split(envelope)[0]

    def _split(self, envelope: RawItem) -> tuple[list[RawItem], int]:
        last = self._last
        if last is not None and last[0] is envelope.payload:
            if isinstance(last[1], SourceError):
                raise last[1]
            return last[1], last[2]
        if envelope.parse_error is not None:
            raise SourceResponseError(self.name, envelope.parse_error)
        if envelope.format != ENVELOPE_FORMAT:
            return [], 0
        return self._extract(envelope.payload)

    def _split_cached(self, envelope: RawItem) -> tuple[list[RawItem], int]:
        try:
            items, count = self._split(envelope)
        except SourceError as exc:
            self._last = (envelope.payload, exc, 0)
            raise
        self._last = (envelope.payload, items, count)
        return items, count

    def _extract(self, payload: bytes) -> tuple[list[RawItem], int]:
        root = _parse_xml(self.name, payload)
        body = _body(self.name, root)
        fault = _fault_text(body)
        if fault is not None:
            raise SourceProtocolError(
                self.name, f"the response is a SOAP fault {fault[0]}: {self._redact(fault[1])}"
            )
        first = next((el for el in body if isinstance(el.tag, str)), None)
        plans = self.plans()
        plan = plans.get(first.tag) if first is not None else None
        if plan is None:
            got = f"<{etree.QName(first).localname}>" if first is not None else "nothing"
            expected = " or ".join(f"<{etree.QName(p).localname}>" for p in plans)
            raise SourceResponseError(
                self.name, f"the SOAP Body holds {got}; expected {expected} (check operation)"
            )
        nodes: list[Any] = [first]
        for tag in plan.path[1:]:
            nodes = [child for node in nodes for child in node.iterchildren(tag)]
        fields = plan.fields
        tz = self.cfg.tz
        items: list[RawItem] = []
        for node in nodes:
            if node.get(_XSI_NIL) in ("true", "1"):
                continue
            values = _values(node, fields)
            remote_id = values.get("remote_id") or None
            body_text = values.get("body")
            if remote_id is None and not body_text:
                continue  # an empty slot, such as a peek at an empty inbox
            received = _received_at(values.get("received_at"))
            if received is not None and received.tzinfo is None:
                received = received.replace(tzinfo=tz)
            problem = None
            if body_text is None:
                problem = (
                    f"message {remote_id} has no <{self.cfg.fields['body']}> element "
                    "(fields.body); nothing to parse"
                )
            items.append(
                RawItem(
                    remote_id=remote_id,
                    payload=(body_text or "").encode("utf-8"),
                    format=RawFormat.TEXT,
                    parse_error=problem,
                    sender=values.get("sender") or None,
                    received_at=received,
                )
            )
        return items, len(nodes)

    def _redact(self, text: str) -> str:
        for value in self.args.values():
            if isinstance(value, Secret) and len(value.reveal()) >= 4:
                text = text.replace(value.reveal(), "******")
        return text

    # -- sessions --------------------------------------------------------------------------
    @contextmanager
    def open(self) -> Iterator[SoapSession]:
        """A session over one HTTP connection pool, closed on exit."""
        service = self.service()
        self.plans()
        session = requests.Session()
        session.verify = self.cfg.ca_file or True
        transport = _CappedTransport(
            timeout=self.cfg.timeout, cap=self.cfg.max_response_size, session=session
        )
        try:
            client = _zeep.Client(
                service.document, transport=transport, settings=hardened_settings()
            )
            proxy: Any = client.create_service(service.binding.name, service.address)
            yield SoapSession(self, client, proxy)
        finally:
            session.close()


class SoapSession:
    """One poll's calls to a SOAP inbox. Built by :meth:`SoapSource.open`."""

    def __init__(self, source: SoapSource, client: Any, proxy: Any) -> None:
        self.source = source
        self.cfg = source.cfg
        self.name = source.name
        self._client = client
        self._proxy = proxy

    # -- one call --------------------------------------------------------------------------
    def _call(self, operation: str, extra: Mapping[str, ArgValue], *, consuming: bool) -> _Reply:
        inputs = _inputs(self.source.service(), operation)
        args = dict(self.source.args)
        if operation != self.cfg.operation:
            # peek and ack operations take only what their signature names
            args = {k: v for k, v in args.items() if k in inputs}
        args.update(extra)
        revealed = {k: v.reveal() if isinstance(v, Secret) else v for k, v in args.items()}
        try:
            with self._client.settings(raw_response=True):
                response = self._proxy[operation](**revealed)
        except _HttpFailure as failure:
            return self._failed(operation, failure, consuming=consuming)
        except TypeError as exc:
            raise ConfigError(
                f"sources.{self.name}.args: {operation} does not accept these arguments "
                f"({sorted(args)}); it takes {sorted(inputs)}"
            ) from exc
        except (zeep.exceptions.Error, ValueError) as exc:
            raise SourceProtocolError(
                self.name, f"cannot build the {operation} request: {self.source._redact(str(exc))}"
            ) from exc
        return self._checked(operation, _Reply(response.status_code, response.content), consuming)

    def _failed(self, operation: str, failure: _HttpFailure, *, consuming: bool) -> _Reply:
        stage, detail = failure.stage, failure.detail
        if stage == "connect":
            raise SourceConnectError(self.name, f"cannot connect for {operation}: {detail}")
        if stage == "tls":
            raise SourceTLSError(
                self.name, f"TLS failed for {operation}: {detail}; check the certificate or ca_file"
            )
        if stage == "too-large":
            msg = (
                f"{operation}: {detail}; the first {len(failure.prefix)} bytes are journaled. "
                "Raise max_response_size if the provider really sends this much"
            )
            if consuming:
                msg += "; receipts in the rest may have been marked read on the server"
            log.error("source %s: %s", self.name, msg)
            return _Reply(200, failure.prefix, msg)
        if not consuming:
            # nothing is marked read before the read flag: safe to try again
            if stage == "truncated":
                raise SourceConnectError(self.name, f"{operation}: {detail}")
            raise SourceTimeoutError(self.name, f"{operation}: the response was lost ({detail})")
        if stage == "truncated":
            msg = (
                f"{operation}: {detail}; the part that arrived is journaled, and receipts in "
                "the rest may have been marked read on the server"
            )
            log.error("source %s: %s", self.name, msg)
            return _Reply(200, failure.prefix, msg)
        msg = (
            f"{operation} was sent but its response was lost ({detail}): receipts may have "
            "been marked read on the server and are not in the journal. Not retried; check "
            'the provider\'s web inbox, or use mode = "two-phase" where the provider offers it'
        )
        log.error("source %s: %s", self.name, msg)
        raise PossibleLossError(self.name, msg)

    def _checked(self, operation: str, reply: _Reply, consuming: bool) -> _Reply:
        if reply.status == 200:
            return reply
        fault = None
        try:
            fault = _fault_text(_body(self.name, _parse_xml(self.name, reply.content)))
        except SourceError:
            pass
        if fault is not None:
            code, text = fault[0], self.source._redact(fault[1])
            msg = f"{operation} failed with SOAP fault {code}: {text}"
            if code.rsplit(":", 1)[-1] in ("Client", "Sender") and _AUTH_WORDS.search(text):
                raise SourceAuthError(self.name, msg + "; check the token/signature in args")
            raise SourceProtocolError(self.name, msg)
        msg = f"{operation} answered HTTP {reply.status}; expected 200 with a SOAP envelope"
        if not consuming and reply.status >= 500:
            raise TemporarySourceError(self.name, msg)
        raise SourceProtocolError(self.name, msg)

    def _fetch(self, operation: str, extra: Mapping[str, ArgValue], consuming: bool) -> _Reply:
        return self.source.retry.call(
            self.name, operation, lambda: self._call(operation, extra, consuming=consuming)
        )

    # -- the Session protocol --------------------------------------------------------------
    def batches(self, known: KnownIds) -> Iterator[Batch]:
        """Response envelopes, each to be journaled before its items are split out."""
        if self.cfg.mode == "two-phase":
            yield from self._peeks(known)
        else:
            yield from self._destructive()

    def _envelope(self, reply: _Reply) -> RawItem:
        return RawItem(None, reply.content, ENVELOPE_FORMAT, parse_error=reply.problem)

    def _destructive(self) -> Iterator[Batch]:
        op = self.cfg.operation
        for n in range(1, self.cfg.max_batches + 1):
            envelope = self._envelope(self._fetch(op, {}, consuming=True))
            try:
                _items, count = self.source._split_cached(envelope)
            except SourceError:
                yield Batch(envelope=envelope)  # journaled as-is; the poller's split says why
                return
            yield Batch(envelope=envelope)
            if count < self.cfg.batch_limit:
                return
            if n == self.cfg.max_batches:
                log.info(
                    "source %s: %d full batches fetched (max_batches); the rest waits for "
                    "the next poll",
                    self.name,
                    n,
                )

    def _peeks(self, known: KnownIds) -> Iterator[Batch]:
        op = self.cfg.peek_operation
        previous: list[str] = []
        for _ in range(self.cfg.batch_limit * self.cfg.max_batches):
            envelope = self._envelope(self._fetch(op, {}, consuming=False))
            try:
                items, _count = self.source._split_cached(envelope)
            except SourceError:
                yield Batch(envelope=envelope)
                return
            if not items:
                return
            ids = [i.remote_id for i in items if i.remote_id]
            if len(ids) != len(items):
                raise SourceResponseError(
                    self.name,
                    f"{op} returned a message without {self.cfg.fields.get('remote_id')!r}; "
                    "two-phase mode needs it to set the read flag",
                )
            if ids == previous:
                raise SourceProtocolError(
                    self.name,
                    f"{self.cfg.ack_operation} did not mark {ids[0]} read: {op} returned it "
                    "again; check ack_operation and ack_arg",
                )
            previous = ids
            seen = known(ids)
            if seen.issuperset(ids):
                # journaled by a poll that stopped before the read flag: only flag it now
                yield Batch(known=ids, ack=ids)
            else:
                yield Batch(envelope=envelope, ack=ids)

    def acknowledge(self, batch: Batch) -> None:
        """Two-phase mode: set the read flag of each committed message. Destructive mode has
        nothing to do (the fetch marked them)."""
        if self.cfg.mode != "two-phase" or not isinstance(batch.ack, list):
            return
        for remote_id in batch.ack:
            # setting a read flag twice is harmless, so this is retried like a peek
            self._fetch(self.cfg.ack_operation, {self.cfg.ack_arg: str(remote_id)}, False)


__all__ = ["SoapSession", "SoapSource", "hardened_settings"]


def from_config(config: LoadedConfig, cfg: SourceConfig, retry: RetryPolicy) -> SoapSource:
    """The registry's factory (see :data:`dlrpoll.sources.KINDS`)."""
    assert isinstance(cfg, SoapSourceConfig)
    secrets = config.source_secrets(cfg.name)
    args = {k: secrets.get(("args", k), v) for k, v in cfg.args.items()}
    return SoapSource(cfg, args, retry=retry)
