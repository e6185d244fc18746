"""What is in the mailbox (``LIST``, ``UIDL``), and the keys messages are journaled under.

A message's key is its ``remote_id`` in the journal, and the only thing that lets a message
be deleted without being downloaded again (it is "already journaled"). So a key must never
stand for two different messages:

- a UIDL that is RFC 1939's (1 to 70 characters from ``0x21`` to ``0x7E``) and given to no
  other message of the mailbox is the key itself;
- a UIDL with other bytes (a broken server) is kept whole, percent-encoded:
  ``uidl <encoded>``; two different byte strings never give the same key;
- a message without a UIDL (no ``UIDL`` command, or a message the answer leaves out), or
  whose UIDL is shared with another message, is keyed by its whole content once it is
  downloaded: ``sha256 <hex of its bytes>``. Two such messages are one only when their
  bytes are equal;
- the record of a message left on the server for being over ``max_size`` is keyed
  ``<key> over max_size <bytes>``, never its message's key: a record does not make the
  message look journaled, and raising ``max_size`` changes the key, so the message is
  downloaded again (and journaled whole if it now fits).

The forms cannot collide: an RFC 1939 UIDL holds no space, ``uidl``/``sha256`` keys hold
exactly one, record keys end in `` over max_size N``.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import quote

from dlrpoll.errors import SourceProtocolError
from dlrpoll.sources.pop3.wire import Response

__all__ = ["Conn", "Entry", "content_key", "record_key", "scan", "uid_key"]

log = logging.getLogger(__name__)

#: Sources already told (in this process) that their server has no UIDL.
_warned_no_uidl: set[str] = set()
#: Bytes of an RFC 1939 UIDL, kept as they are (``%`` too: the encoded form has a prefix).
_UID_SAFE = bytes(range(0x21, 0x7F))


class Conn(Protocol):
    """What listing needs of a session: its name and one listing exchange."""

    name: str

    def listing(self, command: bytes) -> Response:
        """One multi-line listing command (``LIST``, ``UIDL``), answered in full."""
        ...


@dataclass(slots=True)
class Entry:
    """One message: its number in this session, its LIST size (an estimate on some
    servers: never used to decide anything), and its key, or ``None`` when it is keyed by
    its content once downloaded."""

    num: int
    size: int
    key: str | None


def uid_key(uid: bytes) -> str:
    """The key of a message with a UIDL of its own (see the module docstring)."""
    if 0 < len(uid) and not uid.translate(None, _UID_SAFE):
        return uid.decode("ascii")
    return "uidl " + quote(uid, safe="")


def content_key(payload: bytes) -> str:
    """The key of a message without a UIDL of its own: its bytes' SHA-256."""
    return "sha256 " + hashlib.sha256(payload).hexdigest()


def record_key(key: str, max_size: int) -> str:
    """The key of the record of a message left on the server for being over ``max_size``."""
    return f"{key} over max_size {max_size}"


def scan(conn: Conn) -> list[Entry]:
    """Every message's number, LIST size and UIDL key (``None``: keyed by content)."""
    resp = conn.listing(b"LIST")
    if not resp.ok:
        raise SourceProtocolError(conn.name, f"LIST refused: {resp.status!r}")
    entries: dict[int, Entry] = {}
    try:
        for line in resp.body.splitlines():
            fields = line.split()
            entries[int(fields[0])] = Entry(int(fields[0]), int(fields[1]), None)
    except (ValueError, IndexError) as exc:
        raise SourceProtocolError(
            conn.name, f"LIST answer unreadable at line {line[:80]!r}"
        ) from exc
    if not entries:
        return []
    resp = conn.listing(b"UIDL")
    if not resp.ok:
        if conn.name not in _warned_no_uidl:
            _warned_no_uidl.add(conn.name)
            log.warning(
                "source %s: the server does not support UIDL (%s); every message is "
                "downloaded at every poll and recognised by its content",
                conn.name,
                resp.status.decode("utf-8", "replace"),
            )
        return list(entries.values())
    # a set, not a dict of lists: a mailbox of 100,000 messages stays a few MB
    seen: set[str] = set()
    shared: set[str] = set()
    for line in resp.body.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0].isdigit() and int(parts[0]) in entries:
            # the whole rest of the line: a broken server's UIDL may hold spaces
            key = uid_key(parts[1].strip())
            entries[int(parts[0])].key = key
            if key in seen:
                shared.add(key)
            seen.add(key)
    del seen
    missing = sum(1 for e in entries.values() if e.key is None)
    if shared:
        dups = [e for e in entries.values() if e.key in shared]
        for entry in dups:
            entry.key = None  # keyed by content once downloaded
        log.warning(
            "source %s: the server gives %d UIDL(s) to more than one message (e.g. messages "
            "%s); those %d messages are downloaded at every poll and recognised by content",
            conn.name,
            len(shared),
            [e.num for e in dups[:5]],
            len(dups),
        )
    if missing:
        log.warning(
            "source %s: the UIDL answer leaves out %d message(s); they are downloaded and "
            "recognised by content",
            conn.name,
            missing,
        )
    return list(entries.values())
