"""The whole configuration file as typed, frozen settings, and the config with its secrets
resolved (:class:`LoadedConfig`)."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from dlrpoll.config.imap import ImapSourceConfig
from dlrpoll.config.pop3 import Pop3SourceConfig
from dlrpoll.config.secrets import Secret, SecretKey
from dlrpoll.config.soap import SoapSourceConfig
from dlrpoll.config.source_base import LeaseTtl, Model
from dlrpoll.config.values import Duration, parse_duration
from dlrpoll.errors import ConfigError

#: One entry per source kind; a new kind adds its settings class here and nowhere else in
#: config (its secrets are found by type, see ``secrets.secret_settings``).
AnySourceConfig = Pop3SourceConfig | SoapSourceConfig | ImapSourceConfig
SourceConfig = Annotated[AnySourceConfig, Field(discriminator="kind")]
SOURCE_KINDS: tuple[str, ...] = tuple(
    typing.get_args(c.model_fields["kind"].annotation)[0] for c in typing.get_args(AnySourceConfig)
)


class DatabaseConfig(Model):
    """``[database]``: ``path`` (SQLite file) or ``url`` (any SQLAlchemy URL)."""

    path: str = "dlrpoll.sqlite"
    url: str | None = None
    busy_timeout: Duration = 30.0
    #: how far ahead a poll's lease on its source runs; renewed every third of it
    lease_ttl: LeaseTtl = 60.0


class ProfileConfig(Model):
    """``[profiles.NAME]``: a provider profile users define without code.

    Only the settings' names are checked here; their values are checked, each problem by
    key path, by the profile language (:mod:`dlrpoll.receipts.spec`). ``None`` means not set.
    """

    format: Literal["smpp", "keyvalue"] | None = None
    fields: dict[str, Any] | None = None
    items: Any = None
    dates: Any = None
    timezone: str | None = None
    states: dict[str, Any] | None = None
    match_id: Any = None
    embedded: Any = None


def _keep(value: object) -> float | None:
    """A retention: a duration of at least a day, or ``"forever"`` (never pruned)."""
    if isinstance(value, str) and value.strip().lower() == "forever":
        return None
    seconds = parse_duration(value)
    if seconds < 86400:
        raise ValueError(f"{value!r} is less than a day; write e.g. '90d', or 'forever'")
    return seconds


#: seconds, or None for "forever"
Keep = Annotated[float | None, BeforeValidator(_keep)]


class RetentionConfig(Model):
    """``[retention]``: how long what dlrpoll no longer needs is kept; applied once a day by
    the daemon and by ``dlrpoll prune``. Receipts are never pruned."""

    #: raw bytes of items that were stored (or dismissed from quarantine); their journal
    #: row, keys and reason stay, so dedupe still recognises a message left on a server
    raw_payloads: Keep = 90 * 86400.0
    #: poll_runs rows other than skipped ones (each source's latest run of each outcome
    #: stays, so status and the metrics keep the last success)
    poll_runs: Keep = 90 * 86400.0
    #: skipped poll_runs rows (every cron run adds one per source not due)
    skipped_polls: Keep = 7 * 86400.0


class Settings(Model):
    """The whole configuration file."""

    database: DatabaseConfig = DatabaseConfig()
    retention: RetentionConfig = RetentionConfig()
    profiles: dict[str, ProfileConfig] = Field(default_factory=dict)
    sources: list[SourceConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        seen: set[str] = set()
        for src in self.sources:
            if src.name in seen:
                raise ValueError(f"two sources are named {src.name!r}; names must be unique")
            seen.add(src.name)
        return self

    @model_validator(mode="after")
    def _place_sources(self) -> Settings:
        # each source knows its key path (sources[2]) for the messages of the layers that
        # use it at run time; a source object placed elsewhere before is copied, not moved
        for i, src in enumerate(self.sources):
            if src._position is not None and src._position != i:
                src = self.sources[i] = src.model_copy()
            src._position = i
        return self

    def source(self, name: str) -> SourceConfig:
        for src in self.sources:
            if src.name == name:
                return src
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"no source named {name!r} (sources: {known})")


@dataclass(frozen=True)
class LoadedConfig:
    """Settings with their secrets resolved and where they came from."""

    settings: Settings
    path: Path | None
    secrets: Mapping[tuple[str, ...], Secret]

    def source_secrets(self, source: str) -> dict[SecretKey, Secret]:
        """Every resolved secret of one source, by its key path inside the source."""
        return dict(self._secrets_by_source.get(source, {}))

    @cached_property
    def _secrets_by_source(self) -> dict[str, dict[SecretKey, Secret]]:
        # indexed once: a daemon sets up every source, and a scan of all secrets per source
        # took most of its CPU at 10,000 sources (quadratic)
        out: dict[str, dict[SecretKey, Secret]] = {}
        for key, value in self.secrets.items():
            out.setdefault(key[0], {})[key[1:]] = value
        return out

    def secret(self, source: str, *key: str) -> Secret:
        """The resolved secret at ``key…`` of source ``source``; e.g. ``secret("box", "password")``.
        Raises :class:`ConfigError` when secrets were not resolved (a read-only command)."""
        try:
            return self.secrets[(source, *key)]
        except KeyError:
            where = self.settings.source(source).where(*key)
            raise ConfigError(f"{where}: this command did not resolve secrets") from None

    @property
    def database_url(self) -> str:
        db = self.settings.database
        if db.url:
            return db.url
        path = Path(db.path).expanduser()
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return f"sqlite:///{path}"
