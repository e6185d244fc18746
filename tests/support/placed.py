"""A source's settings as the config file gives them: placed at a position among
``[[sources]]``, so messages name it by its key path (``sources[2].items``) as they do for a
user, not ``sources[?]`` as for settings made on their own."""

from __future__ import annotations

from typing import Any

from dlrpoll.config import Settings, SourceConfig


def placed(values: dict[str, Any], *, at: int = 0) -> SourceConfig:
    """The source ``values`` validated as the ``at``-th (0-based) of a file's sources; the
    ones before it are POP3 sources named ``filler0``, ``filler1``, …"""
    fillers = [
        {"kind": "pop3", "name": f"filler{i}", "host": "127.0.0.1", "username": "u"}
        | {"password": "x"}
        for i in range(at)
    ]
    return Settings.model_validate({"sources": [*fillers, values]}).sources[at]
