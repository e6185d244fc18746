"""Maildir (and Maildir++ folders) as the private mail servers read them, from the test side.

Messages are dropped the way a delivery agent does: written to ``tmp/`` and renamed into
``new/``, owned by the mail uid, so the next POP3 or IMAP session sees them. Folders are
Maildir++ (``.Processed/``, ``.A.B/`` for ``A/B`` with separator ``/``), which is what Dovecot
creates for IMAP ``CREATE``. Flags come from the file name's ``:2,FLAGS`` info
(``S`` seen, ``T`` deleted, ``F`` flagged, ``R`` answered, ``D`` draft).
"""

from __future__ import annotations

import itertools
import os
import socket
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["INBOX", "StoredMessage", "deliver", "folder_path", "folders", "make_maildir", "scan"]

INBOX = "INBOX"
_seq = itertools.count(1)


@dataclass(frozen=True)
class StoredMessage:
    """One message file: its folder, ``new`` or ``cur``, its Maildir flags, bytes and path."""

    folder: str
    subdir: str
    name: str
    flags: str
    data: bytes
    path: Path

    @property
    def seen(self) -> bool:
        return "S" in self.flags

    @property
    def deleted(self) -> bool:
        """Flagged ``\\Deleted`` but not yet expunged."""
        return "T" in self.flags


def folder_path(maildir: Path, folder: str | None = None) -> Path:
    """The directory of ``folder`` (``None`` or ``"INBOX"``: the Maildir itself)."""
    if folder is None or folder.upper() == INBOX:
        return maildir
    return maildir / ("." + folder.replace("/", "."))


def make_maildir(path: Path, uid: int, gid: int) -> Path:
    """Create ``path`` with ``cur``, ``new``, ``tmp`` owned by ``uid:gid`` (idempotent)."""
    for sub in ("", "tmp", "new", "cur"):
        (path / sub).mkdir(exist_ok=True)
        os.chown(path / sub, uid, gid)
    return path


def deliver(
    maildir: Path, messages: Iterable[bytes], *, uid: int, gid: int, folder: str | None = None
) -> list[Path]:
    """Drop ``messages`` into ``folder`` (created if missing); returns their files."""
    target = folder_path(maildir, folder)
    if target != maildir and not target.exists():
        make_maildir(target, uid, gid)
        (target / "maildirfolder").touch()
        os.chown(target / "maildirfolder", uid, gid)
    host = socket.gethostname()
    base = int(time.time())
    paths = []
    for data in messages:
        name = f"{base}.M{next(_seq)}P{os.getpid()}R{uuid.uuid4().hex[:8]}.{host}"
        tmp = target / "tmp" / name
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.chown(tmp, uid, gid)
        os.rename(tmp, target / "new" / name)
        paths.append(target / "new" / name)
    return paths


def folders(maildir: Path) -> list[str]:
    """``"INBOX"`` and every Maildir++ folder under ``maildir``, as IMAP names (``/``)."""
    found = [INBOX]
    for entry in sorted(os.scandir(maildir), key=lambda e: e.name):
        if entry.is_dir() and entry.name.startswith(".") and entry.name not in (".", ".."):
            if os.path.isdir(os.path.join(entry.path, "cur")):
                found.append(entry.name[1:].replace(".", "/"))
    return found


def scan(maildir: Path, folder: str | None = None) -> list[StoredMessage]:
    """The messages in ``folder`` (``new`` then ``cur``, each sorted by file name)."""
    target = folder_path(maildir, folder)
    out = []
    for sub in ("new", "cur"):
        try:
            entries = sorted(os.scandir(target / sub), key=lambda e: e.name)
        except FileNotFoundError:
            continue
        for entry in entries:
            if not entry.is_file():
                continue
            _base, _sep, info = entry.name.partition(":2,")
            try:
                with open(entry.path, "rb") as fh:
                    data = fh.read()
            except FileNotFoundError:
                # expunged, or renamed (new -> cur, flags), by a session still running
                # (a killed client's, in the crash tests) since the directory was listed
                continue
            out.append(
                StoredMessage(folder or INBOX, sub, entry.name, info, data, Path(entry.path))
            )
    return out
