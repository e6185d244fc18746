"""What to fetch and what the answers mean: the session's decisions, without I/O.

:func:`plan_window` splits a window of listed messages into the journaled (to delete),
the recorded-as-oversize (left alone) and the new (to fetch, in chunks bounded in bytes).
:func:`sort_answers` turns ``RETR`` answers into items to journal and the numbers that may
be deleted once they are committed. Only a message that came whole is ever among those:
a refused ``RETR``, an empty answer or a message over ``max_size`` is left on the server
and named in a note (``Batch.held``: the poll ends ``partial``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.base import KnownIds
from dlrpoll.sources.pop3.errors import human_size
from dlrpoll.sources.pop3.listing import Entry, content_key, record_key
from dlrpoll.sources.pop3.wire import Response

__all__ = ["Fetched", "Unit", "fingerprint", "leaves", "plan_window", "sort_answers"]

#: A batch holds at most this many bytes of messages (by LIST size), whatever the window.
BATCH_BYTES = 16 * 1024 * 1024


@dataclass(slots=True)
class Unit:
    """One batch to be: new messages to fetch, journaled ones to delete with them, and
    notes on messages left on the server without a download."""

    new: list[Entry]
    old: list[Entry]
    held: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Fetched:
    """What one chunk's download gave: items to journal and the numbers of those that may
    be deleted once committed; messages without a UIDL of their own, ``(number, item)``,
    not yet checked against the journal; journaled ones found by content; notes on the
    messages left on the server."""

    items: list[RawItem] = field(default_factory=list)
    ack: list[int] = field(default_factory=list)
    by_content: list[tuple[int, RawItem]] = field(default_factory=list)
    known_keys: list[str] = field(default_factory=list)
    known_nums: list[int] = field(default_factory=list)
    held: list[str] = field(default_factory=list)


def plan_window(
    source: str, window: Sequence[Entry], known: KnownIds, max_size: int, budget: int
) -> Iterator[Unit]:
    """Units for one window: at most ``budget`` new messages with a UIDL (and every one
    without), in chunks of at most :data:`BATCH_BYTES` by LIST size; the window's
    journaled messages go with the first."""
    records = {e.key: record_key(e.key, max_size) for e in window if e.key}
    seen = known([*records, *records.values()]) if records else set()
    old = [e for e in window if e.key in seen]
    held = [e for e in window if e.key and e.key not in seen and records[e.key] in seen]
    skip = {e.num for e in old} | {e.num for e in held}
    # at most ``budget`` by UIDL; those keyed by content are all fetched, since only their
    # bytes tell whether they are new (the session counts those against the budget)
    fresh = [e for e in window if e.key and e.num not in skip][:budget]
    skip |= {e.num for e in window if e.key} - {e.num for e in fresh}
    new = [e for e in window if e.num not in skip]
    notes = [
        f"{name(e)} is over max_size {human_size(max_size)} (seen at an earlier poll; its "
        f"headers are in the journal); it stays on the server until max_size for source "
        f"{source!r} is raised"
        for e in held
    ]
    for chunk in by_size(new, BATCH_BYTES, max_size):
        yield Unit(chunk, old, notes)
        old, notes = [], []
    if old or notes:
        yield Unit([], old, notes)


def sort_answers(
    source: str, entries: Sequence[Entry], answers: Sequence[Response], max_size: int
) -> Fetched:
    """Items and decisions from the ``RETR`` answers to ``entries`` (in order)."""
    out = Fetched()
    for entry, resp in zip(entries, answers, strict=True):
        said = resp.status.decode("utf-8", "replace")
        if not resp.ok:
            out.held.append(
                f"{name(entry)}: the server refused RETR ({said}); it stays on the server and "
                "is tried again at the next poll"
            )
        elif resp.over:
            note = (
                f"{name(entry)} is {human_size(resp.size)}, over max_size "
                f"{human_size(max_size)}; it is still on the server, not deleted: raise "
                f"max_size for source {source!r} above {human_size(resp.size)} to fetch it "
                "whole at the next poll (its headers are kept here)"
            )
            record = record_key(entry.key or f"sha256 {resp.digest}", max_size)
            out.items.append(RawItem(record, resp.body, RawFormat.EMAIL_HEADERS, parse_error=note))
            out.held.append(note)
        elif not resp.body.strip():
            # Dovecot's answer for a message whose size it has wrong (a Maildir S= that is
            # too small): "+OK 300 octets" and nothing. A message has headers at least, so
            # this is not one: never journal it as the message, never DELE it
            out.held.append(
                f"{name(entry)}: the server answered RETR with an empty message ({said}); it "
                "stays on the server (check the server's log: it may be unable to read it) "
                "and is tried again at the next poll"
            )
        elif entry.key is None:
            item = RawItem(content_key(resp.body), resp.body, RawFormat.EMAIL, ack=entry.num)
            out.by_content.append((entry.num, item))
        else:
            out.items.append(RawItem(entry.key, resp.body, RawFormat.EMAIL, ack=entry.num))
            out.ack.append(entry.num)
    return out


def name(entry: Entry) -> str:
    """``message 3 (UIDL abc)``, for notes and logs."""
    return f"message {entry.num}" + (f" (UIDL {entry.key})" if entry.key else "")


def leaves(resp: Response) -> bool:
    """Whether this answer leaves its message on the server (refused, over, empty)."""
    return not resp.ok or resp.over or not resp.body.strip()


def fingerprint(resp: Response) -> tuple[object, ...]:
    """What must be equal for two readings of one ``RETR`` to be the same answer."""
    if not resp.ok:
        return (False,)
    return (True, resp.over, resp.digest if resp.over else resp.body)


def by_size(entries: Sequence[Entry], max_bytes: int, max_size: int) -> Iterator[list[Entry]]:
    """Consecutive chunks of ``entries`` whose sizes add up to at most ``max_bytes`` by
    LIST (an estimate: planning only, never a decision), a message counting at most
    ``max_size``; a single message is a chunk of its own whatever its size."""
    chunk: list[Entry] = []
    total = 0
    for entry in entries:
        size = min(entry.size, max_size)
        if chunk and total + size > max_bytes:
            yield chunk
            chunk, total = [], 0
        chunk.append(entry)
        total += size
    if chunk:
        yield chunk
