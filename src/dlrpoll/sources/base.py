"""What every source is: open a session, hand over raw items in batches, acknowledge them.

The poller drives a session in the order DESIGN.md gives (journal, parse, store, then
acknowledge); a source never decides on its own to delete or mark anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from dlrpoll.rawitem import RawItem

#: Given remote ids, returns those already in the journal for this source.
KnownIds = Callable[[Sequence[str]], set[str]]


@dataclass
class Batch:
    """Raw items fetched together.

    ``items`` are journaled (and committed) before anything else happens to them. When a
    source receives one response that holds many items (a SOAP envelope), it sets
    ``envelope``: the poller journals and commits the envelope first, then calls the
    source's ``split`` to get the items out of it. ``known`` lists remote ids the source saw
    that are already journaled; they were not fetched again but may still need
    acknowledging. ``ack`` is the source's own note of what to acknowledge.
    """

    items: list[RawItem] = field(default_factory=list)
    envelope: RawItem | None = None
    known: list[str] = field(default_factory=list)
    ack: object = None


class Session(Protocol):
    """One connection to a source, for one poll."""

    def batches(self, known: KnownIds) -> Iterator[Batch]:
        """Fetch new raw items, batch by batch. Items whose remote id ``known`` reports
        are not fetched again."""
        ...

    def acknowledge(self, batch: Batch) -> None:
        """Called only after every item of ``batch`` is committed to the journal: delete or
        mark them read on the server, as the source's policy says."""
        ...


class Source(Protocol):
    """A configured source, ready to open sessions."""

    name: str

    def open(self) -> AbstractContextManager[Session]:
        """Connect and log in; the context's exit ends the session cleanly (POP3 ``QUIT``)."""
        ...

    def split(self, envelope: RawItem) -> list[RawItem]:
        """The items inside a journaled envelope (a SOAP response). Pure: no network. Raises
        :class:`~dlrpoll.errors.SourceResponseError` when the envelope is not readable. A
        source that never produces envelopes returns ``[]``."""
        ...
