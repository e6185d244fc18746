"""TOML configuration to validated, frozen settings.

Every error names its key path (``sources[1].interval: 90s is below the provider minimum of
2m``) and :func:`load_config` reports all of them at once. Secrets are written as
``{ env = "NAME" }`` or ``{ file = "PATH" }``; a literal string is accepted only when the
config file is readable by its owner alone. Resolved secrets are :class:`Secret` objects
that never show their value in ``repr``, logs or ``check-config``.

Modules: ``values`` (durations, sizes), ``secrets`` (how secrets are written and resolved,
and which settings are secrets), ``source_base`` and one module per source kind,
``settings`` (the file as a whole), ``paths`` (where the file is looked for), ``load``
(reading it).

The names below are imported on first use (PEP 562), so that ``dlrpoll parse`` and
``dlrpoll --version`` can ask :func:`default_config_path` without importing pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dlrpoll.errors import ConfigError

if TYPE_CHECKING:
    from dlrpoll.config.imap import (
        ImapSourceConfig,
    )
    from dlrpoll.config.load import (
        check_profiles,
        load_config,
        parse_settings,
    )
    from dlrpoll.config.oauth import (
        AuthConfig,
        GoogleToken,
        MicrosoftToken,
        TokenConfig,
    )
    from dlrpoll.config.paths import (
        CONFIG_ENV,
        DEFAULT_CONFIG_NAME,
        default_config_path,
    )
    from dlrpoll.config.pop3 import (
        Pop3SourceConfig,
    )
    from dlrpoll.config.profiles import (
        configured_profiles,
        source_profile,
    )
    from dlrpoll.config.secrets import (
        Secret,
        SecretRef,
        SecretValue,
        describe,
        secret_settings,
    )
    from dlrpoll.config.settings import (
        SOURCE_KINDS,
        DatabaseConfig,
        LoadedConfig,
        ProfileConfig,
        RetentionConfig,
        Settings,
        SourceConfig,
    )
    from dlrpoll.config.soap import (
        SoapSourceConfig,
    )
    from dlrpoll.config.source_base import (
        SourceBase,
    )
    from dlrpoll.config.values import (
        MIN_INTERVAL_SECONDS,
        Duration,
        Size,
        format_duration,
        format_size,
        parse_duration,
        parse_size,
    )

#: public name → the submodule that defines it
_HOMES: dict[str, str] = {
    "AuthConfig": "oauth",
    "GoogleToken": "oauth",
    "ImapSourceConfig": "imap",
    "MicrosoftToken": "oauth",
    "TokenConfig": "oauth",
    "CONFIG_ENV": "paths",
    "DEFAULT_CONFIG_NAME": "paths",
    "DatabaseConfig": "settings",
    "Duration": "values",
    "LoadedConfig": "settings",
    "MIN_INTERVAL_SECONDS": "values",
    "Pop3SourceConfig": "pop3",
    "ProfileConfig": "settings",
    "RetentionConfig": "settings",
    "SOURCE_KINDS": "settings",
    "Secret": "secrets",
    "SecretRef": "secrets",
    "SecretValue": "secrets",
    "Settings": "settings",
    "Size": "values",
    "SoapSourceConfig": "soap",
    "SourceBase": "source_base",
    "SourceConfig": "settings",
    "check_profiles": "load",
    "configured_profiles": "profiles",
    "default_config_path": "paths",
    "describe": "secrets",
    "format_duration": "values",
    "format_size": "values",
    "load_config": "load",
    "parse_duration": "values",
    "parse_settings": "load",
    "parse_size": "values",
    "secret_settings": "secrets",
    "source_profile": "profiles",
}

__all__ = [
    "CONFIG_ENV",
    "AuthConfig",
    "ConfigError",
    "DEFAULT_CONFIG_NAME",
    "DatabaseConfig",
    "Duration",
    "GoogleToken",
    "ImapSourceConfig",
    "LoadedConfig",
    "MIN_INTERVAL_SECONDS",
    "MicrosoftToken",
    "Pop3SourceConfig",
    "ProfileConfig",
    "RetentionConfig",
    "SOURCE_KINDS",
    "Secret",
    "SecretRef",
    "SecretValue",
    "Settings",
    "Size",
    "SoapSourceConfig",
    "SourceBase",
    "SourceConfig",
    "TokenConfig",
    "check_profiles",
    "configured_profiles",
    "default_config_path",
    "describe",
    "format_duration",
    "format_size",
    "load_config",
    "parse_duration",
    "parse_settings",
    "parse_size",
    "secret_settings",
    "source_profile",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dlrpoll.config' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dlrpoll.config.{home}"), name)
    globals()[name] = value  # next time without __getattr__
    return value
