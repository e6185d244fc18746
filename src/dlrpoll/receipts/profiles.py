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

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dlrpoll.errors import ConfigError, ParseError
from dlrpoll.receipts.model import State

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

#: Names a field goes by when the profile does not name it (normalized: see :func:`norm_key`).
COMMON_FIELD_NAMES: Mapping[str, tuple[str, ...]] = {
    "message_id": (
        "id",
        "messageid",
        "msgid",
        "smsid",
        "dlrid",
        "messagereference",
        "foreignid",
        "remoteid",
    ),
    "status": (
        "stat",
        "status",
        "deliverystatus",
        "dlrstatus",
        "state",
        "messagestate",
        "messagestatus",
        "dlr",
    ),
    "error_code": ("err", "error", "errorcode", "errcode", "reason", "reasoncode"),
    "submitted_at": ("submitdate", "submitted", "submittedat", "submittime", "senttime", "sentat"),
    "done_at": ("donedate", "done", "doneat", "donetime", "deliveredat", "timestamp", "ts"),
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
        "msisdn",
        "da",
        "phone",
    ),
    "client_ref": ("txnref", "clientref", "reference", "ref", "userref", "customerref"),
    "text": ("text", "desc", "description", "answer", "statustext"),
}

_NORM_KEY_RE = re.compile(r"[^0-9a-z]+")
_NORM_STATUS_RE = re.compile(r"[\s\-]+")


def norm_key(key: str) -> str:
    """A key as fields are matched: lower case, letters and digits only (``Done Date`` →
    ``donedate``, ``message_id`` → ``messageid``)."""
    return _NORM_KEY_RE.sub("", key.lower())


def norm_status(word: str) -> str:
    """A status as tables are matched: upper case, inner spaces and dashes as ``_``."""
    return _NORM_STATUS_RE.sub("_", word.strip().upper())


@dataclass(frozen=True, slots=True)
class StatusEntry:
    """What one provider status means: a canonical state, and whether it is final."""

    state: State
    final: bool


def _smpp(state: State) -> StatusEntry:
    return StatusEntry(state, state.smpp_final)


#: Words that name their state, understood under every profile (after the profile's table).
SELF_NAMING: Mapping[str, StatusEntry] = {
    **{s.name: _smpp(s) for s in State},
    "EN_ROUTE": _smpp(State.ENROUTE),
    "DELIVRD": _smpp(State.DELIVERED),
    "DELIVERED": _smpp(State.DELIVERED),
    "EXPIRED": _smpp(State.EXPIRED),
    "DELETED": _smpp(State.DELETED),
    "UNDELIV": _smpp(State.UNDELIVERABLE),
    "UNDELIVERED": _smpp(State.UNDELIVERABLE),
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

#: Names users may write for a state in ``[profiles.NAME.states]`` (besides ``State`` names).
_STATE_ALIASES: Mapping[str, State] = {"EN_ROUTE": State.ENROUTE}


@dataclass(frozen=True)
class Profile:
    """A provider profile: preferred format, field names and status table.

    ``fields`` maps a receipt field (``message_id``, ``status``, …) to the provider's key
    (matched without regard to case or punctuation); unnamed fields fall back to
    :data:`COMMON_FIELD_NAMES`. ``states`` maps a provider status (as :func:`norm_status`
    spells it) to its meaning. ``timezone``, when set, is the zone of the provider's dates
    that carry none, and wins over the zone the caller passes. ``epoch_dates`` reads
    all-digit dates in key/value receipts as Unix seconds (Kannel's ``%T``).
    """

    name: str
    format: str = "smpp"
    fields: tuple[tuple[str, str], ...] = ()
    states: tuple[tuple[str, StatusEntry], ...] = ()
    timezone: str | None = None
    builtin: bool = False
    epoch_dates: bool = False
    _state_map: Mapping[str, StatusEntry] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _keys: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        named = {f: norm_key(k) for f, k in self.fields}
        keys = {f: (named[f],) if f in named else COMMON_FIELD_NAMES[f] for f in FIELD_NAMES}
        object.__setattr__(self, "_state_map", dict(self.states))
        object.__setattr__(self, "_keys", keys)

    def keys_for(self, field_name: str) -> tuple[str, ...]:
        """The normalized keys a field is looked up under, most specific first."""
        return self._keys[field_name]

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
        if got is None and not key.isdigit():
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


def _table(
    entries: Mapping[str, State | tuple[State, bool]],
) -> tuple[tuple[str, StatusEntry], ...]:
    out: list[tuple[str, StatusEntry]] = []
    for word, meaning in entries.items():
        if isinstance(meaning, tuple):
            out.append((norm_status(word), StatusEntry(*meaning)))
        else:
            out.append((norm_status(word), _smpp(meaning)))
    return tuple(out)


_SMPP_TABLE = _table(
    {
        "DELIVRD": State.DELIVERED,
        "EXPIRED": State.EXPIRED,
        "DELETED": State.DELETED,
        "UNDELIV": State.UNDELIVERABLE,
        "ACCEPTD": State.ACCEPTED,
        "UNKNOWN": State.UNKNOWN,
        "REJECTD": State.REJECTED,
        "ENROUTE": State.ENROUTE,
        "EN_ROUTE": State.ENROUTE,
        "SCHEDULED": State.SCHEDULED,
        "SKIPPED": State.SKIPPED,
    }
)

BUILTIN_PROFILES: dict[str, Profile] = {
    "smpp": Profile("smpp", "smpp", states=_SMPP_TABLE, builtin=True),
    "ginota": Profile(
        "ginota",
        "keyvalue",
        fields=(
            ("message_id", "messageId"),
            ("status", "deliveryStatus"),
            ("text", "desc"),
            ("src_addr", "srcAddr"),
            ("dst_addr", "dstAddr"),
            ("client_ref", "txnRef"),
        ),
        states=_table(
            {
                "0": State.DELIVERED,
                "1": State.EXPIRED,
                "3": State.UNDELIVERABLE,
                # accepted by the mobile operator: the handset may still not get it
                "4": (State.ACCEPTED, False),
                "5": State.UNKNOWN,
                "6": State.REJECTED,
            }
        ),
        builtin=True,
    ),
    "kannel": Profile(
        "kannel",
        "keyvalue",
        states=_table(
            {
                "1": State.DELIVERED,
                "2": State.UNDELIVERABLE,
                "4": State.ENROUTE,  # queued on the SMSC
                "8": (State.ACCEPTED, False),  # SMSC accepted the submit (ack)
                "16": State.REJECTED,  # SMSC rejected the submit (nack)
            }
        ),
        builtin=True,
        epoch_dates=True,
    ),
    "upside": Profile(
        "upside",
        "smpp",
        states=_table(
            {
                "DELIVRD": State.DELIVERED,
                "ERROR": State.UNDELIVERABLE,
                "FAILED": State.UNDELIVERABLE,
                "REJECTD": State.REJECTED,
                "UNIDNTFY": State.UNKNOWN,
                "UNKNOWN": State.UNKNOWN,
                # "keep trying": the provider may still report a final state
                "SENT": (State.ENROUTE, False),
                "UNDELIV": (State.UNDELIVERABLE, False),
                "UNDETRM": (State.UNKNOWN, False),
            }
        ),
        builtin=True,
    ),
}


def state_names() -> str:
    """``SCHEDULED, ENROUTE, …`` for messages."""
    return ", ".join(s.name for s in State)


def _state(value: object, where: str, problems: list[str]) -> State | None:
    if isinstance(value, str):
        key = norm_status(value)
        if key in State.__members__:
            return State[key]
        if key in _STATE_ALIASES:
            return _STATE_ALIASES[key]
    problems.append(f"{where}: {value!r} is not a state; use one of {state_names()}")
    return None


def _user_profile(name: str, spec: Mapping[str, Any], problems: list[str]) -> Profile | None:
    base = f"profiles.{name}"
    before = len(problems)
    unknown = sorted(set(spec) - {"format", "fields", "states", "timezone"})
    for key in unknown:
        problems.append(f"{base}.{key}: is not a known setting (check the spelling)")
    fmt = spec.get("format", "keyvalue")
    if fmt not in PROFILE_FORMATS:
        problems.append(f"{base}.format: {fmt!r} is not a format; use 'smpp' or 'keyvalue'")
    fields: list[tuple[str, str]] = []
    raw_fields = spec.get("fields") or {}
    if not isinstance(raw_fields, Mapping):
        problems.append(f'{base}.fields: must be a table like {{ message_id = "MsgId" }}')
        raw_fields = {}
    for fname, key in raw_fields.items():
        if fname not in FIELD_NAMES:
            problems.append(
                f"{base}.fields.{fname}: not a receipt field; use one of {', '.join(FIELD_NAMES)}"
            )
        elif not isinstance(key, str) or not norm_key(key):
            problems.append(f'{base}.fields.{fname}: must name the provider\'s key, e.g. "Id"')
        else:
            fields.append((fname, key))
    states: list[tuple[str, StatusEntry]] = []
    raw_states = spec.get("states") or {}
    if not isinstance(raw_states, Mapping):
        problems.append(f'{base}.states: must be a table like {{ "3" = "DELIVERED" }}')
        raw_states = {}
    for word, meaning in raw_states.items():
        where = f"{base}.states.{word}"
        if not str(word).strip():
            problems.append(f"{where}: an empty status cannot be matched; remove it")
            continue
        if isinstance(meaning, Mapping):
            extra = sorted(set(meaning) - {"state", "final"})
            for key in extra:
                problems.append(f"{where}.{key}: is not a known setting; use state and final")
            if "state" not in meaning:
                problems.append(f'{where}.state: is required, e.g. {{ state = "DELIVERED" }}')
                continue
            state = _state(meaning["state"], f"{where}.state", problems)
            final = meaning.get("final")
            if final is not None and not isinstance(final, bool):
                problems.append(f"{where}.final: must be true or false")
                continue
            if state is not None:
                states.append(
                    (
                        norm_status(str(word)),
                        StatusEntry(state, state.smpp_final if final is None else final),
                    )
                )
        else:
            state = _state(meaning, where, problems)
            if state is not None:
                states.append((norm_status(str(word)), _smpp(state)))
    timezone = spec.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"{base}.timezone: unknown time zone {timezone!r}; use an IANA name like 'UTC'"
            )
    if len(problems) > before:
        return None
    return Profile(
        name,
        str(fmt),
        fields=tuple(fields),
        states=tuple(states),
        timezone=None if timezone is None else str(timezone),
    )


def build_profiles(user: Mapping[str, Mapping[str, Any]]) -> dict[str, Profile]:
    """Built-in profiles plus the user's ``[profiles.NAME]`` tables, by name.

    A user profile with a built-in's name replaces it. Every problem is reported at once as
    a :class:`~dlrpoll.errors.ConfigError` naming its key path.
    """
    profiles = dict(BUILTIN_PROFILES)
    problems: list[str] = []
    for name, spec in user.items():
        if not isinstance(spec, Mapping):
            problems.append(f"profiles.{name}: must be a table ([profiles.{name}])")
            continue
        built = _user_profile(name, spec, problems)
        if built is not None:
            profiles[name] = built
    if problems:
        raise ConfigError(problems)
    return profiles
