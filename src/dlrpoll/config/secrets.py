"""Secrets: how they are written (``{ env = … }``, ``{ file = … }``, a literal in an owner-only
file), how they are resolved, and the one place that knows which settings are secrets.

A setting is a secret when its type is :data:`SecretValue` (a literal or a reference) or when
its value is a :class:`SecretRef`; :func:`secret_settings` finds both by walking the models,
so a new source kind declares its secrets by its types alone.
"""

from __future__ import annotations

import os
import stat
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, model_validator

from dlrpoll.errors import ConfigError


class Secret:
    """A resolved secret. Its value is only reachable through :meth:`reveal`."""

    __slots__ = ("_value", "origin")

    def __init__(self, value: str, origin: str) -> None:
        self._value = value
        self.origin = origin

    def reveal(self) -> str:
        """The secret's value, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.origin}, ******)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SecretRef(BaseModel):
    """``{ env = "NAME" }`` or ``{ file = "PATH" }`` as written in the config."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError('a secret is { env = "NAME" } or { file = "PATH" }, exactly one')
        return self

    def describe(self) -> str:
        return f"env {self.env}" if self.env is not None else f"file {self.file}"


class _SecretMarker:
    """Marks a setting whose literal string value is a secret too."""


SECRET = _SecretMarker()
SecretValue = Annotated[SecretRef | str, SECRET]

#: A path of keys into one source's settings, e.g. ``("args", "password")``.
SecretKey = tuple[str, ...]


def _marked(annotation: Any) -> bool:
    """Whether a type is :data:`SecretValue`, alone or in a union (``SecretValue | None``,
    whose marker pydantic leaves inside the union rather than in the field's metadata)."""
    if typing.get_origin(annotation) is Annotated:
        return any(m is SECRET for m in typing.get_args(annotation)[1:])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_marked(arg) for arg in typing.get_args(annotation))
    return False


def secret_settings(model: BaseModel, prefix: SecretKey = ()) -> Iterator[tuple[SecretKey, Any]]:
    """Every secret setting inside ``model``: its key path and its value as written."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        key = (*prefix, name)
        if value is None:
            continue
        secret = any(m is SECRET for m in info.metadata) or _marked(info.annotation)
        if secret or isinstance(value, SecretRef):
            yield key, value
        elif isinstance(value, BaseModel):
            yield from secret_settings(value, key)
        elif isinstance(value, dict):
            every = _secret_values(info.annotation)
            for k, v in value.items():
                if every or isinstance(v, SecretRef):
                    yield (*key, str(k)), v
                elif isinstance(v, BaseModel):
                    yield from secret_settings(v, (*key, str(k)))


def _secret_values(annotation: Any) -> bool:
    """Whether a ``dict[str, SecretValue]`` setting: then every value is a secret."""
    args = typing.get_args(annotation)
    return len(args) == 2 and any(m is SECRET for m in getattr(args[1], "__metadata__", ()))


def describe(value: SecretRef | str) -> str:
    """How a secret is written, for ``check-config``: ``env:NAME``, ``file:PATH``, ``literal``."""
    if isinstance(value, SecretRef):
        return f"env:{value.env}" if value.env is not None else f"file:{value.file}"
    return "literal"


def _owner_only(path: Path | None) -> bool:
    if path is None:
        return False
    mode = path.stat().st_mode
    return not mode & (stat.S_IRWXG | stat.S_IRWXO)


def resolve_secret(value: SecretRef | str, where: str, path: Path | None) -> Secret:
    """The secret ``value`` names; ``where`` is its key path, ``path`` the config file.
    Raises :class:`ConfigError` naming the key and the fix."""
    if isinstance(value, str):
        if not _owner_only(path):
            raise ConfigError(
                f"{where}: a literal secret is only accepted when the config file is readable "
                f'by its owner alone (chmod 600 {path}); or write {{ env = "NAME" }} '
                f'or {{ file = "PATH" }}'
            )
        return Secret(value, "literal")
    if value.env is not None:
        got = os.environ.get(value.env)
        if got is None:
            raise ConfigError(f"{where}: environment variable {value.env} is not set")
        return Secret(got, f"env {value.env}")
    assert value.file is not None
    file = Path(value.file).expanduser()
    if not file.is_absolute() and path is not None:
        file = path.parent / file
    try:
        text = file.read_text(encoding="utf-8")
        mode = file.stat().st_mode
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read secret file {file}: {exc.strerror}") from exc
    if mode & stat.S_IROTH:
        # as for a literal in a world-readable config: every user of the host could read it
        raise ConfigError(
            f"{where}: secret file {file} is readable by every user (mode "
            f"{stat.S_IMODE(mode):04o}); chmod o-rwx {file} (600, or 640 with a group)"
        )
    return Secret(text.rstrip("\r\n"), f"file {file}")
