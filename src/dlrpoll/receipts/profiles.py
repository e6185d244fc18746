"""Provider profiles: a format, field names and a status table (stub, being written)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    name: str
    format: str


BUILTIN_PROFILES: dict[str, Profile] = {}


def build_profiles(user: Mapping[str, Mapping[str, Any]]) -> dict[str, Profile]:
    """Built-in profiles plus the user's ``[profiles.NAME]`` tables, by name."""
    raise NotImplementedError
