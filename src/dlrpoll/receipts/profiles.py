"""Provider profiles: a preferred format, field names and a status table.

A profile answers two questions a parser cannot answer alone: which key holds which field
(``fields``), and what a provider's status word or code means (``states``), including whether
it is final. Finality belongs to the status, not to the state's name: Ginota's ``4``
(accepted by the operator) is an intermediate ACCEPTED, SMPP's ``ACCEPTD`` a final one.

Status lookup goes through the profile's own table first, then through the words that name
themselves (``DELIVRD``, ``delivered``, ``failed``, ``EXPIRED``, …) which every profile
understands. A bare number is never guessed: it must be in the profile's table.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from dlrpoll.errors import ParseError
from dlrpoll.receipts.matchid import VERBATIM, MatchRule
from dlrpoll.receipts.model import Receipt, State
from dlrpoll.receipts.paths import field_path
from dlrpoll.receipts.tree import Node, Path

if TYPE_CHECKING:
    from dlrpoll.receipts.detect import Detection

#: The receipt fields a profile may name, in the order they are documented.
FIELD_NAMES: tuple[str, ...] = (
    "message_id",
    "status",
    "error_code",
    "submitted_at",
    "done_at",
    "sub",
    "dlvrd",
    "src_addr",
    "dst_addr",
    "client_ref",
    "text",
)

#: Formats a profile may prefer.
PROFILE_FORMATS: tuple[str, ...] = ("smpp", "keyvalue")

#: Names a field goes by when the profile does not name it (normalized: see :func:`norm_key`),
#: the most specific first: ``{"id": "evt-1", "messageId": "AB-1"}`` is message ``AB-1``.
COMMON_FIELD_NAMES: Mapping[str, tuple[str, ...]] = {
    "message_id": (
        "messageid",
        "msgid",
        "smsid",
        "dlrid",
        "messagereference",
        "foreignid",
        "remoteid",
        "id",
    ),
    "status": (
        "deliverystatus",
        "dlrstatus",
        "messagestatus",
        "messagestate",
        "stat",
        "status",
        "state",
        "dlr",
    ),
    "error_code": ("errorcode", "errcode", "err", "error", "reasoncode", "reason"),
    "submitted_at": ("submitdate", "submitted", "submittedat", "submittime", "senttime", "sentat"),
    "done_at": (
        "donedate",
        "done",
        "doneat",
        "donetime",
        "deliveredat",
        "deliverydate",
        "deliverytime",
        "statusdatetime",
        "statusdate",
        "statustime",
        "timestamp",
        "ts",
    ),
    "sub": ("sub",),
    "dlvrd": ("dlvrd",),
    "src_addr": ("srcaddr", "from", "src", "sender", "source", "sourceaddr", "originator", "oa"),
    "dst_addr": (
        "dstaddr",
        "to",
        "dst",
        "destination",
        "destaddr",
        "recipient",
        "receiver",
        "msisdn",
        "da",
        "phone",
    ),
    "client_ref": ("txnref", "clientref", "reference", "ref", "userref", "customerref"),
    "text": ("text", "desc", "description", "answer", "statustext"),
}

#: How a profile reads all-digit dates in key/value fields: ``auto`` (a Unix time when that
#: is the only valid reading, rejected when an SMPP date is valid too), ``smpp`` (never Unix
#: times) or ``unix`` (always). Appendix B dates are always SMPP dates.
DATE_MODES: tuple[str, ...] = ("auto", "smpp", "unix")

_NORM_STATUS_RE = re.compile(r"[\s\-]+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def norm_status(word: str) -> str:
    """A status as tables are matched: upper case, inner spaces and dashes as ``_``."""
    return _NORM_STATUS_RE.sub("_", word.strip().upper())


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """What one provider status means: a canonical state, and whether it is final."""

    state: State
    final: bool


def smpp_entry(state: State) -> StatusEntry:
    """A state with the finality SMPP gives it."""
    return StatusEntry(state, state.smpp_final)


def _smpp(state: State) -> StatusEntry:
    return StatusEntry(state, state.smpp_final)


#: Words that name their state, understood under every profile (after the profile's table),
#: as :func:`norm_status` spells them. Finality is what a careful reader gives the word:
#: SMPP's abbreviation ``ACCEPTD`` is SMPP's final ACCEPTED, but the plain word "accepted"
#: (accepted by a gateway or an operator) is an intermediate ACCEPTED; "delivered to the
#: carrier/operator/network/SMSC" is still on its way (ENROUTE), never DELIVERED.
SELF_NAMING: Mapping[str, StatusEntry] = {
    **{s.name: _smpp(s) for s in State},
    "ACCEPTED": StatusEntry(State.ACCEPTED, False),
    "EN_ROUTE": _smpp(State.ENROUTE),
    "DELIVRD": _smpp(State.DELIVERED),
    "DELIVERED": _smpp(State.DELIVERED),
    "DELIVERED_TO_HANDSET": _smpp(State.DELIVERED),
    "DELIVERED_TO_PHONE": _smpp(State.DELIVERED),
    "DELIVERED_TO_CARRIER": _smpp(State.ENROUTE),
    "DELIVERED_TO_OPERATOR": _smpp(State.ENROUTE),
    "DELIVERED_TO_NETWORK": _smpp(State.ENROUTE),
    "DELIVERED_TO_SMSC": _smpp(State.ENROUTE),
    "SUCCESS": _smpp(State.DELIVERED),
    "SUCCESSFUL": _smpp(State.DELIVERED),
    "EXPIRED": _smpp(State.EXPIRED),
    "DELETED": _smpp(State.DELETED),
    "UNDELIV": _smpp(State.UNDELIVERABLE),
    "UNDELIVERED": _smpp(State.UNDELIVERABLE),
    "NOT_DELIVERED": _smpp(State.UNDELIVERABLE),
    "COULD_NOT_BE_DELIVERED": _smpp(State.UNDELIVERABLE),
    "CANNOT_BE_DELIVERED": _smpp(State.UNDELIVERABLE),
    "CAN_NOT_BE_DELIVERED": _smpp(State.UNDELIVERABLE),
    "NOT_BEEN_DELIVERED": _smpp(State.UNDELIVERABLE),
    "DELIVERY_FAILED": _smpp(State.UNDELIVERABLE),
    "FAILED": _smpp(State.UNDELIVERABLE),
    "FAILURE": _smpp(State.UNDELIVERABLE),
    "FAIL": _smpp(State.UNDELIVERABLE),
    "ERROR": _smpp(State.UNDELIVERABLE),
    "ACCEPTD": _smpp(State.ACCEPTED),
    "REJECTD": _smpp(State.REJECTED),
    "REJECT": _smpp(State.REJECTED),
    "SENT": _smpp(State.ENROUTE),
    "PENDING": _smpp(State.ENROUTE),
    "BUFFERED": _smpp(State.ENROUTE),
    "QUEUED": _smpp(State.ENROUTE),
}


@dataclass(frozen=True)
class Profile:
    """A provider profile: preferred format, field names and status table.

    ``fields`` maps a receipt field (``message_id``, ``status``, …) to the provider's key
    (matched without regard to case or punctuation); a field named more than once is looked
    up under each name in turn (fallbacks); unnamed fields fall back to
    :data:`COMMON_FIELD_NAMES`. ``states`` maps a provider status (as :func:`norm_status`
    spells it) to its meaning; a key ending in ``*`` matches the statuses that start with
    it. ``timezone``, when set, is the zone of the provider's dates that carry none, and
    wins over the zone the caller passes. ``dates`` is how all-digit dates in key/value
    fields are read (:data:`DATE_MODES`), unless ``date_formats`` names a field's format
    (:mod:`dlrpoll.receipts.datefmt`). ``items`` are where a document's reports sit,
    ``match`` makes ``match_id`` (:mod:`dlrpoll.receipts.matchid`), ``embedded`` names keys
    that hold a whole Appendix B receipt. ``spec`` is the profile as it was written (TOML).

    A field's key may be a path into a nested document (``status.name``, ``to[0]``,
    ``receiver[number]``, ``MSG@RECEIVED``, ``#root``: :mod:`dlrpoll.receipts.paths`).
    """

    name: str
    format: str = "smpp"
    fields: tuple[tuple[str, str], ...] = ()
    states: tuple[tuple[str, StatusEntry], ...] = ()
    timezone: str | None = None
    builtin: bool = False
    dates: str = "auto"
    #: a catalogue provider's profile: built in, or the user's replacement of one
    catalogue: bool = False
    items: tuple[str, ...] = ()
    date_formats: tuple[tuple[str, str], ...] = ()
    match: MatchRule = VERBATIM
    embedded: tuple[str, ...] = ()
    spec: Mapping[str, Any] | None = field(default=None, repr=False, compare=False, hash=False)
    #: set on the ``auto`` profile only: how it picks a catalogue profile (:meth:`for_tree`)
    detection: Detection | None = field(default=None, repr=False, compare=False, hash=False)
    _state_map: Mapping[str, StatusEntry] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _prefixes: tuple[tuple[str, StatusEntry], ...] = field(
        default=(), init=False, repr=False, compare=False, hash=False
    )
    _paths: Mapping[str, tuple[Path, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _formats: Mapping[str, str] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _field_keys: frozenset[str] = field(
        default=frozenset(), init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        named: dict[str, list[Path]] = {}
        for f, key in self.fields:
            named.setdefault(f, []).append(field_path(key))
        paths = {
            f: tuple(named[f]) if f in named else tuple((k,) for k in COMMON_FIELD_NAMES[f])
            for f in FIELD_NAMES
        }
        exact = {w: e for w, e in self.states if not w.endswith("*")}
        # the longest prefix first, so PENDING_ACCEPTED_* wins over PENDING_*
        prefixes = sorted(
            ((w[:-1], e) for w, e in self.states if w.endswith("*")), key=lambda p: -len(p[0])
        )
        object.__setattr__(self, "_state_map", exact)
        object.__setattr__(self, "_prefixes", tuple(prefixes))
        object.__setattr__(self, "_paths", paths)
        object.__setattr__(self, "_formats", dict(self.date_formats))
        top = {p[0] for field_paths in paths.values() for p in field_paths}
        object.__setattr__(self, "_field_keys", frozenset(k for k in top if isinstance(k, str)))

    @property
    def field_keys(self) -> frozenset[str]:
        """The top-level keys (normalized) any field is looked up under."""
        return self._field_keys

    @property
    def unix_dates(self) -> bool | None:
        """How all-digit key/value dates are read: ``True`` Unix, ``False`` never Unix,
        ``None`` Unix only when that is the one valid reading."""
        return {"unix": True, "smpp": False}.get(self.dates)

    def date_format(self, field_name: str) -> str | None:
        """The format the profile names for a date field, if it names one."""
        return self._formats.get(field_name)

    @property
    def item_paths(self) -> tuple[Path, ...]:
        """Where a document's reports sit, in the order they are tried."""
        return tuple(field_path(p) for p in self.items)

    def paths_for(self, field_name: str) -> tuple[Path, ...]:
        """The paths a field is looked up under (normalized), most specific first."""
        return self._paths[field_name]

    @property
    def label(self) -> str | None:
        """What the ``format`` column says when this profile read a key/value receipt:
        ``keyvalue:NAME`` for a catalogue provider's profile (built in, or the user's
        replacement of it), ``None`` (the shape) otherwise."""
        return f"keyvalue:{self.name}" if self.catalogue and self.format == "keyvalue" else None

    def for_tree(self, root: Node | None) -> Profile:
        """The profile a key/value document (or record) is read with: this one, or on the
        ``auto`` profile the catalogue provider the document's keys name (:mod:`.detect`),
        else the generic profile ``auto`` stands for. Detection looks at a document's top
        only: what is read inside is read with the profile chosen there."""
        if self.detection is None:
            return self
        return self.detection.choose(root) or self.detection.generic

    def finish(self, receipt: Receipt) -> Receipt:
        """``receipt`` with its ``match_id`` made by the profile's rule (a no-op for
        ``verbatim``); :class:`ParseError` when the rule cannot apply."""
        if self.match.verbatim:
            return receipt
        return dataclasses.replace(receipt, match_id=self.match.apply(receipt.message_id))

    def field_key(self, field_name: str) -> str:
        """The key as a message to a user should name it (``MsgId``, or ``status``)."""
        for f, key in self.fields:
            if f == field_name:
                return key
        return field_name

    def status(self, word: str) -> StatusEntry:
        """The meaning of a provider status; :class:`ParseError` if the profile cannot tell."""
        got = self._state_map.get(word)  # the common case: already in canonical spelling
        if got is not None:
            return got
        key = norm_status(word)
        got = self._state_map.get(key)
        if got is None:
            for prefix, entry in self._prefixes:
                if key.startswith(prefix):
                    return entry
            if not key.isdigit():
                got = SELF_NAMING.get(key)
        if got is None:
            raise ParseError(f"unknown status {word!r} — {self._fix_hint()}")
        return got

    def _fix_hint(self) -> str:
        if self.builtin:
            return (
                f"profile {self.name!r} does not know it; use another profile (--profile) or "
                f"define [profiles.NAME] with it in states"
            )
        return f"add it to profiles.{self.name}.states"

    @property
    def tzinfo(self) -> ZoneInfo | None:
        """The profile's own zone, if it names one."""
        return ZoneInfo(self.timezone) if self.timezone else None


def state_names() -> str:
    """``SCHEDULED, ENROUTE, …`` for messages."""
    return ", ".join(s.name for s in State)


def toml_key(word: str) -> str:
    """A table key as TOML writes it in a key path: bare, or quoted when it has spaces."""
    return word if _BARE_KEY.fullmatch(word) else '"' + word.replace('"', '\\"') + '"'
