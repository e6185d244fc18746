"""A small database with known contents for the report, snapshot and Datasette tests,
written through the store's own insert path, its times relative to the real clock (the
canned queries compare with SQLite's 'now')."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dlrpoll.counts import Counts
from dlrpoll.rawitem import RawItem
from dlrpoll.receipts.model import Receipt, State
from dlrpoll.store import ParsedRaw, PollRun, Store


@dataclass(frozen=True)
class Event:
    source: str
    scope: str
    message_id: str
    state: State
    final: bool
    hours_ago: float  # when the receipt was stored
    seconds: float  # from submit to done
    error_code: str | None = "000"


#: soap: M1 (ENROUTE then DELIVERED, 12 s), M2 (DELIVERED, 20 s), M3 (UNDELIVERABLE 0B1,
#: 90 s); mail: M4 (ENROUTE only, 30 h ago), M5 (DELIVERED, 5 s), M6 (ENROUTE, 1 h ago)
EVENTS = (
    Event("soap", "acme", "M1", State.ENROUTE, False, 5, 3),
    Event("soap", "acme", "M1", State.DELIVERED, True, 4.5, 12),
    Event("soap", "acme", "M2", State.DELIVERED, True, 26, 20),
    Event("soap", "acme", "M3", State.UNDELIVERABLE, True, 3, 90, "0B1"),
    Event("mail", "mail", "M4", State.ENROUTE, False, 30, 2),
    Event("mail", "mail", "M5", State.DELIVERED, True, 2, 5),
    Event("mail", "mail", "M6", State.ENROUTE, False, 1, 1),
)
#: raw items quarantined per source
QUARANTINED = {"soap": 2, "mail": 1}
#: (source, outcome) of the recorded polls
POLLS = (("soap", "ok"), ("soap", "ok"), ("soap", "error"), ("mail", "ok"))


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fill(store: Store, at: datetime) -> None:
    for n, e in enumerate(EVENTS):
        when = at - timedelta(hours=e.hours_ago)
        [entry] = store.journal(e.source, [RawItem(f"r{n}", f"receipt {n}".encode(), "text")], when)
        done = when - timedelta(seconds=1)
        r = Receipt(
            message_id=e.message_id,
            state=e.state,
            final=e.final,
            provider_status=e.state.name[:7],
            format="smpp",
            error_code=e.error_code,
            submitted_at=done - timedelta(seconds=e.seconds),
            done_at=done,
        )
        store.store_parsed(e.source, e.scope, [ParsedRaw(entry.raw_id, [r])], when)
    for source, count in QUARANTINED.items():
        items = [
            RawItem(f"q{source}{i}", f"garbage {i}".encode(), "text", f"unreadable #{i}")
            for i in range(count)
        ]
        store.journal(source, items, at - timedelta(hours=2))
    for n, (source, outcome) in enumerate(POLLS):
        started = at - timedelta(hours=3, minutes=n)
        counts = Counts(1, 1, 0, 0) if outcome == "ok" else Counts()
        store.record_poll(
            PollRun(
                source, started, started, outcome, counts, "refused" if outcome == "error" else None
            )
        )
