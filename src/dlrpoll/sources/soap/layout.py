"""Where the messages are: ``items`` and ``fields`` turned into element paths, once, against
the WSDL's schema.

``items`` is a dotted path from the operation's result as zeep returns it: zeep drops
response wrappers that hold a single element, so the path may start at any of those levels
(``NewSMSMessage`` and ``GetNewInboxMessagesResult.NewSMSMessage`` name the same elements),
and an empty path means the deepest of them. The resulting :class:`Plan` holds qualified
element names from the SOAP Body's child down, so that reading an envelope needs no schema.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dlrpoll.config import SoapSourceConfig
from dlrpoll.errors import ConfigError
from dlrpoll.sources.soap import wsdl
from dlrpoll.sources.soap.wsdl import Service

#: a path step that matches any element: the members of a SOAP-encoded array
ANY = "*"


class SchemaNode(Protocol):
    """What layout needs of a schema element (:class:`~dlrpoll.sources.soap.wsdl.Node`)."""

    @property
    def qname(self) -> str: ...
    @property
    def local(self) -> str: ...
    @property
    def children(self) -> Sequence[SchemaNode]: ...
    @property
    def has_attributes(self) -> bool: ...
    @property
    def member(self) -> SchemaNode | None: ...
    @property
    def binary(self) -> bool: ...


@dataclass(frozen=True)
class Plan:
    """Where one operation's messages sit in its response, as qualified element names
    (Clark notation, ``{namespace}local``; :data:`ANY` for array members)."""

    operation: str
    path: tuple[str, ...]  # from the SOAP Body's child down to the item elements
    fields: Mapping[str, tuple[str, ...]]  # our field name → path inside an item
    inputs: frozenset[str] = frozenset()  # the operation's parameter names
    binary: frozenset[str] = field(default=frozenset())  # fields typed base64Binary
    #: local names of the elements the schema gives an item: an item holding only these
    #: and none of our fields is an empty slot; one holding others is not understood
    known: frozenset[str] = field(default=frozenset())
    #: for each element on ``path`` but the last, the local names of the children its
    #: schema declares: one holding only these and no next step holds no messages
    around: tuple[frozenset[str], ...] = ()


def _kids(node: SchemaNode) -> Sequence[SchemaNode]:
    member = node.member
    return [member] if member is not None else node.children


def _descend(start: SchemaNode, steps: list[str]) -> list[SchemaNode] | None:
    chain = [start]
    for step in steps:
        # an array's members may have any name (SOAP 1.1 section 5.4.2)
        match = next((c for c in _kids(chain[-1]) if c.local in (step, ANY)), None)
        if match is None:
            return None
        chain.append(match)
    return chain


def layout(
    operation: str,
    wrapper: SchemaNode,
    items: str,
    fields: Mapping[str, str],
    where: Callable[[str], str],
    items_key: str = "items",
) -> Plan:
    """The plan for the response ``wrapper`` with ``items`` (the setting ``items_key``) and
    ``fields`` (our names to dotted element names). Raises :class:`ConfigError` naming the
    setting (``where(key)``: the source and the key path) and what the response offers
    when they lead nowhere."""
    # the levels zeep unwraps: the response element, then single-element wrappers (twice)
    levels = [[wrapper]]
    for _ in range(2):
        last = levels[-1][-1]
        kids = _kids(last)
        if len(kids) == 1 and not last.has_attributes and kids[0].local != ANY:
            levels.append([*levels[-1], kids[0]])
        else:
            break
    steps = [s for s in items.split(".") if s]
    chain: list[SchemaNode] | None = levels[-1] if not steps else None
    for level in levels if steps else []:
        tail = _descend(level[-1], steps)
        if tail is not None:
            chain = level + tail[1:]
            break
    if chain is None:
        offered = sorted({c.local for lv in levels for c in _kids(lv[-1])} - {ANY})
        raise ConfigError(
            f"{where(items_key)}: {items!r} does not lead to elements in the response of "
            f"{operation!r}; the result offers: {', '.join(offered) or 'nothing'}"
        )
    member = chain[-1].member
    if member is not None:
        chain = [*chain, member]  # a SOAP-encoded array: the messages are its members
    item = chain[-1]
    paths: dict[str, tuple[str, ...]] = {}
    binary: set[str] = set()
    for ours, theirs in fields.items():
        found = _descend(item, [step for step in theirs.split(".") if step])
        if found is None or len(found) < 2:
            names = ", ".join(c.local for c in item.children) or "nothing"
            raise ConfigError(
                f"{where(f'fields.{ours}')}: {item.local if item.local != ANY else 'an item'} has "
                f"no element {theirs!r} (it has: {names})"
            )
        paths[ours] = tuple(el.qname for el in found[1:])
        if found[-1].binary:
            binary.add(ours)
    known = frozenset(c.local for c in item.children)
    path = tuple(el.qname for el in chain)
    around = tuple(frozenset(c.local for c in _kids(el)) for el in chain[:-1])
    return Plan(operation, path, paths, frozenset(), frozenset(binary), known, around)


def plan(cfg: SoapSourceConfig, service: Service, *, peek: bool = False) -> Plan:
    """The plan for the loaded WSDL's ``operation`` with ``items`` (``peek_operation`` with
    ``peek_items`` when ``peek``), and ``cfg.fields``."""
    op_key, items_key = ("peek_operation", "peek_items") if peek else ("operation", "items")
    operation, items = getattr(cfg, op_key), getattr(cfg, items_key)
    wrapper = wsdl.response_node(service, operation, cfg.where(op_key), cfg.wsdl)
    if wrapper is None:
        raise ConfigError(
            f"{cfg.where(op_key)}: operation {operation!r} has no response element to read"
        )
    found = layout(operation, wrapper, items, cfg.fields, cfg.where, items_key)
    inputs = wsdl.input_names(service, operation)
    return Plan(
        found.operation, found.path, found.fields, inputs, found.binary, found.known, found.around
    )


def check_ack(cfg: SoapSourceConfig, service: Service) -> None:
    """Two-phase mode: ``ack_operation`` exists and takes ``ack_arg``."""
    wsdl.operation(service, cfg.ack_operation, cfg.where("ack_operation"))
    inputs = wsdl.input_names(service, cfg.ack_operation)
    if cfg.ack_arg not in inputs:
        raise ConfigError(
            f"{cfg.where('ack_arg')}: {cfg.ack_operation} takes no argument {cfg.ack_arg!r} "
            f"(it takes: {', '.join(sorted(inputs)) or 'nothing'})"
        )
