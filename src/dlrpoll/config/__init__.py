"""TOML configuration to validated, frozen settings.

Every error names its key path (``sources[1].interval: 90s is below the provider minimum of
2m``) and :func:`load_config` reports all of them at once. Secrets are written as
``{ env = "NAME" }`` or ``{ file = "PATH" }``; a literal string is accepted only when the
config file is readable by its owner alone. Resolved secrets are :class:`Secret` objects
that never show their value in ``repr``, logs or ``check-config``.

Modules: ``values`` (durations, sizes), ``secrets`` (how secrets are written and resolved,
and which settings are secrets), ``source_base`` and one module per source kind,
``settings`` (the file as a whole), ``load`` (reading it).
"""

from dlrpoll.config.imap import ImapSourceConfig
from dlrpoll.config.load import (
    CONFIG_ENV,
    DEFAULT_CONFIG_NAME,
    check_profiles,
    default_config_path,
    load_config,
    parse_settings,
)
from dlrpoll.config.oauth import AuthConfig, GoogleToken, MicrosoftToken, TokenConfig
from dlrpoll.config.pop3 import Pop3SourceConfig
from dlrpoll.config.secrets import Secret, SecretRef, SecretValue, describe, secret_settings
from dlrpoll.config.settings import (
    SOURCE_KINDS,
    DatabaseConfig,
    LoadedConfig,
    ProfileConfig,
    Settings,
    SourceConfig,
)
from dlrpoll.config.soap import SoapSourceConfig
from dlrpoll.config.source_base import SourceBase
from dlrpoll.config.values import (
    MIN_INTERVAL_SECONDS,
    Duration,
    Size,
    format_duration,
    format_size,
    parse_duration,
    parse_size,
)
from dlrpoll.errors import ConfigError

__all__ = [
    "CONFIG_ENV",
    "AuthConfig",
    "DEFAULT_CONFIG_NAME",
    "MIN_INTERVAL_SECONDS",
    "SOURCE_KINDS",
    "ConfigError",
    "DatabaseConfig",
    "Duration",
    "GoogleToken",
    "ImapSourceConfig",
    "LoadedConfig",
    "MicrosoftToken",
    "Pop3SourceConfig",
    "ProfileConfig",
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
    "default_config_path",
    "describe",
    "format_duration",
    "format_size",
    "load_config",
    "parse_duration",
    "parse_settings",
    "parse_size",
    "secret_settings",
]
