"""TOML configuration to validated, frozen settings.

Every error names its key path (``sources[1].interval: 90s is below the provider minimum of
2m``) and :func:`load_config` reports all of them at once. Secrets are written as
``{ env = "NAME" }`` or ``{ file = "PATH" }``; a literal string is accepted only when the
config file is readable by its owner alone. Resolved secrets are :class:`Secret` objects
that never show their value in ``repr``, logs or ``check-config``.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from dlrpoll.errors import ConfigError
from dlrpoll.receipts import BUILTIN_PROFILES, build_profiles

#: Providers forbid polling more often than this; there is deliberately no override.
MIN_INTERVAL_SECONDS = 120

CONFIG_ENV = "DLRPOLL_CONFIG"
DEFAULT_CONFIG_NAME = "dlrpoll.toml"

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_duration(value: object) -> float:
    """Seconds from ``120``, ``"90s"``, ``"2m"``, ``"1h30m"``."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. '2m' or 120")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            return float(text)
        parts = _DURATION_RE.findall(text)
        if parts and _DURATION_RE.sub("", text).strip() == "":
            return sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    raise ValueError(f"{value!r} is not a duration; write e.g. '2m', '90s' or 120")


def format_duration(seconds: float) -> str:
    """``120.0`` → ``"2m"``, ``90.0`` → ``"90s"``, for messages."""
    if seconds >= 60 and seconds % 60 == 0:
        return f"{int(seconds // 60)}m"
    return f"{seconds:g}s"


def parse_size(value: object) -> int:
    """Bytes from ``1048576``, ``"1MiB"``, ``"500KB"``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            unit = (m.group(2) or "B").lower()
            return int(float(m.group(1)) * _SIZE_UNITS[unit])
    raise ValueError(f"{value!r} is not a size; write e.g. '1MiB' or 1048576")


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


SecretValue = SecretRef | str
Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class DatabaseConfig(_Model):
    """``[database]``: ``path`` (SQLite file) or ``url`` (any SQLAlchemy URL)."""

    path: str = "dlrpoll.sqlite"
    url: str | None = None
    busy_timeout: Duration = 30.0


class ProfileConfig(_Model):
    """``[profiles.NAME]``: a provider profile users define without code."""

    format: Literal["smpp", "keyvalue"] = "keyvalue"
    fields: dict[str, str] = Field(default_factory=dict)
    states: dict[str, str | dict[str, Any]] = Field(default_factory=dict)
    timezone: str | None = None
    dates: Literal["auto", "smpp", "unix"] = "auto"  # all-digit key/value dates (receipts)


class _SourceBase(_Model):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.@-]+$")
    profile: str = "smpp"
    interval: Duration = float(MIN_INTERVAL_SECONDS)
    jitter: Duration = 10.0
    timezone: str = "UTC"
    dedupe_scope: str | None = None
    enabled: bool = True
    timeout: Duration = 30.0
    retries: int = Field(default=3, ge=0, le=10)

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
    def scope(self) -> str:
        """The dedupe scope: receipts equal within one scope are stored once."""
        return self.dedupe_scope or self.name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Pop3SourceConfig(_SourceBase):
    """``kind = "pop3"``: receipts forwarded to a mailbox."""

    kind: Literal["pop3"]
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: Literal["ssl", "starttls", "none"] = "ssl"
    allow_plaintext: bool = False
    ca_file: str | None = None
    username: str
    password: SecretValue
    delete: Literal["after-store", "never"] = "after-store"
    max_messages: int = Field(default=2000, ge=1)
    max_size: Size = 1024 * 1024
    pipeline_window: int = Field(default=200, ge=1, le=10000)

    @model_validator(mode="after")
    def _plaintext_needs_consent(self) -> Pop3SourceConfig:
        if self.tls == "none" and not self.allow_plaintext:
            raise ValueError(
                'tls = "none" sends the password in clear; set allow_plaintext = true '
                'to accept that, or use tls = "ssl" or "starttls"'
            )
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return 995 if self.tls == "ssl" else 110


class SoapSourceConfig(_SourceBase):
    """``kind = "soap"``: a provider's SOAP inbox such as ``GetNewInboxMessages``."""

    kind: Literal["soap"]
    wsdl: str
    endpoint: str | None = None
    operation: str = "GetNewInboxMessages"
    mode: Literal["destructive", "two-phase"] = "destructive"
    args: dict[str, SecretValue | int | float | bool] = Field(default_factory=dict)
    items: str = "NewSMSMessage"
    fields: dict[str, str] = Field(
        default_factory=lambda: {"remote_id": "messageid", "body": "data", "sender": "sender"}
    )
    batch_limit: int = Field(default=300, ge=1)
    max_batches: int = Field(default=10, ge=1)
    #: two-phase mode: the peek operation, where its one message is in the result (dotted
    #: path like ``items``; empty when the result is the message), and the operation that sets
    #: the read flag with the message's remote id as its ``ack_arg`` argument
    peek_operation: str = "GetTopMessageNoReset"
    peek_items: str = ""
    ack_operation: str = "SetMessageReadFlag"
    ack_arg: str = "messageId"
    max_response_size: Size = 32 * 1024 * 1024
    #: a CA bundle for a provider whose certificate a private CA signed (verification stays on)
    ca_file: str | None = None
    profile: str = "upside"

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = set(v) - {"remote_id", "body", "sender", "received_at"}
        if unknown:
            raise ValueError(
                f"unknown field name(s) {sorted(unknown)}; use remote_id, body, sender, received_at"
            )
        if "body" not in v:
            raise ValueError("must name the element holding the receipt text as body")
        return v

    @model_validator(mode="after")
    def _two_phase_needs_ids(self) -> SoapSourceConfig:
        if self.mode == "two-phase" and "remote_id" not in self.fields:
            raise ValueError(
                'mode = "two-phase" sets the read flag by message id: name its element in '
                "fields.remote_id"
            )
        return self


SourceConfig = Annotated[Pop3SourceConfig | SoapSourceConfig, Field(discriminator="kind")]


class Settings(_Model):
    """The whole configuration file."""

    database: DatabaseConfig = DatabaseConfig()
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

    def secret(self, source: str, *key: str) -> Secret:
        """The resolved secret at ``sources[name].key…``; e.g. ``secret("box", "password")``."""
        return self.secrets[(source, *key)]

    @property
    def database_url(self) -> str:
        db = self.settings.database
        if db.url:
            return db.url
        path = Path(db.path).expanduser()
        if not path.is_absolute() and self.path is not None:
            path = self.path.parent / path
        return f"sqlite:///{path}"


def default_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config``, then ``$DLRPOLL_CONFIG``, then ``./dlrpoll.toml``, then the user's dir."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env)
    local = Path(DEFAULT_CONFIG_NAME)
    if local.exists():
        return local
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dlrpoll" / "config.toml"


def _key_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    skip_tag = False
    for part in loc:
        if skip_tag:
            skip_tag = False
            if part in ("pop3", "soap"):
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
            msg = f'{err["input"].get("kind")!r} is not a source kind; use "pop3" or "soap"'
        elif err["type"] == "union_tag_not_found":
            path += ".kind"
            msg = 'is required: "pop3" or "soap"'
        line = f"{path}: {msg}"
        if line not in problems:
            problems.append(line)
    return problems


def _owner_only(path: Path | None) -> bool:
    if path is None:
        return False
    mode = path.stat().st_mode
    return not mode & (stat.S_IRWXG | stat.S_IRWXO)


def _resolve(value: SecretValue, where: str, path: Path | None) -> Secret:
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
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read secret file {file}: {exc.strerror}") from exc
    return Secret(text.rstrip("\r\n"), f"file {file}")


def _resolve_secrets(settings: Settings, path: Path | None) -> dict[tuple[str, ...], Secret]:
    problems: list[str] = []
    secrets: dict[tuple[str, ...], Secret] = {}
    for i, src in enumerate(settings.sources):
        wanted: list[tuple[tuple[str, ...], SecretValue]] = []
        if isinstance(src, Pop3SourceConfig):
            wanted.append((("password",), src.password))
        else:
            for arg, val in src.args.items():
                if isinstance(val, SecretRef):
                    wanted.append((("args", arg), val))
        for key, val in wanted:
            where = f"sources[{i}]." + ".".join(key)
            try:
                secrets[(src.name, *key)] = _resolve(val, where, path)
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
    except ConfigError as exc:
        problems.extend(exc.problems)
        known = set(BUILTIN_PROFILES) | set(settings.profiles)
    builtin = ", ".join(BUILTIN_PROFILES)
    for i, src in enumerate(settings.sources):
        if src.profile not in known:
            problems.append(
                f"sources[{i}].profile: unknown profile {src.profile!r}; built-in: {builtin}; "
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
            f"or start from config.example.toml"
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
