"""What ``dlrpoll check-config`` reports: the effective settings as a person reads them, and
checks that find what would fail on every poll, without the network (files, the database's
directory, zero sources) or, asked to, over it (``--connect``: see
:mod:`dlrpoll.sources.check`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from dlrpoll.config import (
    LoadedConfig,
    SecretRef,
    SourceConfig,
    describe,
    format_duration,
    format_size,
    parse_duration,
    parse_size,
    secret_settings,
)
from dlrpoll.sources.check import Check as Check
from dlrpoll.sources.check import connect_checks, local_checks
from dlrpoll.store import masked_url


def _validator(info: Any) -> Any:
    for meta in info.metadata:
        func = getattr(meta, "func", None)
        if func is not None:
            return func
    return None


def _size(n: int) -> str:
    """``1 MiB``, ``500 KiB``, or pydantic's rounded form for odd sizes."""
    for unit, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= unit and n % unit == 0:
            return f"{n // unit} {name}"
    return format_size(n) if n >= 1024 else f"{n} bytes"


def _shown(value: Any, validator: Any) -> str:
    if validator is parse_duration and isinstance(value, int | float):
        return format_duration(value)
    if validator is parse_size and isinstance(value, int):
        return _size(value)
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value) if not isinstance(value, bool | int | float) else str(value).lower()


def effective_settings(
    model: BaseModel, config: LoadedConfig, name: str, *, top: bool = True
) -> list[str]:
    """``key = value`` lines for every setting of a source as it is in effect (defaults
    included): durations as ``2m``, sizes as ``1.0MiB``, secrets as how they are written
    (``env:NAME``, ``file:PATH``, ``literal``), never their values."""
    secrets = {key: written for key, written in secret_settings(model)}
    lines: list[str] = []
    for field, info in type(model).model_fields.items():
        if top and field in ("name", "kind"):
            continue
        value = getattr(model, field)
        if (field,) in secrets:
            shown = f"<{describe(secrets[(field,)])}>"
        elif isinstance(value, dict):
            parts = []
            for k, v in value.items():
                if (field, str(k)) in secrets or isinstance(v, SecretRef):
                    parts.append(f"{k} = <{describe(v)}>")
                elif isinstance(v, str) and field == "args":
                    # a literal argument may be a credential: never shown
                    parts.append(f"{k} = <literal>")
                else:
                    parts.append(f"{k} = {_shown(v, None)}")
            shown = "{ " + ", ".join(parts) + " }" if parts else "{}"
        elif value is None:
            shown = "(not set)"
        elif isinstance(value, BaseModel):
            # a nested table (an OAuth2 ``auth``): its secrets masked the same way
            inner = effective_settings(value, config, name, top=False)
            shown = "{ " + ", ".join(inner) + " }"
        else:
            shown = _shown(value, _validator(info))
        lines.append(f"{field} = {shown}")
    return lines


def describe_sources(config: LoadedConfig) -> list[str]:
    """Every source's effective settings, one per line, with each secret masked."""
    lines: list[str] = []
    for cfg in config.settings.sources:
        state = "" if cfg.enabled else "  (disabled: only `poll --source NAME` polls it)"
        lines.append(
            f"[{cfg.name}] {cfg.kind}, every {format_duration(cfg.interval)} "
            f"(+0..{format_duration(cfg.jitter)} jitter){state}"
        )
        lines.extend(f"    {line}" for line in effective_settings(cfg, config, cfg.name))
    return lines


def describe_config(config: LoadedConfig) -> list[str]:
    """The database (password masked), the number of sources, then :func:`describe_sources`."""
    return [
        f"database: {masked_url(config.database_url)}",
        f"sources: {len(config.settings.sources)}",
        *describe_sources(config),
    ]


def database_checks(config: LoadedConfig) -> list[Check]:
    """The SQLite file's directory exists and this user (the poller's) may write there."""
    url = config.database_url
    if not url.startswith("sqlite:///"):
        return [Check(None, "database", f"{masked_url(url)}: checked by --connect only")]
    path = Path(url.removeprefix("sqlite:///"))
    folder = path.parent
    what = f"database {path}"
    if not folder.is_dir():
        return [
            Check(False, what, f"the directory {folder} does not exist; create it for the poller")
        ]
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            return [Check(False, what, "not readable and writable by this user (the poller)")]
    if not os.access(folder, os.W_OK | os.X_OK):
        return [
            Check(
                False,
                what,
                f"this user cannot write in {folder}; the poller needs to (SQLite writes "
                "FILE-wal and FILE-shm beside the file)",
            )
        ]
    return [Check(True, what, "exists" if path.exists() else "will be created at the first poll")]


def run_checks(
    config: LoadedConfig, *, connect: bool = False, sources: Iterable[SourceConfig] | None = None
) -> list[Check]:
    """Every check, in order: the database, that there are sources, then each source's
    local checks and, with ``connect``, its network checks."""
    checks = database_checks(config)
    chosen = list(config.settings.sources if sources is None else sources)
    if not config.settings.sources:
        checks.append(
            Check(False, "sources", "none configured: nothing will be polled; add [[sources]]")
        )
    elif not any(s.enabled for s in config.settings.sources):
        checks.append(Check(False, "sources", "every source has enabled = false"))
    for cfg in chosen:
        checks.extend(local_checks(config, cfg))
        if connect:
            checks.extend(connect_checks(config, cfg))
    return checks
