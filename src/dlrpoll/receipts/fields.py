"""A receipt's fields found in a tree (:mod:`.tree`) under a profile's names, and the
receipt built from them.

A field is looked up under each of the profile's paths for it, most specific first
(:meth:`~dlrpoll.receipts.profiles.Profile.paths_for`); an absent value (:mod:`.values`)
counts as no value. When the value found is an object, its inner key is taken from a short
list per field (:data:`INNER_KEYS`: a status object's ``name``, an error object's ``code``
or ``id``, an address object's ``number``), so ``"status": {"groupName": "DELIVERED",
"name": "DELIVERED_TO_HANDSET"}`` reads ``DELIVERED_TO_HANDSET``; an object without one of
them is an error that names the object's keys and the path to write in the profile
(``status.name``). A list of one value is that value; a longer list is an error naming
``to[0]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.anydate import any_date
from dlrpoll.receipts.datefmt import read_date
from dlrpoll.receipts.embedded import fill_from_embedded
from dlrpoll.receipts.model import Receipt
from dlrpoll.receipts.paths import field_path
from dlrpoll.receipts.profiles import FIELD_NAMES, Profile
from dlrpoll.receipts.safety import safe_receipt
from dlrpoll.receipts.tree import Node, Obj, Path, norm_key, path_text, resolve, step
from dlrpoll.receipts.values import ABSENT, address, count, optional

_TEXT = "#text"  # an XML element's own text, beside its attributes (see documents)
_ADDRESS_KEYS = ("number", "address", "msisdn", "phone", "value", _TEXT)
#: Inner keys read when a field's value is an object, in order.
INNER_KEYS: Mapping[str, tuple[str, ...]] = {
    "message_id": ("id", "messageid", "value", _TEXT),
    "status": ("name", "status", "state", "value", _TEXT),
    "error_code": ("code", "id", "errorcode", "value", _TEXT),
    "submitted_at": ("value", _TEXT),
    "done_at": ("value", _TEXT),
    "sub": ("value", _TEXT),
    "dlvrd": ("value", _TEXT),
    "src_addr": _ADDRESS_KEYS,
    "dst_addr": _ADDRESS_KEYS,
    "client_ref": ("id", "value", _TEXT),
    "text": ("text", "value", _TEXT),
}
_WHAT = {
    "message_id": "message id",
    "status": "status",
    "error_code": "error code",
    "submitted_at": "submit date",
    "done_at": "done date",
    "sub": "sub",
    "dlvrd": "dlvrd",
    "src_addr": "sender",
    "dst_addr": "recipient",
    "client_ref": "client reference",
    "text": "text",
}


def _present(node: Node | None) -> bool:
    if node is None:
        return False
    if isinstance(node, str):
        return node.strip() not in ABSENT
    return len(node.items) > 0 if isinstance(node, Obj) else len(node) > 0


def _names(root: Obj, path: Path) -> list[str]:
    """The keys along ``path`` as the document spells them."""
    out: list[str] = []
    here: Node | None = root
    for seg in path:
        out.append(here.name(seg) if isinstance(here, Obj) and isinstance(seg, str) else str(seg))
        here = step(here, seg) if here is not None else None
    return out


class Fields:
    """A record (an :class:`Obj`) read the way a profile names its fields."""

    def __init__(self, obj: Obj, profile: Profile) -> None:
        self.obj = obj
        # the auto profile reads a record with the provider's profile its keys name
        self.profile = profile.for_tree(obj)
        self._found: dict[str, tuple[Path, Node] | None] = {}

    def find(self, field_name: str) -> tuple[Path, Node] | None:
        """The first path the field has a (non-absent) value at, and that value."""
        if field_name in self._found:
            return self._found[field_name]
        got: tuple[Path, Node] | None = None
        for path in self.profile.paths_for(field_name):
            node = resolve(self.obj, path)
            if node is None and len(path) > 1:  # a flat key spelled like the path
                node = self.obj.get(norm_key("".join(str(s) for s in path)))
            if _present(node):
                assert node is not None
                got = (path, node)
                break
        self._found[field_name] = got
        return got

    def has(self, field_name: str) -> bool:
        return self.find(field_name) is not None

    def is_receipt(self) -> bool:
        """Whether the record has a message id and a status under the profile's names."""
        return self.has("message_id") and self.has("status")

    def used_keys(self) -> set[str]:
        """The record's top-level keys that hold its fields (their objects are fields'
        values, never receipts of their own)."""
        used: set[str] = set()
        for name in FIELD_NAMES:
            found = self.find(name)
            if found is not None and isinstance(found[0][0], str):
                used.add(found[0][0])
        return used

    def get(self, field_name: str) -> str | None:
        """The field's value as text, or ``None`` when absent. Raises :class:`ParseError`
        when it is an object or list that does not say which of its values is meant."""
        found = self.find(field_name)
        if found is None:
            return None
        path, node = found
        return self._scalar(field_name, path, node)

    def _scalar(self, field_name: str, path: Path, node: Node) -> str | None:
        if isinstance(node, str):
            return node
        shown = path_text(path, _names(self.obj, path))
        if isinstance(node, list):
            present = [i for i, item in enumerate(node) if _present(item)]
            if len(present) == 1:
                return self._scalar(field_name, (*path, present[0]), node[present[0]])
            raise ParseError(
                f"{shown} holds {len(present)} values here; name the one that is the "
                f"{_WHAT[field_name]} as {shown}[{present[0] if present else 0}] in the "
                "profile's fields"
            )
        for key in INNER_KEYS[field_name]:
            inner = node.get(key)
            if isinstance(inner, str) and inner.strip() not in ABSENT:
                return inner
        names = node.names()
        # suggest a key holding words (a status name) over one holding a number (its code)
        words = [k for k, v in node.items.values() if isinstance(v, str) and not v.isdigit()]
        first = words[0] if words else (names[0] if names else "…")
        raise ParseError(
            f"{shown} is an object here (keys: {', '.join(names[:8])}); name its inner key "
            f"as {shown}.{first} in the profile's fields "
            f'([profiles.NAME] fields = {{ {field_name} = "{shown}.{first}" }})'
        )

    def key_of(self, field_name: str) -> str | None:
        """Where the field was found, spelt as the document spells it (``status.name``)."""
        found = self.find(field_name)
        return None if found is None else path_text(found[0], _names(self.obj, found[0]))

    def embedded_values(self) -> list[tuple[str, str]]:
        """The profile's ``embedded`` keys that hold text here, as written, in order."""
        out: list[tuple[str, str]] = []
        for text in self.profile.embedded:
            path = field_path(text)
            node = resolve(self.obj, path)
            if isinstance(node, str):
                out.append((path_text(path, _names(self.obj, path)), node))
        return out

    def absent_value(self, field_name: str) -> str | None:
        """The raw absent value (``null``, empty) a required field has, for messages."""
        for path in self.profile.paths_for(field_name):
            node = resolve(self.obj, path)
            if isinstance(node, str):
                return node
        return None


def _missing(f: Fields, field_name: str) -> ParseError:
    profile = f.profile
    what = _WHAT[field_name]
    absent = f.absent_value(field_name)
    if absent is not None:
        return ParseError(
            f"the receipt's {what} is {absent.strip()!r}: it must "
            + ("name the message it is about" if field_name == "message_id" else "say the state")
        )
    keys = f.obj.names()
    have = f"; it has {', '.join(keys[:10])}{', …' if len(keys) > 10 else ''}" if keys else ""
    named = dict(profile.fields)
    if field_name in named:
        return ParseError(
            f"no {named[field_name]} field ({what}){have}; profile {profile.name!r} names it "
            f"{named[field_name]!r} — check the profile's fields"
        )
    looked = ", ".join(path_text(p) for p in profile.paths_for(field_name)[:4])
    return ParseError(
        f"no {what} field (looked for {looked}, …){have}; name the provider's key in "
        f'[profiles.NAME] fields = {{ {field_name} = "…" }}'
    )


def _date(f: Fields, field_name: str, tz: tzinfo, what: str) -> datetime | None:
    value = f.get(field_name)
    if value is None:
        return None
    fmt = f.profile.date_format(field_name)
    if fmt is not None:
        return read_date(value, fmt, tz, what)
    return any_date(value, tz, what, unix=f.profile.unix_dates)


def receipt_from_fields(f: Fields, tz: tzinfo, fmt: str) -> Receipt:
    """One receipt from a record's fields; :class:`ParseError` when it is not one. A
    built-in provider's profile labels it ``keyvalue:NAME`` instead of ``fmt``."""
    profile = f.profile
    message_id = optional(f.get("message_id"))
    if message_id is None:
        raise _missing(f, "message_id")
    status = optional(f.get("status"))
    if status is None:
        raise _missing(f, "status")
    entry = profile.status(status)
    receipt = Receipt(
        message_id=message_id,
        state=entry.state,
        final=entry.final,
        provider_status=status,
        format=profile.label or fmt,
        error_code=optional(f.get("error_code")),
        submitted_at=_date(f, "submitted_at", tz, "submit date"),
        done_at=_date(f, "done_at", tz, "done date"),
        sub=count(f.get("sub"), "sub"),
        dlvrd=count(f.get("dlvrd"), "dlvrd"),
        src_addr=address(f.get("src_addr")),
        dst_addr=address(f.get("dst_addr")),
        client_ref=optional(f.get("client_ref")),
        text=optional(f.get("text")),
    )
    if profile.embedded:
        receipt = fill_from_embedded(receipt, f.embedded_values(), tz)
    # JSON escapes can spell control characters and lone surrogates: checked here
    return profile.finish(safe_receipt(receipt))
