"""Durations and byte sizes as users write them in TOML (``"2m"``, ``"1MiB"``)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, ByteSize, TypeAdapter, ValidationError

#: Providers forbid polling more often than this; there is deliberately no override.
MIN_INTERVAL_SECONDS = 120

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_BYTE_SIZE = TypeAdapter(ByteSize)


def parse_duration(value: object) -> float:
    """Seconds from ``120``, ``"90s"``, ``"2m"``, ``"1h30m"``. Raises ``ValueError``."""
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
    """Bytes from ``1048576``, ``"1MiB"``, ``"500KB"`` (KB = 1000, KiB = 1024), through
    pydantic's :class:`~pydantic.ByteSize`. Raises ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a size; write e.g. '1MiB' or 1048576")
    try:
        return int(_BYTE_SIZE.validate_python(value))
    except ValidationError:
        raise ValueError(f"{value!r} is not a size; write e.g. '1MiB' or 1048576") from None


def format_size(size: int) -> str:
    """``1048576`` → ``"1.0MiB"``, for messages and ``check-config``."""
    return ByteSize(size).human_readable()


Duration = Annotated[float, BeforeValidator(parse_duration)]
Size = Annotated[int, BeforeValidator(parse_size)]
