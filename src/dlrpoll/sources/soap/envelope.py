"""Reading a journaled response: pure (no network, no clock), so that ``split`` can run over
the journal long after the call, and ``reparse`` over it after an upgrade.

Every response's item count is explained: the items are found where the :class:`Plan`
says, or the response is recognisably empty (the result element is absent, nil, or has no
children), or reading fails with :class:`SourceResponseError` naming what was found where
items were expected (element names with their namespaces). Never a quiet zero.

What real SOAP stacks write, and how it is read:

- elements qualified differently from the schema (.NET, hand-built services): matched by
  namespace first, then by local name when the qualified lookup finds nothing; the reading
  says which matched;
- Apache Axis 1 ``multiRef``: an ``href="#id0"`` stub is replaced by the Body's
  ``<multiRef id="id0">`` (SOAP 1.2's ``enc:ref``/``enc:id`` likewise);
- SOAP-encoded arrays: members are every child element, whatever its name;
- a response element in another namespace than the WSDL's: an error showing both;
- faults with namespace-qualified ``faultcode``/``faultstring``, and SOAP 1.2 faults.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from lxml import etree

from dlrpoll.errors import SourceProtocolError, SourceResponseError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.soap.layout import ANY, Plan
from dlrpoll.sources.soap.xmlread import read_tree

SOAP_ENVS = (
    "http://schemas.xmlsoap.org/soap/envelope/",
    "http://www.w3.org/2003/05/soap-envelope",
)
_XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_ENC12_ID = "{http://www.w3.org/2003/05/soap-encoding}id"
_ENC12_REF = "{http://www.w3.org/2003/05/soap-encoding}ref"
_MAX_HOPS = 32


@dataclass(frozen=True)
class Reading:
    """What one response held: its messages, how many item elements there were (a full
    batch means more wait), and whether the elements matched by ``qualified`` names or by
    ``local names`` only."""

    items: list[RawItem]
    count: int
    matched: str


def name(element: Any) -> str:
    """An element's name with its namespace: ``{http://…}local``, or ``local``."""
    qn = etree.QName(element)
    return f"{{{qn.namespace}}}{qn.localname}" if qn.namespace else qn.localname


def soap_body(source: str, root: Any) -> Any:
    """The envelope's Body element; :class:`SourceResponseError` when there is none."""
    qn = etree.QName(root)
    if qn.localname != "Envelope" or qn.namespace not in SOAP_ENVS:
        raise SourceResponseError(
            source, f"the response's root is <{name(root)}>; expected a SOAP Envelope"
        )
    body = root.find(f"{{{qn.namespace}}}Body")
    if body is None:
        raise SourceResponseError(source, "the SOAP envelope has no Body")
    return body


def fault_text(body: Any) -> tuple[str, str] | None:
    """(code, text) of a SOAP 1.1 or 1.2 fault in ``body``, or None. Their children may be
    qualified or not (``{*}`` matches either)."""
    for ns in SOAP_ENVS:
        fault = body.find(f"{{{ns}}}Fault")
        if fault is None:
            continue
        code = fault.findtext("{*}faultcode") or fault.findtext("{*}Code/{*}Value") or "?"
        text = fault.findtext("{*}faultstring") or fault.findtext("{*}Reason/{*}Text") or ""
        return code.strip(), " ".join(text.split())
    return None


class _Refs:
    """The Body's multiRef targets by id, and dereferencing of ``href``/``enc:ref``."""

    def __init__(self, source: str, body: Any) -> None:
        self.source = source
        self.by_id: dict[str, Any] = {}
        kids = [el for el in body if isinstance(el.tag, str)]
        for el in kids[1:]:  # Axis puts them after the response element
            ref_id = el.get("id") or el.get(_ENC12_ID)
            if ref_id:
                self.by_id[ref_id] = el

    def __call__(self, node: Any) -> Any:
        for _ in range(_MAX_HOPS):
            href = node.get("href")
            ref = href[1:] if href and href.startswith("#") else node.get(_ENC12_REF)
            if not ref:
                return node
            target = self.by_id.get(ref)
            if target is None:
                raise SourceResponseError(
                    self.source,
                    f"<{name(node)}> refers to #{ref}, which is not in the response",
                )
            node = target
        raise SourceResponseError(self.source, f"references loop at <{name(node)}>")


def _nil(node: Any) -> bool:
    return node.get(_XSI_NIL) in ("true", "1")


def _empty(node: Any) -> bool:
    """Recognisably empty: nil, or no child elements and no text."""
    if _nil(node):
        return True
    return not len(node) and not (node.text or "").strip()


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _found(node: Any) -> str:
    kids = list(dict.fromkeys(name(k) for k in node.iterchildren(etree.Element)))
    if kids:
        return "holds <" + ">, <".join(kids[:6]) + ">" + (" …" if len(kids) > 6 else "")
    text = " ".join((node.text or "").split())
    return f"holds the text {text[:60]!r}"


def _wrapper(source: str, first: Any, plans: Mapping[str, Plan]) -> tuple[Plan, bool]:
    """The plan for the Body's first element, and whether it matched by local name only."""
    plan = plans.get(first.tag)
    if plan is not None:
        return plan, False
    qn = etree.QName(first)
    same = [p for p in plans.values() if _local(p.path[0]) == qn.localname]
    if same and not qn.namespace:
        return same[0], True
    if same:
        wanted = etree.QName(same[0].path[0]).namespace
        raise SourceResponseError(
            source,
            f"the SOAP Body holds <{qn.localname}> in namespace {qn.namespace}, but the WSDL "
            f"declares it in namespace {wanted}: the service answers in another namespace "
            "than its WSDL says; ask the provider for the WSDL it really serves, or point "
            f"wsdl at a copy whose targetNamespace is {qn.namespace}",
        )
    expected = " or ".join(f"<{p}>" for p in plans)
    raise SourceResponseError(
        source, f"the SOAP Body holds <{name(first)}>; expected {expected} (check operation)"
    )


def _text(element: Any) -> str | None:
    if _nil(element):
        return None
    if len(element):
        return "".join(element.itertext())
    return element.text or ""


def _received_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None


class _Reader:
    def __init__(self, source: str, plan: Plan, refs: _Refs) -> None:
        self.source = source
        self.plan = plan
        self.refs = refs
        self.by_local = False
        self.firsts = {path[0] for path in plan.fields.values()}

    def child(self, node: Any, tag: str) -> Any:
        found = node.find(tag)
        if found is None:
            found = node.find(f"{{*}}{_local(tag)}")
            self.by_local = self.by_local or found is not None
        return found

    def walk(self, first: Any) -> list[Any]:
        nodes = [self.refs(first)]
        for depth, tag in enumerate(self.plan.path[1:]):
            found: list[Any] = []
            for node in nodes:
                if _empty(node):
                    continue  # an absent, nil or childless result: nothing there
                if tag == ANY:
                    kids = list(node.iterchildren(etree.Element))
                else:
                    kids = list(node.iterchildren(tag))
                    if not kids:
                        kids = list(node.iterchildren(f"{{*}}{_local(tag)}"))
                        self.by_local = self.by_local or bool(kids)
                if not kids and self._only(node, self.plan.around[depth]):
                    continue  # the schema's other children, and no messages among them
                if not kids:
                    raise SourceResponseError(
                        self.source,
                        f"<{name(node)}> {_found(node)} where <{tag}> elements were expected",
                    )
                found.extend(self.refs(k) for k in kids)
            nodes = found
        return nodes

    @staticmethod
    def _only(node: Any, known: frozenset[str]) -> bool:
        if (node.text or "").strip():
            return False
        return all(_local(k.tag) in known for k in node.iterchildren(etree.Element))

    def values(self, item: Any) -> dict[str, str | bytes | None]:
        """Our fields' values in one item element. One pass over its children finds the
        first step of every path (this runs for every message)."""
        first: dict[str, Any] = {}
        # filtered in C: proxies are made only for the elements asked for
        for child in item.iterchildren(*self.firsts):
            first.setdefault(child.tag, child)
        out: dict[str, str | bytes | None] = {}
        # inside an item, references can only point at multiRefs: none, nothing to follow
        refs = self.refs if self.refs.by_id else None
        binary = self.plan.binary
        for ours, path in self.plan.fields.items():
            node = first.get(path[0])
            if node is None:
                node = self.child(item, path[0])
            for tag in path[1:]:
                if node is None:
                    break
                node = self.child(refs(node) if refs else node, tag)
            if node is not None and refs:
                node = refs(node)
            text = None if node is None else _text(node)
            out[ours] = self._binary(ours, text) if binary and ours in binary else text
        return out

    def empty_slot(self, item: Any, body_field: str) -> None:
        """Accept an item without id or body as an empty slot only if it holds nothing but
        elements its schema declares; anything else is content not understood."""
        if not self._only(item, self.plan.known):
            raise SourceResponseError(
                self.source,
                f"<{name(item)}> {_found(item)}, but no <{body_field}> (fields.body) or "
                "fields.remote_id element: its messages are not where the configuration says",
            )

    def _binary(self, ours: str, text: str | None) -> bytes | None:
        if text is None:
            return None
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise SourceResponseError(
                self.source, f"fields.{ours} is base64Binary but holds {text[:40]!r}"
            ) from None


def read_items(
    source: str,
    payload: bytes,
    plans: Mapping[str, Plan],
    *,
    fmt: str = RawFormat.SOAP_ENVELOPE,
    tz: tzinfo,
    body_field: str,
    redact: Callable[[str], str],
) -> Reading:
    """The messages in one journaled response of format ``fmt``.

    ``plans`` are keyed by the response element they apply to; ``tz`` is for dates without
    one; ``body_field`` names ``fields.body`` in messages; ``redact`` hides secrets in a
    fault's text. Raises :class:`SourceResponseError` for a hostile or unexpected response,
    :class:`SourceProtocolError` for a SOAP fault."""
    body = soap_body(source, read_tree(source, payload, fmt))
    fault = fault_text(body)
    if fault is not None:
        raise SourceProtocolError(
            source, f"the response is a SOAP fault {fault[0]}: {redact(fault[1])}"
        )
    first = next(body.iterchildren(etree.Element), None)
    if first is None:
        expected = " or ".join(f"<{p}>" for p in plans)
        raise SourceResponseError(source, f"the SOAP Body is empty; expected {expected}")
    plan, by_local = _wrapper(source, first, plans)
    reader = _Reader(source, plan, _Refs(source, body))
    nodes = reader.walk(first)
    items: list[RawItem] = []
    for node in nodes:
        if _nil(node):
            continue
        values = reader.values(node)
        remote_id = _str(values.get("remote_id")) or None
        body_value = values.get("body")
        if remote_id is None and not body_value:
            reader.empty_slot(node, body_field)
            continue  # an empty slot, such as a peek at an empty inbox
        received = _received_at(_str(values.get("received_at")))
        if received is not None and received.tzinfo is None:
            received = received.replace(tzinfo=tz)
        problem = None
        if body_value is None:
            problem = (
                f"message {remote_id} has no <{body_field}> element (fields.body); nothing to parse"
            )
        payload_bytes = body_value if isinstance(body_value, bytes) else (body_value or "").encode()
        items.append(
            RawItem(
                remote_id=remote_id,
                payload=payload_bytes,
                format=RawFormat.TEXT,
                parse_error=problem,
                sender=_str(values.get("sender")) or None,
                received_at=received,
            )
        )
    matched = "local names" if by_local or reader.by_local else "qualified"
    return Reading(items, len(nodes), matched)


def _str(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value
