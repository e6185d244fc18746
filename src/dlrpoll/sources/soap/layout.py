"""Where the messages are: ``items`` and ``fields`` turned into element paths, once, against
the WSDL's schema.

``items`` is a dotted path from the operation's result as zeep returns it: zeep drops
response wrappers that hold a single element, so the path may start at any of those levels
(``NewSMSMessage`` and ``GetNewInboxMessagesResult.NewSMSMessage`` name the same elements),
and an empty path means the deepest of them. The resulting :class:`Plan` holds qualified
element names from the SOAP Body's child down, so that reading an envelope needs no schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from dlrpoll.config import SoapSourceConfig
from dlrpoll.errors import ConfigError
from dlrpoll.sources.soap import wsdl
from dlrpoll.sources.soap.wsdl import Service


@dataclass(frozen=True)
class Plan:
    """Where one operation's messages sit in its response, as qualified element names."""

    operation: str
    path: tuple[str, ...]  # from the SOAP Body's child down to the item elements
    fields: Mapping[str, tuple[str, ...]]  # our field name → path inside an item
    inputs: frozenset[str]  # the operation's parameter names


def _local(qname: Any) -> str:
    return str(etree.QName(qname).localname)


def _descend(start: Any, steps: list[str]) -> list[Any] | None:
    chain = [start]
    for step in steps:
        match = next((c for c in wsdl.children(chain[-1]) if _local(c.qname) == step), None)
        if match is None:
            return None
        chain.append(match)
    return chain


def plan(cfg: SoapSourceConfig, service: Service, operation: str, items: str) -> Plan:
    """The plan for ``operation`` with ``items`` and ``cfg.fields``. Raises
    :class:`ConfigError` naming what the response offers when they lead nowhere."""
    where = f"sources.{cfg.name}"
    op = wsdl.operation(service, operation, where, cfg.wsdl)
    wrapper = op.output.body
    inputs = wsdl.input_names(service, operation)
    if wrapper is None or getattr(wrapper, "qname", None) is None:
        raise ConfigError(f"{where}: operation {operation!r} has no response element to read")
    # the levels zeep unwraps: the response element, then single-element wrappers (twice)
    levels = [[wrapper]]
    for _ in range(2):
        last = levels[-1][-1]
        kids = wsdl.children(last)
        if len(kids) == 1 and not wsdl.has_attributes(last):
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
        offered = sorted({_local(c.qname) for lv in levels for c in wsdl.children(lv[-1])})
        raise ConfigError(
            f"{where}.items: {items!r} does not lead to elements in the response of "
            f"{operation!r}; the result offers: {', '.join(offered) or 'nothing'}"
        )
    item = chain[-1]
    fields: dict[str, tuple[str, ...]] = {}
    for ours, theirs in cfg.fields.items():
        found = _descend(item, [step for step in theirs.split(".") if step])
        if found is None or len(found) < 2:
            names = ", ".join(_local(c.qname) for c in wsdl.children(item)) or "nothing"
            raise ConfigError(
                f"{where}.fields.{ours}: {_local(item.qname)} has no element {theirs!r} "
                f"(it has: {names})"
            )
        fields[ours] = tuple(str(etree.QName(el.qname)) for el in found[1:])
    path = tuple(str(etree.QName(el.qname)) for el in chain)
    return Plan(operation, path, fields, inputs)


def check_ack(cfg: SoapSourceConfig, service: Service) -> None:
    """Two-phase mode: ``ack_operation`` exists and takes ``ack_arg``."""
    where = f"sources.{cfg.name}"
    wsdl.operation(service, cfg.ack_operation, f"{where}.ack_operation")
    inputs = wsdl.input_names(service, cfg.ack_operation)
    if cfg.ack_arg not in inputs:
        raise ConfigError(
            f"{where}.ack_arg: {cfg.ack_operation} takes no argument {cfg.ack_arg!r} "
            f"(it takes: {', '.join(sorted(inputs)) or 'nothing'})"
        )
