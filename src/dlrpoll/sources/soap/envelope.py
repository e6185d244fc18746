"""Reading a journaled response envelope: pure (no network, no clock), so that ``split`` can
run over the journal long after the call, and ``reparse`` over it after an upgrade.

Responses are parsed by lxml with DTDs refused outright (so no entity, internal or external,
is ever expanded), no network access and no huge trees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from lxml import etree

from dlrpoll.errors import SourceProtocolError, SourceResponseError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.soap.layout import Plan

SOAP_ENVS = (
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
)
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
#: a DOCTYPE in the prolog, seen before lxml is given the bytes at all
_DOCTYPE = re.compile(rb"\A(?:\xef\xbb\xbf)?(?:\s|<\?[^?]*\?>|<!--(?:[^-]|-[^-])*-->)*<!DOCTYPE")
#: how much of a response the DOCTYPE pre-check reads (lxml's docinfo check sees the rest)
_PROLOG_SCAN = 64 * 1024


def parse_xml(source: str, payload: bytes) -> Any:
    """The envelope's root, parsed without DTDs, entities, network or huge trees. Raises
    :class:`SourceResponseError` naming what is wrong."""
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


def soap_body(source: str, root: Any) -> Any:
    """The envelope's Body element; :class:`SourceResponseError` when there is none."""
    qn = etree.QName(root)
    if qn.localname != "Envelope" or qn.namespace not in SOAP_ENVS:
        raise SourceResponseError(
            source, f"the response's root is <{qn.localname}>; expected a SOAP Envelope"
        )
    body = root.find(f"{{{qn.namespace}}}Body")
    if body is None:
        raise SourceResponseError(source, "the SOAP envelope has no Body")
    return body


def fault_text(body: Any) -> tuple[str, str] | None:
    """(code, text) of a SOAP 1.1 or 1.2 fault in ``body``, or None."""
    for ns in SOAP_ENVS:
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


def read_items(
    source: str,
    payload: bytes,
    plans: Mapping[str, Plan],
    *,
    tz: tzinfo,
    body_field: str,
    redact: Callable[[str], str],
) -> tuple[list[RawItem], int]:
    """The messages in one response envelope, and how many item elements it held.

    ``plans`` are keyed by the response element they apply to; ``tz`` is for dates without
    one; ``body_field`` names ``fields.body`` in messages; ``redact`` hides secrets in a
    fault's text. Raises :class:`SourceResponseError` for a hostile or unexpected envelope,
    :class:`SourceProtocolError` for a SOAP fault."""
    root = parse_xml(source, payload)
    body = soap_body(source, root)
    fault = fault_text(body)
    if fault is not None:
        raise SourceProtocolError(
            source, f"the response is a SOAP fault {fault[0]}: {redact(fault[1])}"
        )
    first = next((el for el in body if isinstance(el.tag, str)), None)
    plan = plans.get(first.tag) if first is not None else None
    if plan is None:
        got = f"<{etree.QName(first).localname}>" if first is not None else "nothing"
        expected = " or ".join(f"<{etree.QName(p).localname}>" for p in plans)
        raise SourceResponseError(
            source, f"the SOAP Body holds {got}; expected {expected} (check operation)"
        )
    nodes: list[Any] = [first]
    for tag in plan.path[1:]:
        nodes = [child for node in nodes for child in node.iterchildren(tag)]
    fields = plan.fields
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
                f"message {remote_id} has no <{body_field}> element (fields.body); nothing to parse"
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
