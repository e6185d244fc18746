"""``dlrpoll quarantine``: what an operator needs to see and clear quarantined raw items
without SQL. Listing and showing open the database read-only and need none of the sources'
secrets; dismissing writes the ``dismissed_at`` marker and nothing else."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import datetime

from dlrpoll.config import LoadedConfig
from dlrpoll.errors import ConfigError, DlrpollError
from dlrpoll.store import quarantine as q
from dlrpoll.store.opening import open_store
from dlrpoll.store.quarantine import QuarantinedItem

__all__ = ["QuarantinedItem", "dismiss", "list_items", "printable", "show"]


def printable(data: bytes, *, keep_newlines: bool = True) -> str:
    """Bytes as text that is safe on a terminal: UTF-8 (else ``\\xNN``), every control or
    format character (ESC sequences, bidi overrides, NUL) shown as ``\\xNN``/``\\uNNNN``;
    line breaks and tabs kept when ``keep_newlines``, else each a space."""
    text = data.decode("utf-8", errors="backslashreplace")
    out: list[str] = []
    for ch in text:
        if ch in "\r\n\t":
            if not keep_newlines:
                out.append(" ")
            elif ch != "\r":
                out.append(ch)
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            code = ord(ch)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _check_source(config: LoadedConfig, source: str | None) -> None:
    if source is not None and not any(c.name == source for c in config.settings.sources):
        known = ", ".join(c.name for c in config.settings.sources) or "none configured"
        raise ConfigError(f"--source: no source named {source!r} (sources: {known})")


def list_items(
    config: LoadedConfig,
    *,
    source: str | None = None,
    reason_like: str | None = None,
    dismissed: bool = False,
    limit: int | None = None,
) -> list[QuarantinedItem]:
    """Quarantined items not dismissed (``dismissed``: also dismissed ones), oldest first."""
    _check_source(config, source)
    with open_store(config, read_only=True) as store:
        return q.listing(
            store, source=source, reason_like=reason_like, dismissed=dismissed, limit=limit
        )


def show(config: LoadedConfig, raw_id: int) -> QuarantinedItem:
    """One journaled raw item with its whole payload; :class:`DlrpollError` when there is
    no such row."""
    with open_store(config, read_only=True) as store:
        item = q.get(store, raw_id)
    if item is None:
        raise DlrpollError(
            f"no raw item with id {raw_id} in the journal; `dlrpoll quarantine` lists the ids"
        )
    return item


def dismiss(
    config: LoadedConfig,
    now: datetime,
    *,
    ids: Sequence[int] = (),
    source: str | None = None,
    reason_like: str | None = None,
) -> list[int]:
    """Mark quarantined items as dismissed (kept in the journal, no longer counted as
    waiting by ``status``, the ``dlrpoll_quarantined`` metric or ``reparse``); the ids
    marked. Without ids, ``source`` or ``reason_like`` must narrow the selection."""
    if not ids and source is None and reason_like is None:
        raise ConfigError(
            "quarantine dismiss: name the items: IDs, or --source NAME and/or --reason-like TEXT"
        )
    _check_source(config, source)
    with open_store(config) as store:
        return q.dismiss(store, now, ids=ids, source=source, reason_like=reason_like)
