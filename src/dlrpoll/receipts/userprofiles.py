"""Profiles users define in ``[profiles.NAME]``, checked and built.

Every problem is reported at once, by key path (``profiles.acme.states.9.state: 'DELIVERD'
is not a state``); a status with spaces is quoted in the path as TOML writes it
(``profiles.acme.states."DELIVERED TO CARRIER"``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dlrpoll.errors import ConfigError, ParseError
from dlrpoll.receipts.model import State
from dlrpoll.receipts.profiles import (
    BUILTIN_PROFILES,
    DATE_MODES,
    FIELD_NAMES,
    PROFILE_FORMATS,
    Profile,
    StatusEntry,
    norm_status,
    smpp_entry,
)
from dlrpoll.receipts.tree import norm_key, parse_path

#: Names users may write for a state in ``[profiles.NAME.states]`` (besides ``State`` names).
_STATE_ALIASES: Mapping[str, State] = {"EN_ROUTE": State.ENROUTE}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


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


def _toml_key(word: str) -> str:
    """A table key as TOML writes it in a key path: bare, or quoted when it has spaces."""
    return word if _BARE_KEY.fullmatch(word) else '"' + word.replace('"', '\\"') + '"'


def _user_profile(name: str, spec: Mapping[str, Any], problems: list[str]) -> Profile | None:
    base = f"profiles.{name}"
    before = len(problems)
    unknown = sorted(set(spec) - {"format", "fields", "states", "timezone", "dates"})
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
            try:
                parse_path(key)
            except ParseError as exc:
                problems.append(f"{base}.fields.{fname}: {exc}")
                continue
            fields.append((fname, key))
    states: list[tuple[str, StatusEntry]] = []
    raw_states = spec.get("states") or {}
    if not isinstance(raw_states, Mapping):
        problems.append(f'{base}.states: must be a table like {{ "3" = "DELIVERED" }}')
        raw_states = {}
    for word, meaning in raw_states.items():
        where = f"{base}.states.{_toml_key(str(word))}"
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
                states.append((norm_status(str(word)), smpp_entry(state)))
    dates = spec.get("dates") or "auto"
    if dates not in DATE_MODES:
        problems.append(
            f"{base}.dates: {dates!r} is not a way to read dates; use "
            + ", ".join(repr(m) for m in DATE_MODES)
        )
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
        dates=str(dates),
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
