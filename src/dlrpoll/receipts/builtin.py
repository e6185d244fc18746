"""The built-in profiles (the catalogue, compiled), the user's added to them, and ``auto``.

``auto`` is the profile of a source that names none: a key/value receipt whose keys identify
one catalogue provider (:mod:`.detect`) is read with that provider's profile — the user's
own, when the config replaces a built-in — and anything else exactly as the source kind's
former default reads it (``smpp`` for mailboxes, ``upside`` for the SOAP inbox), so a source
that relied on that default reads the same receipts the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from dlrpoll.errors import ProfileError
from dlrpoll.receipts.catalogue import PROVIDERS
from dlrpoll.receipts.detect import Detection, detector
from dlrpoll.receipts.profiles import Profile
from dlrpoll.receipts.spec import build_profiles as _build
from dlrpoll.receipts.spec import compile_profile

#: The name of the detecting profile.
AUTO = "auto"
#: The profile ``auto`` reads undetected receipts with, when the caller names none.
DEFAULT_FALLBACK = "smpp"


def _compile_builtins() -> dict[str, Profile]:
    problems: list[str] = []
    out: dict[str, Profile] = {}
    for name, provider in PROVIDERS.items():
        profile = compile_profile(name, provider.spec, problems, builtin=True)
        if profile is not None:
            out[name] = profile
    if problems:  # a bug in the catalogue: fail at import, not in a poll
        raise ProfileError(problems)
    return out


#: Every built-in profile by name, in catalogue order.
BUILTIN_PROFILES: Mapping[str, Profile] = _compile_builtins()
_DETECTOR = detector(PROVIDERS)


def build_profiles(user: Mapping[str, Mapping[str, Any]]) -> dict[str, Profile]:
    """Built-in profiles plus the user's ``[profiles.NAME]`` tables, by name (a user profile
    with a built-in's name replaces it). Raises :class:`ProfileError` listing every problem
    by key path."""
    return _build(user, BUILTIN_PROFILES)


def auto_profile(profiles: Mapping[str, Profile], fallback: str = DEFAULT_FALLBACK) -> Profile:
    """The ``auto`` profile over ``profiles``: detection, else ``profiles[fallback]``."""
    base = profiles[fallback]
    detection = Detection(_DETECTOR, {n: profiles[n] for n in PROVIDERS if n in profiles}, base)
    return dataclasses.replace(base, name=AUTO, detection=detection)


def resolve_profile(
    profiles: Mapping[str, Profile], name: str, fallback: str = DEFAULT_FALLBACK
) -> Profile:
    """The profile called ``name`` (``auto`` included); :class:`ProfileError` if unknown."""
    if name == AUTO:
        return auto_profile(profiles, fallback)
    try:
        return profiles[name]
    except KeyError:
        raise ProfileError(
            f"unknown profile {name!r}; known: auto, {', '.join(profiles)}; "
            f"or define [profiles.{name}] in the config"
        ) from None
