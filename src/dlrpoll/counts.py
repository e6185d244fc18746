"""What a poll (or a part of one) did: its outcome, and its counts of the journal and the
receipts, in one frozen shape.

A shared leaf (it imports nothing of ours): the store returns it, the poller adds it up,
``poll_runs`` records it, ``status`` and the metrics show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """How a poll ended; the value is what ``poll_runs.outcome`` holds."""

    #: everything fetched was journaled, stored and acknowledged
    OK = "ok"
    #: stored what it could; something waits for an operator (e.g. a message left on the
    #: server because it is over ``max_size``, or one the server could not return)
    PARTIAL = "partial"
    #: the poll failed; what was journaled before the failure is kept
    ERROR = "error"
    #: not polled: not due yet, or another poller holds the source
    SKIPPED = "skipped"
    #: stopped by a signal at a safe point
    INTERRUPTED = "interrupted"


@dataclass(frozen=True, slots=True)
class Counts:
    """``fetched``: raw items newly journaled; ``stored``: receipts new to the database;
    ``duplicates``: receipts already there (same scope, message id, state, done date and
    error code); ``quarantined``: raw items that could not be parsed. Add two with ``+``."""

    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def __add__(self, other: Counts) -> Counts:
        if not isinstance(other, Counts):
            return NotImplemented
        return Counts(
            self.fetched + other.fetched,
            self.stored + other.stored,
            self.duplicates + other.duplicates,
            self.quarantined + other.quarantined,
        )

    def text(self) -> str:
        """``fetched 12, stored 11, duplicates 1, quarantined 0``: for logs and output."""
        return (
            f"fetched {self.fetched}, stored {self.stored}, "
            f"duplicates {self.duplicates}, quarantined {self.quarantined}"
        )

    #: the store branch's name for :meth:`text`
    describe = text
