"""The WSDL: loaded once per process, the port to call chosen, and everything dlrpoll asks
zeep about it.

Every access to zeep's private attributes is in this module (zeep offers no public way to
list a binding's operations or to see that a type is a SOAP-encoded array), so a zeep
upgrade that moves them breaks here and nowhere else.

Which port: the configured ``service`` and ``port`` when given; otherwise the first SOAP 1.1
port in the WSDL's order, else the first SOAP 1.2 one. HTTP GET/POST bindings (ASMX lists
them beside its SOAP ports) are never called: on ASMX they run the same operation, and a
destructive one would mark messages read in an answer dlrpoll cannot journal as SOAP.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import requests
import zeep
import zeep.exceptions
from lxml import etree
from zeep.wsdl.bindings import Soap11Binding, Soap12Binding

from dlrpoll.config import SoapSourceConfig
from dlrpoll.errors import ConfigError
from dlrpoll.sources.soap.failures import Stage, error, short
from dlrpoll.sources.soap.transport import (
    Credentials,
    Refused,
    WsdlLoader,
    http_session,
    mask_url,
)

log = logging.getLogger(__name__)

#: zeep's constructors are untyped; reached through ``Any`` so strict mypy stays quiet
_zeep: Any = zeep
_BASE64 = "{http://www.w3.org/2001/XMLSchema}base64Binary"


def hardened_settings(*, imports: bool = False) -> zeep.Settings:
    """zeep settings for WSDLs and responses from outside: no DTDs, entities or huge trees,
    and no external documents unless ``imports`` (then :class:`WsdlLoader` decides)."""
    return zeep.Settings(
        forbid_dtd=True, forbid_entities=True, forbid_external=not imports, xml_huge_tree=False
    )


@dataclass(frozen=True)
class PortChoice:
    """Which port of the WSDL dlrpoll calls, and what else the WSDL offered."""

    service: str
    port: str
    protocol: str  # "SOAP 1.1" or "SOAP 1.2"
    address: str
    others: tuple[str, ...] = ()  # "name (protocol)" of every other port

    def text(self) -> str:
        """One line for ``check-config --connect`` and the log."""
        line = f"service {self.service}, port {self.port} ({self.protocol}) at {self.address}"
        return line + (f"; also offered: {', '.join(self.others)}" if self.others else "")


@dataclass(frozen=True)
class Service:
    """A loaded WSDL: its document, the binding dlrpoll calls, and the address it calls."""

    document: Any
    binding: Any
    address: str
    choice: PortChoice


_CACHE: dict[tuple[str, str | None, str | None, str | None], Service] = {}
_LOCK = threading.Lock()


def _fail(cfg: SoapSourceConfig, stage: Stage, detail: str) -> Exception:
    return error(cfg.name, stage, where=cfg.where(), wsdl=cfg.wsdl, detail=detail)


def forget_loaded_wsdls() -> None:
    """Empty the per-process cache, so the next poll loads each WSDL afresh (a reloaded
    configuration, or a test whose server reuses another's address)."""
    with _LOCK:
        _CACHE.clear()


def load_service(cfg: SoapSourceConfig, creds: Credentials | None = None) -> Service:
    """The WSDL ``cfg`` names, loaded once per process per WSDL, endpoint, service and port,
    with the source's credentials. Raises the errors the failure table gives the ``wsdl-*``
    stages, and :class:`ConfigError` for a ``service`` or ``port`` the WSDL lacks."""
    key = (cfg.wsdl, cfg.endpoint, cfg.service, cfg.port)
    with _LOCK:
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        session = http_session(cfg.ca_file, creds or Credentials())
        try:
            loader = WsdlLoader(
                cfg.wsdl, timeout=cfg.timeout, session=session, cap=cfg.max_response_size
            )
            settings = hardened_settings(imports=True)
            client = _zeep.Client(cfg.wsdl, transport=loader, settings=settings)
        except Refused as exc:
            raise _fail(cfg, Stage.WSDL_REFUSED, str(exc)) from exc
        except requests.exceptions.SSLError as exc:
            raise _fail(cfg, Stage.WSDL_TLS, str(exc)) from exc
        except requests.HTTPError as exc:
            # before OSError: requests' errors are OSErrors too
            status = exc.response.status_code if exc.response is not None else "error"
            raise _fail(cfg, Stage.WSDL_HTTP, f"HTTP {status}") from exc
        except requests.RequestException as exc:
            raise _fail(cfg, Stage.WSDL_UNREACHABLE, short(exc)) from exc
        except OSError as exc:
            raise _fail(cfg, Stage.WSDL_UNREADABLE, exc.strerror or str(exc)) from exc
        except zeep.exceptions.TransportError as exc:
            raise _fail(cfg, Stage.WSDL_HTTP, f"HTTP {exc.status_code}") from exc
        except (zeep.exceptions.Error, etree.XMLSyntaxError, ValueError, IndexError) as exc:
            raise _fail(cfg, Stage.WSDL_INVALID, str(exc)) from exc
        finally:
            session.close()
        choice, binding, address = _choose(cfg, client.wsdl)
        service = Service(client.wsdl, binding, address, choice)
        _CACHE[key] = service
        log.info("source %s: loaded WSDL %s: %s", cfg.name, cfg.wsdl, choice.text())
        return service


def _protocol(binding: Any) -> str | None:
    if isinstance(binding, Soap12Binding):
        return "SOAP 1.2"
    if isinstance(binding, Soap11Binding):
        return "SOAP 1.1"
    return None


def _describe(binding: Any) -> str:
    return _protocol(binding) or f"{type(binding).__name__.removesuffix('Binding')}, never used"


def _choose(cfg: SoapSourceConfig, document: Any) -> tuple[PortChoice, Any, str]:
    services = dict(document.services)
    if cfg.service is not None and cfg.service not in services:
        raise ConfigError(
            f"{cfg.where('service')}: the WSDL has no service {cfg.service!r} "
            f"(it has: {', '.join(services) or 'none'})"
        )
    ports = [
        (sname, pname, port)
        for sname, svc in services.items()
        if cfg.service is None or sname == cfg.service
        for pname, port in svc.ports.items()
    ]
    if cfg.port is not None:
        picked = [p for p in ports if p[1] == cfg.port]
        if not picked:
            names = ", ".join(f"{p[1]} ({_describe(p[2].binding)})" for p in ports) or "none"
            raise ConfigError(
                f"{cfg.where('port')}: the WSDL has no port {cfg.port!r} (it has: {names})"
            )
        if _protocol(picked[0][2].binding) is None:
            raise ConfigError(
                f"{cfg.where('port')}: {cfg.port} is a {_describe(picked[0][2].binding)} "
                "port; dlrpoll calls SOAP 1.1 and SOAP 1.2 ports only"
            )
    else:
        picked = [p for p in ports if _protocol(p[2].binding) == "SOAP 1.1"] or [
            p for p in ports if _protocol(p[2].binding) == "SOAP 1.2"
        ]
        if not picked:
            names = ", ".join(f"{p[1]} ({_describe(p[2].binding)})" for p in ports) or "none"
            raise _fail(cfg, Stage.WSDL_INVALID, f"it has no SOAP port (it has: {names})")
    sname, pname, port = picked[0]
    address = cfg.endpoint or port.binding_options.get("address") or ""
    others = tuple(f"{p[1]} ({_describe(p[2].binding)})" for p in ports if p is not picked[0])
    # shown, never used: a WSDL's own address could hold a password
    choice = PortChoice(sname, pname, str(_protocol(port.binding)), mask_url(address), others)
    return choice, port.binding, address


def operation_names(service: Service) -> list[str]:
    """The binding's operations, sorted, for messages that list what the WSDL offers."""
    return sorted(service.binding._operations)


def operation(service: Service, name: str, where: str, wsdl: str = "") -> Any:
    """The bound operation ``name``; :class:`ConfigError` at ``where`` naming the ones
    there are when it does not exist."""
    try:
        return service.binding.get(name)
    except ValueError:
        known = ", ".join(operation_names(service)) or "none"
        the = f"the WSDL {wsdl}" if wsdl else "the WSDL"
        raise ConfigError(f"{where}: {the} has no operation {name!r} (it has: {known})") from None


class Node:
    """One element of a response's schema, as :mod:`~dlrpoll.sources.soap.layout` sees it:
    its qualified name, its children, and whether it is a SOAP-encoded array (whose members'
    names are not significant: their :attr:`qname` is ``*``)."""

    def __init__(self, qname: str, xsd_type: Any) -> None:
        self.qname = qname
        self._type = xsd_type

    @classmethod
    def of(cls, element: Any) -> Node:
        return cls(str(etree.QName(element.qname)), element.type)

    @property
    def local(self) -> str:
        return self.qname if self.qname == "*" else str(etree.QName(self.qname).localname)

    @property
    def children(self) -> list[Node]:
        elements = getattr(self._type, "elements", None) or []
        return [Node.of(el) for _n, el in elements if getattr(el, "qname", None) is not None]

    @property
    def has_attributes(self) -> bool:
        return bool(getattr(self._type, "attributes", None))

    @property
    def member(self) -> Node | None:
        """The members of a SOAP-encoded array (``soapenc:arrayType``), or None."""
        array = getattr(self._type, "_array_type", None)
        member_type = getattr(array, "array_type", None)
        return Node("*", member_type) if member_type is not None else None

    @property
    def binary(self) -> bool:
        qname = getattr(self._type, "qname", None)
        return qname is not None and str(qname) == _BASE64


def response_node(service: Service, name: str, where: str, wsdl: str = "") -> Node | None:
    """The schema of operation ``name``'s response element (the Body's child), or None."""
    body = operation(service, name, where, wsdl).output.body
    if body is None or getattr(body, "qname", None) is None:
        return None
    return Node.of(body)


def input_names(service: Service, name: str) -> frozenset[str]:
    """The parameter names of operation ``name``. Raises ``ValueError`` for an unknown one."""
    body = service.binding.get(name).input.body
    if body is None:
        return frozenset()
    return frozenset(child.local for child in Node.of(body).children)


def bind(service: Service, transport: Any, wsse: Any = None) -> tuple[Any, Any]:
    """A zeep client over ``transport`` (with ``wsse``) and its proxy bound to the chosen
    port's binding and address."""
    client = _zeep.Client(
        service.document, transport=transport, settings=hardened_settings(), wsse=wsse
    )
    proxy = client.create_service(service.binding.name, service.address)
    return client, proxy
