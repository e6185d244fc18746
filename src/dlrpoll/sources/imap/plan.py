"""What one IMAP poll fetches and acknowledges, batch by batch: pure planning over UID lists
(the session does the talking).

For each window of ``fetch_batch`` UIDs (oldest first), the journal says which are known;
the new ones are split into oversize (left alone, reported), large (fetched a few at a
time, so a batch stays within :data:`BATCH_BYTES`) and small (fetched ``fetch_batch`` at a
time). The known ones still in the folder are acknowledged with the window's first batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dlrpoll.sources.base import KnownIds
from dlrpoll.sources.imap.uids import remote_id, windows

__all__ = ["BATCH_BYTES", "Ack", "Classify", "Limits", "Sizes", "Unit", "plan"]

log = logging.getLogger(__name__)

#: A batch holds at most about this many bytes of messages, whatever fetch_batch says.
BATCH_BYTES = 16 * 1024 * 1024


@dataclass
class Ack:
    """What to do to the server for one batch: act per ``after_store`` on ``uids``; under
    the copy-and-expunge fallback, ``expunge`` holds journaled messages copied already
    (marked ``\\Deleted`` by an earlier, interrupted poll) that only need expunging."""

    uids: list[int] = field(default_factory=list)
    expunge: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.uids or self.expunge)


@dataclass
class Sizes:
    """What the server says of some UIDs' sizes: over ``max_size`` (UID → RFC822.SIZE), over
    :attr:`Limits.small`, and those it could not tell (UID → its reason)."""

    oversize: dict[int, int] = field(default_factory=dict)
    large: set[int] = field(default_factory=set)
    unreadable: dict[int, str] = field(default_factory=dict)


#: Given new UIDs, their :class:`Sizes`.
Classify = Callable[[list[int]], Sizes]


@dataclass
class Unit:
    """One batch to be: UIDs to fetch, the window's journaled messages (``known`` remote ids,
    ``ack`` what to do to them), and the window's messages left alone, reported, never
    fetched: ``oversize`` (UID → size) and ``unreadable`` (UID → reason)."""

    fetch: list[int]
    known: list[str] = field(default_factory=list)
    ack: Ack = field(default_factory=Ack)
    oversize: dict[int, int] = field(default_factory=dict)
    unreadable: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Limits:
    """The source's settings that shape the plan."""

    policy: str
    fetch_batch: int
    max_messages: int
    max_size: int
    #: the server offers MOVE (else move is copy + \Deleted + UID EXPUNGE)
    move: bool

    @property
    def small(self) -> int:
        """Messages up to this size are fetched ``fetch_batch`` at a time."""
        return max(4096, BATCH_BYTES // self.fetch_batch)

    @property
    def large_batch(self) -> int:
        """How many messages between :attr:`small` and ``max_size`` one fetch may hold."""
        return max(1, BATCH_BYTES // self.max_size)


def _ack_known(limits: Limits, old: list[int], unseen: set[int], deleted: set[int]) -> Ack:
    if limits.policy == "keep":
        return Ack()
    if limits.policy == "flag":
        return Ack([u for u in old if u in unseen])
    if limits.policy == "move" and not limits.move:
        return Ack([u for u in old if u not in deleted], [u for u in old if u in deleted])
    return Ack(list(old))


def plan(
    uids: list[int],
    known: KnownIds,
    uidvalidity: int,
    limits: Limits,
    *,
    classify: Classify,
    unseen: set[int],
    deleted: set[int],
    source: str = "",
) -> Iterator[Unit]:
    """The units of one poll over the folder's ``uids`` (ascending). ``classify`` tells the
    sizes of a window's new UIDs; ``unseen`` and ``deleted`` are the UIDs without
    ``\\Seen`` and with ``\\Deleted`` (needed by ``flag`` and by the copy fallback of
    ``move``)."""
    budget = limits.max_messages
    told = False
    for window in windows(uids, limits.fetch_batch):
        if budget <= 0 and limits.policy == "keep":
            return  # nothing new may be fetched, and journaled ones need nothing
        ids = {remote_id(uidvalidity, u): u for u in window}
        journaled = known(list(ids))
        old = [u for rid, u in ids.items() if rid in journaled]
        new = [u for rid, u in ids.items() if rid not in journaled]
        if len(new) > budget:
            if not told:
                log.info(
                    "source %s: max_messages (%d) reached; the rest waits for the next poll",
                    source,
                    limits.max_messages,
                )
                told = True
            new = new[: max(budget, 0)]
        budget -= len(new)
        sizes = classify(new) if new else Sizes()
        fetch = [u for u in new if u not in sizes.oversize and u not in sizes.unreadable]
        small = [u for u in fetch if u not in sizes.large]
        big = [u for u in fetch if u in sizes.large]
        chunks = [list(c) for c in windows(small, limits.fetch_batch)]
        chunks += [list(c) for c in windows(big, limits.large_batch)]
        first = Unit(
            chunks[0] if chunks else [],
            [remote_id(uidvalidity, u) for u in old],
            _ack_known(limits, old, unseen, deleted),
            sizes.oversize,
            sizes.unreadable,
        )
        if first.fetch or first.ack or first.oversize or first.unreadable:
            yield first
        for chunk in chunks[1:]:
            yield Unit(chunk)
