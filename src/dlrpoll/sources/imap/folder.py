"""Opening the folder for a session: can ``after_store`` be done safely on this server,
``SELECT`` (``EXAMINE`` under ``keep``) with its UIDVALIDITY, a UIDVALIDITY change noticed,
``move_to`` created when missing."""

from __future__ import annotations

import logging
import threading
from typing import Any

from imapclient import IMAPClient

from dlrpoll.config import ImapSourceConfig
from dlrpoll.errors import SourceProtocolError
from dlrpoll.sources.imap.errors import IO_ERRORS, broken, map_error, server_text

__all__ = ["check_policy", "ensure_move_to", "note_uidvalidity", "select"]

log = logging.getLogger(__name__)

#: UIDVALIDITY last seen per mailbox folder, in this process (to notice a change).
_last_uidvalidity: dict[tuple[str, str, int, str, str], int] = {}
_last_lock = threading.Lock()


def check_policy(cfg: ImapSourceConfig, caps: frozenset[str]) -> None:
    """Refuse ``move``/``delete`` on a server that cannot remove exactly chosen UIDs."""
    policy = cfg.after_store
    if policy == "move" and ("MOVE" in caps or "UIDPLUS" in caps):
        return
    if policy == "delete" and "UIDPLUS" in caps:
        return
    if policy in ("move", "delete"):
        need = "MOVE or UIDPLUS" if policy == "move" else "UIDPLUS"
        raise SourceProtocolError(
            cfg.name,
            f'after_store = "{policy}" needs {need}, which {cfg.host} does not offer: without '
            "UIDPLUS's UID EXPUNGE, removing messages would also remove any other message "
            "marked \\Deleted in the folder, including ones dlrpoll has not journaled. Nothing "
            'was fetched; use after_store = "flag" or "keep"',
        )


def _folder_hint(client: IMAPClient) -> str:
    try:
        names = [str(f[2]) for f in client.list_folders()][:12]
    except IO_ERRORS:
        return ""
    return f" (the server has: {', '.join(names)})" if names else ""


def select(client: IMAPClient, cfg: ImapSourceConfig) -> tuple[int, dict[bytes, Any]]:
    """``SELECT`` the folder (``EXAMINE`` under ``keep``: not even \\Recent changes);
    ``(UIDVALIDITY, the SELECT answer)``. Raises our errors."""
    readonly = cfg.after_store == "keep"
    try:
        info: dict[bytes, Any] = client.select_folder(cfg.folder, readonly=readonly)
    except IO_ERRORS as exc:
        if broken(exc):
            what = f"selecting folder {cfg.folder!r}"
            raise map_error(cfg.name, what, exc, cfg.timeout) from exc
        raise SourceProtocolError(
            cfg.name,
            f"cannot open folder {cfg.folder!r} ({server_text(exc)}); check folder"
            f"{_folder_hint(client)}",
        ) from exc
    uidvalidity = info.get(b"UIDVALIDITY")
    if not isinstance(uidvalidity, int):
        raise SourceProtocolError(
            cfg.name,
            f"the server gives no UIDVALIDITY for {cfg.folder!r}, so its UIDs cannot name "
            "messages safely across sessions; dlrpoll will not read this folder",
        )
    if not readonly and not info.get(b"READ-WRITE"):
        raise SourceProtocolError(
            cfg.name,
            f"folder {cfg.folder!r} is read-only for {cfg.username!r}; give the user write "
            'access, or set after_store = "keep"',
        )
    return uidvalidity, info


def note_uidvalidity(cfg: ImapSourceConfig, uidvalidity: int) -> tuple[int, int] | None:
    """Remember the folder's UIDVALIDITY; ``(old, new)`` (and a warning) when it changed
    since this process last saw it."""
    key = (cfg.name, cfg.host, cfg.effective_port, cfg.username, cfg.folder)
    with _last_lock:
        old = _last_uidvalidity.get(key)
        _last_uidvalidity[key] = uidvalidity
    if old is None or old == uidvalidity:
        return None
    log.warning(
        "source %s: UIDVALIDITY of %s changed from %d to %d: the server renumbered the folder "
        "(a rebuilt or restored mailbox). Every message still in it is fetched again under "
        "its new UID; receipts already stored are recognised by their content and counted as "
        "duplicates, not stored twice",
        cfg.name,
        cfg.folder,
        old,
        uidvalidity,
    )
    return old, uidvalidity


def ensure_move_to(client: IMAPClient, cfg: ImapSourceConfig) -> None:
    """Create ``move_to`` when it is missing."""
    dest = cfg.move_to
    assert dest is not None
    try:
        if not client.folder_exists(dest):
            client.create_folder(dest)
            log.info("source %s: created folder %r for processed messages", cfg.name, dest)
    except IO_ERRORS as exc:
        what = f"making sure folder {dest!r} (move_to) exists"
        raise map_error(cfg.name, what, exc, cfg.timeout) from exc
