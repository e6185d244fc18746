"""What a poll did: its outcome and its counts, in one shape for the poller, the store's
``poll_runs``, ``status`` and the metrics."""

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
    """Raw items newly journaled (``fetched``), receipts new to the database (``stored``),
    receipts already there (``duplicates``), raw items quarantined (``quarantined``)."""

    fetched: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            self.fetched + other.fetched,
            self.stored + other.stored,
            self.duplicates + other.duplicates,
            self.quarantined + other.quarantined,
        )

    def text(self) -> str:
        """``fetched 3, stored 2, duplicates 1, quarantined 0``, for logs and ``poll``."""
        return (
            f"fetched {self.fetched}, stored {self.stored}, "
            f"duplicates {self.duplicates}, quarantined {self.quarantined}"
        )
