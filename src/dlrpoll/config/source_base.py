"""What every source kind's settings share: name, profile, interval (never under the floor),
time zone, dedupe scope, timeouts and retries."""

from __future__ import annotations

from typing import Annotated, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from dlrpoll.config.values import MIN_INTERVAL_SECONDS, Duration, format_duration

#: A lease's time to live: long enough for a heartbeat every third of it to get through a
#: busy database, short enough that a dead poller on another machine holds little.
LeaseTtl = Annotated[Duration, Field(ge=3.0, le=3600.0)]


class Model(BaseModel):
    """Frozen, and every unknown key is an error (a misspelt setting is never ignored)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class SourceBase(Model):
    """The settings every `[[sources]]` entry has, whatever its kind."""

    #: the profile ``auto`` reads what it does not detect with: the kind's former default
    auto_fallback: ClassVar[str] = "smpp"

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    profile: str = "auto"
    interval: Duration = float(MIN_INTERVAL_SECONDS)
    jitter: Duration = 10.0
    timezone: str = "UTC"
    dedupe_scope: str | None = None
    enabled: bool = True
    timeout: Duration = 30.0
    retries: int = Field(default=3, ge=0, le=10)
    #: this source's lease TTL; unset: ``[database] lease_ttl``
    lease_ttl: LeaseTtl | None = None
    #: where the source's table is among the file's ``[[sources]]`` (0-based, as load-time
    #: messages count); set by :class:`~dlrpoll.config.settings.Settings`
    _position: int | None = PrivateAttr(default=None)

    @field_validator("interval")
    @classmethod
    def _floor(cls, v: float) -> float:
        if v < MIN_INTERVAL_SECONDS:
            raise ValueError(
                f"{format_duration(v)} is below the provider minimum of "
                f"{format_duration(MIN_INTERVAL_SECONDS)}"
            )
        return v

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}; use an IANA name like 'UTC'") from exc
        return v

    @field_validator("timeout")
    @classmethod
    def _positive_timeout(cls, v: float) -> float:
        if v <= 0:
            raise ValueError("must be a positive duration")
        return v

    @property
    def key_path(self) -> str:
        """The source's table as every message names it: ``sources[2]``, the key path
        load-time messages and ``check-config`` use, which a user finds in the TOML file.
        ``sources[?]`` for settings made on their own, outside a file (tests)."""
        return f"sources[{'?' if self._position is None else self._position}]"

    def where(self, *keys: str) -> str:
        """A run-time message's start, naming the source and the key to fix:
        ``where("items")`` → ``source 'upside': sources[2].items``."""
        return f"source {self.name!r}: " + ".".join((self.key_path, *keys))

    @property
    def scope(self) -> str:
        """The dedupe scope: receipts equal within one scope are stored once."""
        return self.dedupe_scope or self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
