"""The provider profiles a configuration defines, compiled by the profile language.

``receipts`` compiles a ``[profiles.NAME]`` table and raises
:class:`~dlrpoll.errors.ProfileError`: it does not know where a table came from. This is
the edge where its problems become the config's: a :class:`~dlrpoll.errors.ConfigError`
with the same problems, by the same key paths (``profiles.acme.states.3: …``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from dlrpoll.errors import ConfigError, ProfileError
from dlrpoll.receipts import Profile, build_profiles, resolve_profile

if TYPE_CHECKING:
    from dlrpoll.config.settings import Settings, SourceConfig


def configured_profiles(settings: Settings) -> dict[str, Profile]:
    """The built-in profiles plus the config's ``[profiles.NAME]`` tables, by name (a
    configured profile with a built-in's name replaces it). Raises :class:`ConfigError`
    listing every problem by key path."""
    user = {name: p.model_dump(exclude_none=True) for name, p in settings.profiles.items()}
    try:
        return build_profiles(user)
    except ProfileError as exc:
        raise ConfigError(exc.problems) from None


def source_profile(profiles: Mapping[str, Profile], source: SourceConfig) -> Profile:
    """The profile ``source`` reads its items with (``auto`` over the source kind's
    fallback). Raises :class:`ConfigError` when the source names no known profile."""
    try:
        return resolve_profile(profiles, source.profile, source.auto_fallback)
    except ProfileError as exc:
        raise ConfigError(exc.problems) from None
