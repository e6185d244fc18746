"""The profile language: a ``[profiles.NAME]`` table (or a catalogue entry, written the same
way) compiled into a :class:`~dlrpoll.receipts.profiles.Profile`, every problem reported by
key path.

======================  ==========================================================================
``format``              ``"keyvalue"`` (default) or ``"smpp"``: the format that breaks ties
``fields``              receipt field → the provider's key, a path (``status.name``,
                        ``to[0].phone_number``, ``MSG@RECEIVED``, ``#root``), or a list of them
                        tried in order (``message_id = ["MessageSid", "SmsSid"]``)
``items``               where several reports sit in one document (``"results"``), or a list of
                        places; each item becomes a receipt and fields are read inside it. A
                        document where no such place exists is one report
``dates``               a format per date field (``{ done_at = "epoch" }``: ``smpp``, ``iso``,
                        ``epoch``, ``epoch-ms`` or a strftime pattern), or one way to read every
                        all-digit date (``"auto"``, ``"smpp"``, ``"unix"``)
``timezone``            the zone of the provider's dates that carry none
``states``              provider status → state, or ``{ state = …, final = … }``; matched
                        without regard to case, spaces and dashes; a key ending in ``*``
                        matches every status that starts with it (the longest such key wins;
                        an exact key wins over all of them)
``match_id``            how ``match_id`` is made from the message id (:mod:`.matchid`)
``embedded``            keys whose value is a whole Appendix B receipt (Kannel's ``%A``): its
                        fields fill what the outer receipt does not say
======================  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dlrpoll.errors import ParseError, ProfileError
from dlrpoll.receipts.datefmt import check_format
from dlrpoll.receipts.matchid import VERBATIM, match_rule
from dlrpoll.receipts.model import State
from dlrpoll.receipts.paths import field_path
from dlrpoll.receipts.profiles import (
    DATE_MODES,
    FIELD_NAMES,
    PROFILE_FORMATS,
    Profile,
    StatusEntry,
    norm_status,
    state_names,
    toml_key,
)

#: The settings a profile may have.
SETTINGS: tuple[str, ...] = (
    "format",
    "fields",
    "items",
    "dates",
    "timezone",
    "states",
    "match_id",
    "embedded",
)
_DATE_FIELDS = ("submitted_at", "done_at")
#: Names users may write for a state besides ``State`` names.
_STATE_ALIASES: Mapping[str, State] = {"EN_ROUTE": State.ENROUTE}


def _state(value: object, where: str, problems: list[str]) -> State | None:
    if isinstance(value, str):
        key = norm_status(value)
        if key in State.__members__:
            return State[key]
        if key in _STATE_ALIASES:
            return _STATE_ALIASES[key]
    problems.append(f"{where}: {value!r} is not a state; use one of {state_names()}")
    return None


def _paths(value: object, where: str, example: str, problems: list[str]) -> list[str]:
    """A path or a list of paths, each checked; problems by key path."""
    items = value if isinstance(value, list) else [value]
    if not items:
        problems.append(f'{where}: an empty list names nothing; write e.g. "{example}"')
    out: list[str] = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]" if isinstance(value, list) else where
        if not isinstance(item, str) or not item.strip():
            problems.append(f'{at}: must name the provider\'s key or a path, e.g. "{example}"')
            continue
        try:
            field_path(item)
        except ParseError as exc:
            problems.append(f"{at}: {exc}")
            continue
        out.append(item)
    return out


def _fields(spec: Mapping[str, Any], base: str, problems: list[str]) -> list[tuple[str, str]]:
    raw = spec.get("fields") or {}
    if not isinstance(raw, Mapping):
        problems.append(f'{base}.fields: must be a table like {{ message_id = "MsgId" }}')
        return []
    out: list[tuple[str, str]] = []
    for fname, value in raw.items():
        where = f"{base}.fields.{toml_key(str(fname))}"
        if fname not in FIELD_NAMES:
            problems.append(f"{where}: not a receipt field; use one of {', '.join(FIELD_NAMES)}")
            continue
        out += [(fname, p) for p in _paths(value, where, "status.name", problems)]
    return out


def _states(
    spec: Mapping[str, Any], base: str, problems: list[str]
) -> list[tuple[str, StatusEntry]]:
    raw = spec.get("states") or {}
    if not isinstance(raw, Mapping):
        problems.append(f'{base}.states: must be a table like {{ "3" = "DELIVERED" }}')
        return []
    out: list[tuple[str, StatusEntry]] = []
    for word, meaning in raw.items():
        where = f"{base}.states.{toml_key(str(word))}"
        if not norm_status(str(word)).rstrip("*"):
            problems.append(f"{where}: an empty status cannot be matched; remove it")
            continue
        if isinstance(meaning, Mapping):
            for key in sorted(set(meaning) - {"state", "final"}):
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
                entry = StatusEntry(state, state.smpp_final if final is None else final)
                out.append((norm_status(str(word)), entry))
        else:
            state = _state(meaning, where, problems)
            if state is not None:
                out.append((norm_status(str(word)), StatusEntry(state, state.smpp_final)))
    return out


def _dates(
    spec: Mapping[str, Any], base: str, problems: list[str]
) -> tuple[str, list[tuple[str, str]]]:
    """The way all-digit dates are read (``auto``/``smpp``/``unix``) and formats per field."""
    raw = spec.get("dates")
    if raw is None:
        return "auto", []
    if isinstance(raw, str):
        if raw not in DATE_MODES:
            problems.append(
                f"{base}.dates: {raw!r} is not a way to read dates; use "
                + ", ".join(repr(m) for m in DATE_MODES)
                + ', or a format per field like { done_at = "epoch" }'
            )
        return raw, []
    if not isinstance(raw, Mapping):
        problems.append(f'{base}.dates: must be a table like {{ done_at = "epoch" }}')
        return "auto", []
    out: list[tuple[str, str]] = []
    for fname, fmt in raw.items():
        where = f"{base}.dates.{toml_key(str(fname))}"
        if fname not in _DATE_FIELDS:
            problems.append(f"{where}: not a date field; use submitted_at or done_at")
            continue
        why = check_format(fmt)
        if why is not None:
            problems.append(f"{where}: {why}")
            continue
        out.append((str(fname), str(fmt)))
    return "auto", out


def compile_profile(
    name: str,
    spec: Mapping[str, Any],
    problems: list[str],
    *,
    builtin: bool = False,
    catalogue: bool = False,
) -> Profile | None:
    """A profile from its table; problems are appended by key path, and ``None`` returned
    when there are any. ``None`` values count as absent (a settings model's defaults)."""
    spec = {k: v for k, v in spec.items() if v is not None}
    base = f"profiles.{toml_key(name)}"
    before = len(problems)
    for key in sorted(set(spec) - set(SETTINGS)):
        problems.append(f"{base}.{toml_key(key)}: is not a known setting (check the spelling)")
    fmt = spec.get("format", "keyvalue")
    if fmt not in PROFILE_FORMATS:
        problems.append(f"{base}.format: {fmt!r} is not a format; use 'smpp' or 'keyvalue'")
    fields = _fields(spec, base, problems)
    items = _paths(spec["items"], f"{base}.items", "results", problems) if "items" in spec else []
    dates, formats = _dates(spec, base, problems)
    states = _states(spec, base, problems)
    timezone = spec.get("timezone")
    if timezone is not None:
        try:
            ZoneInfo(str(timezone))
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                f"{base}.timezone: unknown time zone {timezone!r}; use an IANA name like 'UTC'"
            )
    match = VERBATIM
    if "match_id" in spec:
        match = match_rule(spec["match_id"], f"{base}.match_id", problems) or VERBATIM
        if match.verbatim:
            match = VERBATIM  # one object, so the hot path tests identity
    embedded = (
        _paths(spec["embedded"], f"{base}.embedded", "answer", problems)
        if "embedded" in spec
        else []
    )
    if len(problems) > before:
        return None
    return Profile(
        name,
        str(fmt),
        fields=tuple(fields),
        states=tuple(states),
        timezone=None if timezone is None else str(timezone),
        builtin=builtin,
        catalogue=catalogue or builtin,
        dates=str(dates),
        items=tuple(items),
        date_formats=tuple(formats),
        match=match,
        embedded=tuple(embedded),
        spec=spec,
    )


def build_profiles(
    user: Mapping[str, Mapping[str, Any]], builtin: Mapping[str, Profile]
) -> dict[str, Profile]:
    """``builtin`` profiles plus the user's ``[profiles.NAME]`` tables, by name.

    A user profile with a built-in's name replaces it. Every problem is reported at once as
    a :class:`~dlrpoll.errors.ProfileError` naming its key path.
    """
    profiles = dict(builtin)
    problems: list[str] = []
    for name, spec in user.items():
        if name == "auto":
            problems.append(
                'profiles.auto: "auto" is the detecting profile and cannot be defined; '
                "choose another name"
            )
            continue
        if not isinstance(spec, Mapping):
            problems.append(f"profiles.{toml_key(name)}: must be a table ([profiles.NAME])")
            continue
        replaced = builtin.get(name)
        built = compile_profile(
            name, spec, problems, catalogue=replaced is not None and replaced.catalogue
        )
        if built is not None:
            profiles[name] = built
    if problems:
        raise ProfileError(problems)
    return profiles
