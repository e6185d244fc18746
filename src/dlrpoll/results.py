"""What one poll did, as its caller sees it (:class:`PollResult`), and the one log line of
it (:func:`log_result`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from dlrpoll.counts import Counts, Outcome

#: One line per poll's result (ok, partial, error, skipped, interrupted). The daemon's log
#: keeps it; ``dlrpoll poll`` prints the same line on stdout and silences this logger, so a
#: result is shown once.
result_log = logging.getLogger("dlrpoll.result")


@dataclass(frozen=True)
class PollResult:
    """What one poll did, as recorded in ``poll_runs``. ``held`` describes items left on the
    server for an operator (they make the outcome ``partial``); a skipped poll says when the
    source is ``next_allowed``."""

    source: str
    outcome: str
    counts: Counts = Counts()
    error: str | None = None
    held: tuple[str, ...] = field(default=())
    next_allowed: datetime | None = None

    @property
    def fetched(self) -> int:
        return self.counts.fetched

    @property
    def stored(self) -> int:
        return self.counts.stored

    @property
    def duplicates(self) -> int:
        return self.counts.duplicates

    @property
    def quarantined(self) -> int:
        return self.counts.quarantined

    def line(self) -> str:
        """One human line for logs and ``dlrpoll poll``."""
        if self.outcome == Outcome.SKIPPED:
            return f"{self.source}: skipped: {self.error}"
        counts = self.counts.text()
        if self.outcome == Outcome.ERROR:
            return f"{self.source}: error: {self.error} ({counts})"
        if self.outcome == Outcome.PARTIAL:
            return f"{self.source}: partial: {self.error} ({counts})"
        if self.outcome == Outcome.INTERRUPTED and self.error:
            return f"{self.source}: interrupted: {self.error} ({counts})"
        return f"{self.source}: {self.outcome} ({counts})"


def log_result(result: PollResult) -> None:
    """The one log line of a poll's result, at the level it deserves."""
    level = {
        Outcome.ERROR: logging.ERROR,
        Outcome.PARTIAL: logging.WARNING,
        Outcome.INTERRUPTED: logging.WARNING,
    }.get(Outcome(result.outcome), logging.INFO)
    c = result.counts
    result_log.log(
        level,
        "poll %s",
        result.line(),
        extra={
            "source": result.source,
            "outcome": str(result.outcome),
            "fetched": c.fetched,
            "stored": c.stored,
            "duplicates": c.duplicates,
            "quarantined": c.quarantined,
            "error": result.error,
        },
    )
