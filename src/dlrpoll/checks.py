"""What ``dlrpoll check-config`` reports about a loaded configuration."""

from __future__ import annotations

from dlrpoll.config import (
    LoadedConfig,
    Pop3SourceConfig,
    SecretRef,
    format_duration,
)
from dlrpoll.store import masked_url


def _secret_text(config: LoadedConfig, key: tuple[str, ...], written: object) -> str:
    secret = config.secrets.get(key)
    if secret is not None:
        return repr(secret)
    if isinstance(written, SecretRef):
        return f"<{written.describe()}>"
    return "******"


def describe_sources(config: LoadedConfig) -> list[str]:
    """Every source's settings, one per line, with each secret masked."""
    lines: list[str] = []
    for cfg in config.settings.sources:
        values = cfg.model_dump(exclude={"name", "kind"})
        if isinstance(cfg, Pop3SourceConfig):
            values["password"] = _secret_text(config, (cfg.name, "password"), cfg.password)
        else:
            values["args"] = {
                k: _secret_text(config, (cfg.name, "args", k), v)
                if isinstance(v, SecretRef | str)
                else v
                for k, v in cfg.args.items()
            }
        state = "" if cfg.enabled else "  (disabled)"
        lines.append(
            f"[{cfg.name}] {cfg.kind}, every {format_duration(cfg.interval)} "
            f"(+0..{format_duration(cfg.jitter)} jitter){state}"
        )
        for key, value in values.items():
            lines.append(f"    {key} = {value}")
    return lines


def describe_config(config: LoadedConfig) -> list[str]:
    """The database (password masked), the number of sources, then :func:`describe_sources`."""
    return [
        f"database: {masked_url(config.database_url)}",
        f"sources: {len(config.settings.sources)}",
        *describe_sources(config),
    ]
