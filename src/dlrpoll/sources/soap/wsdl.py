"""The WSDL: loaded once per process, and everything dlrpoll asks zeep about it.

Every access to zeep's private attributes is in this module (zeep offers no public way to
list a binding's operations or read a bound port's address), so a zeep upgrade that moves
them breaks here and nowhere else.
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

from dlrpoll.config import SoapSourceConfig
from dlrpoll.errors import ConfigError
from dlrpoll.sources.soap.failures import Stage, error

log = logging.getLogger(__name__)

#: zeep's constructors are untyped; reached through ``Any`` so strict mypy stays quiet
_zeep: Any = zeep


def hardened_settings() -> zeep.Settings:
    """zeep settings for WSDLs and responses from outside: no DTDs, entities, external
    resolution or huge trees."""
    return zeep.Settings(
        forbid_dtd=True, forbid_entities=True, forbid_external=True, xml_huge_tree=False
    )


@dataclass(frozen=True)
class Service:
    """A loaded WSDL: its document, the binding dlrpoll calls, and the address it calls."""

    document: Any
    binding: Any
    address: str


_CACHE: dict[tuple[str, str | None], Service] = {}
_LOCK = threading.Lock()


def short(exc: BaseException) -> str:
    """An exception's text, cut to a line's worth."""
    text = str(exc)
    return text if len(text) < 300 else text[:297] + "..."


def _fail(cfg: SoapSourceConfig, stage: Stage, detail: str) -> Exception:
    return error(cfg.name, stage, wsdl=cfg.wsdl, detail=detail)


def load_service(cfg: SoapSourceConfig) -> Service:
    """The WSDL ``cfg`` names, loaded once per process per WSDL and endpoint. Raises the
    errors :mod:`~dlrpoll.sources.soap.failures` gives the ``wsdl-*`` stages."""
    key = (cfg.wsdl, cfg.endpoint)
    with _LOCK:
        cached = _CACHE.get(key)
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
        service = Service(client.wsdl, binding, address)
        _CACHE[key] = service
        log.info("source %s: loaded WSDL %s (endpoint %s)", cfg.name, cfg.wsdl, address)
        return service


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


def children(element: Any) -> list[Any]:
    """An element's child elements, as the schema declares them."""
    elements = getattr(element.type, "elements", None) or []
    return [el for _name, el in elements if getattr(el, "qname", None) is not None]


def has_attributes(element: Any) -> bool:
    """Whether the schema gives the element attributes (zeep keeps such wrappers)."""
    return bool(getattr(element.type, "attributes", None))


def input_names(service: Service, name: str) -> frozenset[str]:
    """The parameter names of operation ``name``. Raises ``ValueError`` for an unknown one."""
    body = service.binding.get(name).input.body
    if body is None:
        return frozenset()
    return frozenset(str(etree.QName(el.qname).localname) for el in children(body))


def bind(service: Service, transport: Any) -> tuple[Any, Any]:
    """A zeep client over ``transport`` and its proxy bound to the service's address."""
    client = _zeep.Client(service.document, transport=transport, settings=hardened_settings())
    proxy = client.create_service(service.binding.name, service.address)
    return client, proxy
