"""Where the config file is looked for. Standard library only: ``dlrpoll parse`` asks this
before deciding whether to load a config at all."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_ENV = "DLRPOLL_CONFIG"
DEFAULT_CONFIG_NAME = "dlrpoll.toml"


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
