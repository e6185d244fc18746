"""What is in the mailbox: ``LIST`` and ``UIDL``, and the fallbacks when UIDLs are missing
or shared.

Every message gets a stable key, the ``remote_id`` it is journaled under: its UIDL, or for
a server without ``UIDL`` a hash of its headers (``TOP n 0``). Messages sharing a UIDL (a
broken server) get the same treatment, with the UIDL as prefix, so two messages never
share a key and one is never deleted as "already journaled" for the other.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from dlrpoll.errors import SourceProtocolError
from dlrpoll.sources.pop3.wire import Response

log = logging.getLogger(__name__)

#: Sources already told (in this process) that their server has no UIDL.
_warned_no_uidl: set[str] = set()


class Conn(Protocol):
    """What listing needs of a session: its name and two ways to exchange commands."""

    name: str

    def listing(self, command: bytes) -> Response:
        """One multi-line listing command (``LIST``, ``UIDL``), answered in full."""
        ...

    def run(self, commands: Sequence[bytes], what: str, *, multiline: bool) -> list[Response]:
        """Several commands (pipelined when allowed), every answer read."""
        ...


@dataclass(slots=True)
class Entry:
    """One message: its number in this session, its LIST size and its key (``None``
    until :func:`header_keys` gives it one)."""

    num: int
    size: int
    key: str | None


@dataclass
class Listing:
    """The mailbox as listed: its entries in order, and for messages whose UIDL is shared
    with others, that UIDL (the prefix of their header-hash keys)."""

    entries: list[Entry]
    dup_prefix: dict[int, str] = field(default_factory=dict)


def scan(conn: Conn) -> Listing:
    """Every message's number, size and UIDL (``None`` when it needs a header key)."""
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
        return Listing([])
    resp = conn.listing(b"UIDL")
    if not resp.ok:
        if conn.name not in _warned_no_uidl:
            _warned_no_uidl.add(conn.name)
            log.warning(
                "source %s: the server does not support UIDL (%s); messages are keyed by "
                "a hash of their headers instead (one TOP per message and poll)",
                conn.name,
                resp.status.decode("utf-8", "replace"),
            )
        return Listing(list(entries.values()))
    # a set, not a dict of lists: a mailbox of 100,000 messages stays a few MB
    seen: set[str] = set()
    shared: set[str] = set()
    for line in resp.body.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].isdigit() and int(parts[0]) in entries:
            uid = parts[1].decode("ascii", "replace")
            entries[int(parts[0])].key = uid
            if uid in seen:
                shared.add(uid)
            seen.add(uid)
    del seen
    listing = Listing(list(entries.values()))
    if shared:
        listing.dup_prefix = {
            e.num: e.key for e in entries.values() if e.key is not None and e.key in shared
        }
        for num in listing.dup_prefix:
            entries[num].key = None  # re-keyed by header_keys, with the UIDL as prefix
        example = next(iter(shared))
        log.warning(
            "source %s: the server gives %d UIDL(s) to more than one message (e.g. %s for "
            "messages %s); those are keyed by UIDL and a hash of their headers",
            conn.name,
            len(shared),
            example,
            [n for n, uid in listing.dup_prefix.items() if uid == example][:5],
        )
    return listing


def header_keys(conn: Conn, window: Sequence[Entry], dup_prefix: dict[int, str]) -> None:
    """Give entries without a usable UIDL a stable key: a hash of ``TOP n 0``."""
    missing = [e for e in window if e.key is None]
    if not missing:
        return
    answers = conn.run([b"TOP %d 0" % e.num for e in missing], "TOP", multiline=True)
    for entry, resp in zip(missing, answers, strict=True):
        if not resp.ok:
            raise SourceProtocolError(
                conn.name,
                f"message {entry.num} has no usable UIDL and TOP was refused "
                f"({resp.status!r}); dlrpoll cannot track it safely, so nothing more is "
                "fetched; ask the provider for a server with UIDL",
            )
        digest = hashlib.sha256(resp.body).hexdigest()[:32]
        uid = dup_prefix.get(entry.num)
        entry.key = f"{uid}#{digest}" if uid else f"hdr:{digest}"
