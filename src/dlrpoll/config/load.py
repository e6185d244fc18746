"""Reading the config file: where it is looked for, TOML to :class:`Settings`, every problem
reported at once by key path (``sources[1].interval: …``), then secrets resolved."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dlrpoll.config.paths import CONFIG_ENV, default_config_path
from dlrpoll.config.secrets import Secret, resolve_secret, secret_settings
from dlrpoll.config.settings import SOURCE_KINDS, LoadedConfig, Settings
from dlrpoll.errors import ConfigError, ProfileError
from dlrpoll.receipts import AUTO, BUILTIN_PROFILES, build_profiles

_KINDS_TEXT = " or ".join(f'"{k}"' for k in SOURCE_KINDS)


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    skip_tag = False
    for part in loc:
        if skip_tag:
            skip_tag = False
            if part in SOURCE_KINDS:
                continue
        if isinstance(part, int):
            out += f"[{part}]"
            skip_tag = True
        else:
            if part in ("function-after", "function-before", "str", "SecretRef"):
                continue
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _format_errors(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for err in exc.errors():
        msg = err["msg"]
        for prefix in ("Value error, ", "Assertion failed, "):
            if msg.startswith(prefix):
                msg = msg[len(prefix) :]
        if err["type"] == "missing":
            msg = "is required"
        elif err["type"] == "extra_forbidden":
            msg = "is not a known setting (check the spelling)"
        path = _key_path(tuple(err["loc"]))
        if err["type"] == "union_tag_invalid":
            path += ".kind"
            msg = f"{err['input'].get('kind')!r} is not a source kind; use {_KINDS_TEXT}"
        elif err["type"] == "union_tag_not_found":
            path += ".kind"
            msg = f"is required: {_KINDS_TEXT}"
        line = f"{path}: {msg}"
        if line not in problems:
            problems.append(line)
    return problems


def _resolve_secrets(settings: Settings, path: Path | None) -> dict[tuple[str, ...], Secret]:
    problems: list[str] = []
    secrets: dict[tuple[str, ...], Secret] = {}
    for src in settings.sources:
        for key, val in secret_settings(src):
            where = ".".join((src.key_path, *key))
            try:
                secrets[(src.name, *key)] = resolve_secret(val, where, path)
            except ConfigError as exc:
                problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return secrets


def check_profiles(settings: Settings) -> None:
    """Every ``[profiles.NAME]`` builds and every source names a known profile."""
    problems: list[str] = []
    try:
        known = set(build_profiles({n: p.model_dump() for n, p in settings.profiles.items()}))
    except ProfileError as exc:  # the profile language's problems are the config's
        problems.extend(exc.problems)
        known = set(BUILTIN_PROFILES) | set(settings.profiles)
    known.add(AUTO)
    builtin = ", ".join((AUTO, *BUILTIN_PROFILES))
    for src in settings.sources:
        if src.profile not in known:
            problems.append(
                f"{src.key_path}.profile: unknown profile {src.profile!r}; built-in: {builtin}; "
                f"or define [profiles.{src.profile}]"
            )
    if problems:
        raise ConfigError(problems)


def parse_settings(data: Mapping[str, Any]) -> Settings:
    """Validate a parsed TOML document; every problem is reported by key path."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc)) from None
    check_profiles(settings)
    return settings


def load_config(
    path: str | os.PathLike[str] | None = None, *, resolve_secrets: bool = True
) -> LoadedConfig:
    """Read, validate and resolve the configuration at ``path`` (or the default location)."""
    file = default_config_path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: no such config file; pass --config FILE, set {CONFIG_ENV}, "
            f"or write a commented one with `dlrpoll init FILE`"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    settings = parse_settings(data)
    secrets = _resolve_secrets(settings, file) if resolve_secrets else {}
    return LoadedConfig(settings=settings, path=file, secrets=secrets)
