"""What every source is: open a session, hand over raw items in batches, acknowledge them.

The poller drives a session in the order DESIGN.md gives (journal, parse, store, then
acknowledge); a source never decides on its own to delete or mark anything. Everything the
poller must know about a kind of source is declared here, on the source, so that the poller
never looks at a source's configuration or kind:

- ``consumes``: whether fetching consumes what it returns (the server forgets it as it
  answers, like a destructive SOAP call): such a fetch may only start when there is room to
  journal its answer, and an answer lost after the request went out is a possible loss;
- ``fetch_headroom``: the free bytes the database's disk must have before each fetch;
- ``containers``: raw formats that hold several items (``split`` opens them) and are never
  parsed themselves;
- ``records``: raw formats journaled as records of items left on the server (never parsed,
  never re-parsed: the fix lies with the source, e.g. a larger ``max_size``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

from dlrpoll.rawitem import RawFormat, RawItem

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
    acknowledging. ``held`` describes items deliberately left on the server that need an
    operator (an oversize message, one the server could not return): each makes the poll's
    outcome ``partial``. ``ack`` is the source's own note of what to acknowledge.
    """

    items: list[RawItem] = field(default_factory=list)
    envelope: RawItem | None = None
    known: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
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

    @property
    def consumes(self) -> bool:
        """Whether a fetch consumes what it returns (the server forgets it as it answers)."""
        ...

    @property
    def fetch_headroom(self) -> int:
        """Free bytes the database's disk needs before each fetch may start (0: no check)."""
        ...

    @property
    def containers(self) -> frozenset[RawFormat]:
        """Raw formats this source journals whole and opens with :meth:`split`."""
        ...

    @property
    def records(self) -> frozenset[RawFormat]:
        """Raw formats this source journals as records of items left on the server."""
        ...

    def open(self) -> AbstractContextManager[Session]:
        """Connect and log in; the context's exit ends the session cleanly (POP3 ``QUIT``)."""
        ...

    def split(self, envelope: RawItem) -> list[RawItem]:
        """The items inside a journaled envelope (a SOAP response). Pure: no network. Raises
        :class:`~dlrpoll.errors.SourceResponseError` when the envelope is not readable.
        Called only for formats in :attr:`containers`."""
        ...
