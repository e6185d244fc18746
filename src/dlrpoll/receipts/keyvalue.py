"""Key/value receipts: URL query strings, HTTP requests, ``Key: value`` lines, JSON, XML.

Every shape comes down to a tree (:mod:`.tree`); :mod:`.fields` then finds the fields under
the profile's names (or the common ones) and reads the status through the profile's table.
Keys match without regard to case or punctuation (``Message ID``, ``messageId`` and
``message_id`` are one key).

Query strings are read as providers really send them: with or without the URL in front, a
stray space after ``?``, the HTTP request line in front (``GET /dlr?… HTTP/1.1``, and a
request's form or JSON body), PHP-style bracket keys (``receiver[number]``), the whole
query or single values percent-encoded twice. ``+`` is a space, as form encoding writes one,
except in a value that is an E.164 number sent unencoded (``recipient=+447700900555``); an
ISO date's ``+`` offset that became a space is read by :mod:`.anydate`. An empty value is
absent (``err=``). A value that holds a whole Appendix B receipt (Kannel's ``dr-msg``) is
read as that receipt when the query itself lacks a message id or a status; the query's own
fields fill in what the receipt lacks.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import tzinfo
from urllib.parse import unquote, unquote_plus

from dlrpoll.errors import ParseError
from dlrpoll.receipts.documents import document_receipts, json_tree, xml_tree
from dlrpoll.receipts.fields import Fields, receipt_from_fields
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.safety import safe_receipt
from dlrpoll.receipts.smpp import looks_like_smpp, parse_smpp
from dlrpoll.receipts.tree import Obj, from_pairs
from dlrpoll.receipts.values import address, optional

Pairs = list[tuple[str, str]]

_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_QUERY_START = re.compile(r"(?:[^\s?]*\?\s*)?[^\s=&:?]+=", re.ASCII)
_REQUEST = re.compile(
    r"(?:GET|POST|PUT|PATCH|HEAD)[ \t]+(\S+)(?:[ \t]+HTTP/\d+(?:\.\d+)?)?[ \t]*(?:\r?\n|$)",
    re.ASCII | re.IGNORECASE,
)
_LINE = re.compile(r"^\s*([A-Za-z][\w .\-/()#\[\]]{0,39}?)\s*[:=]\s*(.*?)\s*$")
_E164 = re.compile(r"\+[0-9]{6,15}", re.ASCII)
_BLANK_LINE = re.compile(r"\r?\n[ \t]*\r?\n")


def looks_like_query(text: str) -> bool:
    """One line of ``key=value&…`` (a URL or a request line in front, or all of it
    percent-encoded), or an HTTP request."""
    s = text.strip()
    if _REQUEST.match(s):
        return True
    if "\n" in s:
        return False
    if _QUERY_START.match(s):
        return True
    return "=" not in s and "%3d" in s.lower()


def _form_value(raw: str) -> str:
    if _E164.fullmatch(raw):
        return raw  # an unencoded E.164 number: its "+" is a plus, not a space
    value = unquote_plus(raw)
    if _PERCENT.search(value):  # encoded twice: once more (form encoding again)
        value = unquote_plus(value)
    return value


def query_pairs(text: str) -> Pairs:
    """Pairs from a query string or URL (module docstring); values percent-encoded twice
    are decoded twice."""
    s = text.strip().replace("&amp;", "&")
    request = _REQUEST.match(s)
    if request is not None:
        s = request.group(1)
    for _ in range(2):  # a whole query encoded once or twice
        if "=" in s or "%3d" not in s.lower():
            break
        s = unquote(s)
    if "?" in s:
        s = s.split("?", 1)[1]
    s = s.split("#", 1)[0].strip()
    pairs: Pairs = []
    for part in s.split("&"):
        key, eq, value = part.partition("=")
        key = unquote_plus(key).strip()
        if key and eq:
            pairs.append((key, _form_value(value.strip())))
    return pairs


def line_pairs(text: str) -> Pairs:
    """Pairs from ``Key: value`` (or ``Key = value``) lines; other lines are ignored."""
    pairs: Pairs = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is not None:
            pairs.append((m.group(1), m.group(2)))
    return pairs


def _embedded(obj: Obj) -> tuple[str, str] | None:
    """The key and text of a value that holds a whole Appendix B receipt."""
    for key, value in obj.items.values():
        if isinstance(value, str) and looks_like_smpp(value):
            return key, value
    return None


def pairs_receipt(pairs: Pairs, profile: Profile, tz: tzinfo, fmt: str) -> Receipt:
    """One receipt from a flat record's pairs (a query, ``Key: value`` lines)."""
    fields = Fields(from_pairs(pairs), profile)
    if not fields.is_receipt():
        inner = _embedded(fields.obj)
        if inner is not None:
            return _with_embedded(fields, inner, profile, tz, fmt)
    return receipt_from_fields(fields, tz, fmt)


def _with_embedded(
    fields: Fields, inner: tuple[str, str], profile: Profile, tz: tzinfo, fmt: str
) -> Receipt:
    key, text = inner
    try:
        receipt = parse_smpp(text.strip(), profile, tz)
    except ParseError as exc:
        raise ParseError(f"{key} holds an Appendix B receipt that cannot be read: {exc}") from None
    # the outer fields fill what the inner receipt lacks (addresses, reference, dates)
    outer: dict[str, str | None] = {}
    for name in ("src_addr", "dst_addr", "client_ref", "error_code"):
        if getattr(receipt, name) is None and fields.has(name):
            value = fields.get(name)
            outer[name] = address(value) if name.endswith("_addr") else optional(value)
    return safe_receipt(dataclasses.replace(receipt, format=f"{fmt}+smpp", **outer))  # type: ignore[arg-type]


def _request_body(text: str) -> str | None:
    """The body of an HTTP request (after the headers), or ``None`` when it has none."""
    parts = _BLANK_LINE.split(text, 1)
    if len(parts) < 2 or not parts[1].strip():
        return None
    return parts[1].strip()


def sniff_shape(text: str) -> str:
    """``json``, ``xml``, ``query`` or ``lines``: what a key/value text looks like."""
    s = text.lstrip()
    if s.startswith(("{", "[")):
        return "json"
    if looks_like_query(s):  # before XML: Ginota's sample is '<Your_DLR_Callback_URL>?…'
        return "query"
    if s.startswith("<"):
        return "xml"
    return "lines"


def parse_keyvalue(
    text: str, profile: Profile, tz: tzinfo, shape: str | None = None
) -> list[Receipt]:
    """The receipts in one key/value text (a JSON or XML document may hold several)."""
    shape = shape or sniff_shape(text)
    if shape == "json":
        return document_receipts(json_tree(text), profile, tz, "json")
    if shape == "xml":
        return document_receipts(xml_tree(text), profile, tz, "xml")
    if shape == "query":
        request = _REQUEST.match(text.strip())
        body = _request_body(text) if request is not None else None
        if body is not None:  # a POST: its body is the receipt
            return parse_keyvalue(body, profile, tz)
        pairs = query_pairs(text)
    elif shape == "lines":
        pairs = line_pairs(text)
    else:
        raise ParseError(f"unknown key/value shape {shape!r}")
    if not pairs:
        raise ParseError(
            "no key/value pairs found; expected a query string (messageId=…&status=…), "
            "'Key: value' lines, a JSON object or an XML element"
        )
    return [pairs_receipt(pairs, profile, tz, shape)]
