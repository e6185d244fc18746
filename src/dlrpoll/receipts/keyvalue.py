"""Key/value receipts: URL query strings, ``Key: value`` lines, flat JSON, simple XML.

Every shape comes down to a list of ``(key, value)`` pairs; :func:`receipt_from_pairs` then
finds the fields under the profile's names (or the common ones) and reads the status through
the profile's table. Keys match without regard to case or punctuation (``Message ID``,
``messageId`` and ``message_id`` are one key).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import tzinfo
from typing import Any
from urllib.parse import parse_qsl, unquote

from dlrpoll.errors import ParseError
from dlrpoll.receipts.dates import any_date
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.profiles import Profile, norm_key
from dlrpoll.receipts.safety import safe_receipt

Pairs = list[tuple[str, str]]

_PERCENT = re.compile(r"%[0-9A-Fa-f]{2}")
_QUERY_START = re.compile(r"(?:[^\s?]*\?)?[^\s=&:?]+=", re.ASCII)
_LINE = re.compile(r"^\s*([A-Za-z][\w .\-/()#]{0,39}?)\s*[:=]\s*(.*?)\s*$")
_DTD = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_MAX_DEPTH = 4


def looks_like_query(text: str) -> bool:
    """One line of ``key=value&…``, with or without a URL in front, or all of it encoded."""
    s = text.strip()
    if "\n" in s:
        return False
    if _QUERY_START.match(s):
        return True
    return "=" not in s and "%3d" in s.lower()


def query_pairs(text: str) -> Pairs:
    """Pairs from a query string; values percent-encoded twice are decoded twice."""
    s = text.strip().replace("&amp;", "&")
    for _ in range(3):  # a whole query encoded once or twice
        if "=" in s or "%3d" not in s.lower():
            break
        s = unquote(s)
    if "?" in s:
        s = s.split("?", 1)[1]
    s = s.split("#", 1)[0]
    pairs: Pairs = []
    for key, value in parse_qsl(s, keep_blank_values=True):
        if _PERCENT.search(value):
            value = unquote(value)
        pairs.append((key, value))
    return pairs


def line_pairs(text: str) -> Pairs:
    """Pairs from ``Key: value`` (or ``Key = value``) lines; other lines are ignored."""
    pairs: Pairs = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m is not None:
            pairs.append((m.group(1), m.group(2)))
    return pairs


def _scalar(value: Any) -> str | None:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    return None


def _json_records(obj: Any, depth: int = 0) -> Iterator[Pairs]:
    if depth > _MAX_DEPTH:
        return
    if isinstance(obj, list):
        for item in obj:
            yield from _json_records(item, depth + 1)
    elif isinstance(obj, dict):
        pairs = [(str(k), s) for k, v in obj.items() if (s := _scalar(v)) is not None]
        if pairs:
            yield pairs
        for v in obj.values():
            if isinstance(v, dict | list):
                yield from _json_records(v, depth + 1)


def json_records(text: str) -> list[Pairs]:
    """Every object with scalar values in a JSON document, outermost first."""
    try:
        doc = json.loads(text)
    except RecursionError as exc:
        raise ParseError("JSON nested too deeply to be a receipt") from exc
    except ValueError as exc:
        raise ParseError(f"not valid JSON ({exc}); a JSON receipt is one flat object") from exc
    return list(_json_records(doc))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def xml_records(text: str) -> list[Pairs]:
    """Every element's attributes and leaf children, as pairs (outermost first)."""
    if _DTD.search(text):
        raise ParseError("XML with a DTD or entities is refused; a receipt needs neither")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ParseError(f"not well-formed XML ({exc})") from exc
    records: list[Pairs] = []
    for elem in root.iter():
        if not isinstance(elem.tag, str):
            continue
        pairs: Pairs = [(_local(k), v) for k, v in elem.attrib.items()]
        for child in elem:
            if isinstance(child.tag, str) and len(child) == 0:
                pairs.append((_local(child.tag), (child.text or "").strip()))
        if pairs:
            records.append(pairs)
    return records


class Fields:
    """A record's pairs, looked up the way a profile names them."""

    def __init__(self, pairs: Pairs, profile: Profile) -> None:
        self.profile = profile
        self.values: dict[str, str] = {}
        for key, value in pairs:
            self.values.setdefault(norm_key(key), value)

    def get(self, field_name: str) -> str | None:
        for key in self.profile.keys_for(field_name):
            got = self.values.get(key)
            if got is not None:
                return got
        return None

    def is_receipt(self) -> bool:
        """Whether the record has a message id and a status under the profile's names."""
        return bool(self.get("message_id")) and bool(self.get("status"))


def _missing(field_name: str, profile: Profile, what: str) -> ParseError:
    named = dict(profile.fields)
    if field_name in named:
        return ParseError(
            f"no {named[field_name]} field ({what}); profile {profile.name!r} names it "
            f"{named[field_name]!r} — check the profile's fields"
        )
    keys = ", ".join(profile.keys_for(field_name)[:4])
    return ParseError(
        f"no {what} field (looked for {keys}, …); name the provider's key in "
        f'[profiles.NAME] fields = {{ {field_name} = "…" }}'
    )


def _count(value: str | None, what: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    v = value.strip()
    if not (v.isdigit() and v.isascii()):
        raise ParseError(f"{what}: {value!r} is not a number of messages")
    return int(v)


def _opt(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def receipt_from_pairs(pairs: Pairs, profile: Profile, tz: tzinfo, fmt: str) -> Receipt:
    """One receipt from a record's pairs; :class:`ParseError` when it is not one."""
    f = Fields(pairs, profile)
    return receipt_from_fields(f, tz, fmt)


def receipt_from_fields(f: Fields, tz: tzinfo, fmt: str) -> Receipt:
    """One receipt from looked-up fields; :class:`ParseError` when it is not one."""
    profile = f.profile
    message_id = f.get("message_id")
    if message_id is None:
        raise _missing("message_id", profile, "message id")
    message_id = message_id.strip()
    if not message_id:
        raise ParseError("empty message id: the receipt must name the message it is about")
    status = f.get("status")
    if status is None:
        raise _missing("status", profile, "status")
    status = status.strip()
    if not status:
        raise ParseError("empty status: the receipt must say the message's state")
    entry = profile.status(status)
    submitted = f.get("submitted_at")
    done = f.get("done_at")
    epoch = profile.epoch_dates
    receipt = Receipt(
        message_id=message_id,
        state=entry.state,
        final=entry.final,
        provider_status=status,
        format=fmt,
        error_code=_opt(f.get("error_code")),
        submitted_at=any_date(submitted, tz, "submit date", epoch=epoch) if submitted else None,
        done_at=any_date(done, tz, "done date", epoch=epoch) if done else None,
        sub=_count(f.get("sub"), "sub"),
        dlvrd=_count(f.get("dlvrd"), "dlvrd"),
        src_addr=_opt(f.get("src_addr")),
        dst_addr=_opt(f.get("dst_addr")),
        client_ref=_opt(f.get("client_ref")),
        text=_opt(f.get("text")),
    )
    # JSON escapes can spell control characters and lone surrogates: checked here
    return safe_receipt(receipt)


def records(text: str, shape: str) -> list[Pairs]:
    """The records of one key/value text of a known shape: query, lines, json or xml."""
    if shape == "query":
        return [query_pairs(text)]
    if shape == "lines":
        return [line_pairs(text)]
    if shape == "json":
        return json_records(text)
    if shape == "xml":
        return xml_records(text)
    raise ParseError(f"unknown key/value shape {shape!r}")


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
    """The receipts in one key/value text (a JSON array or XML list may hold several)."""
    shape = shape or sniff_shape(text)
    recs = records(text, shape)
    if shape in ("json", "xml"):
        fields = [Fields(p, profile) for p in recs]
        found = [f for f in fields if f.is_receipt()]
        if found:
            return [receipt_from_fields(f, tz, shape) for f in found]
        # none complete: report what the outermost record lacks
        return [receipt_from_fields(fields[0] if fields else Fields([], profile), tz, shape)]
    if not recs[0]:
        raise ParseError(
            "no key/value pairs found; expected a query string (messageId=…&status=…), "
            "'Key: value' lines, a JSON object or an XML element"
        )
    return [receipt_from_pairs(recs[0], profile, tz, shape)]
