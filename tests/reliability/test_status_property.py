"""Property: for any receipts, arriving in any order, any number of times, in any batches and
through any of several sources, ``message_status`` equals the final-state rule computed
directly in Python from the distinct receipts.

Each example runs the parse-and-store paths the poller runs (``Store.journal``, the poller's
``Parser`` over each new raw item, ``Store.store_parsed``; for the "soap" source, items
parsed first and journaled with their receipts by ``Store.journal_and_store``) on an emptied
database, and reads the maintained ``message_status`` table. It runs for both ways the store
keeps that table: the SQL fold of each write (SQLite's) and the fold of the rows an insert
returns (every other database's), run on SQLite and on PostgreSQL. The rule, from the README's
schema section and ``store/status.py``:

- a receipt is a duplicate when scope, message id, state, done_at and error code are equal;
  the first to arrive is the one kept (its finality, status text and source);
- the earliest-arriving final receipt governs and is never replaced; ``conflict`` when two
  different final states were received;
- without a final one, the latest intermediate by done_at (none counts as oldest), then by
  arrival.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from dlrpoll.poller import Parser
from dlrpoll.rawitem import RawItem
from dlrpoll.receipts import State, build_profiles
from dlrpoll.store import ParsedRaw, Store
from dlrpoll.store.receipts import Receipts
from dlrpoll.store.tables import MESSAGE_STATUS_QUERY, iso

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
#: (source, dedupe scope): two sources share a scope, as a SOAP inbox and its mailbox do
SOURCES = (("soap", "shared"), ("mail", "shared"), ("other", "other"))
MESSAGE_IDS = ("M1", "M2", "M3")
#: SMPP done dates (UTC) and the instants they stand for; None: no done date
DONE = {
    None: None,
    "2401011200": datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
    "2401011300": datetime(2024, 1, 1, 13, 0, tzinfo=UTC),
    "2401020000": datetime(2024, 1, 2, 0, 0, tzinfo=UTC),
}
ERRORS = (None, "000", "0B1")

#: a status word for every (state, finality): finality belongs to the receipt
PROFILE = build_profiles(
    {
        "prop": {
            "format": "smpp",
            "states": {
                f"S{s.value}{'F' if final else 'I'}": {"state": s.name, "final": final}
                for s in State
                for final in (False, True)
            },
        }
    }
)["prop"]


@dataclass(frozen=True)
class Rcpt:
    message_id: str
    state: State
    final: bool
    done: str | None
    error_code: str | None
    #: the status word as sent; its case varies (kept verbatim, not part of the dedupe key)
    lower: bool

    @property
    def status(self) -> str:
        word = f"S{self.state.value}{'F' if self.final else 'I'}"
        return word.lower() if self.lower else word

    def text(self) -> str:
        done = f" done date:{self.done}" if self.done else ""
        err = self.error_code or ""
        return (
            f"id:{self.message_id} sub:001 dlvrd:001 submit date:2401011100{done} "
            f"stat:{self.status} err:{err} text:"
        )

    @property
    def done_iso(self) -> str | None:
        at = DONE[self.done]
        return None if at is None else iso(at)


receipts_st = st.builds(
    Rcpt,
    st.sampled_from(MESSAGE_IDS),
    st.sampled_from(list(State)),
    st.booleans(),
    st.sampled_from(list(DONE)),
    st.sampled_from(ERRORS),
    st.booleans(),
)


@dataclass(frozen=True)
class Item:
    """One raw item: its remote id and the receipts it holds (one: a text item; several:
    an e-mail with one receipt per line)."""

    remote_id: str
    receipts: tuple[Rcpt, ...]

    def raw(self) -> RawItem:
        if len(self.receipts) == 1:
            return RawItem(self.remote_id, self.receipts[0].text().encode(), "text")
        body = "\r\n".join(r.text() for r in self.receipts)
        mail = (
            f"From: dlr@provider.example\r\nSubject: DLR\r\nMessage-ID: <{self.remote_id}@x>\r\n"
            f"Content-Type: text/plain\r\n\r\n{body}\r\n"
        )
        return RawItem(self.remote_id, mail.encode(), "email")


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[int, list[Item]]]:
    """Batches, each from one source: new raw items drawn from a small pool of receipts (so
    they repeat), and now and then an item sent before, again (by any source)."""
    pool = draw(st.lists(receipts_st, min_size=1, max_size=8))
    sent: list[Item] = []
    batches: list[tuple[int, list[Item]]] = []
    for _ in range(draw(st.integers(1, 6))):
        source = draw(st.integers(0, len(SOURCES) - 1))
        items: list[Item] = []
        for _ in range(draw(st.integers(1, 4))):
            if sent and draw(st.integers(0, 4)) == 0:
                items.append(draw(st.sampled_from(sent)))  # redelivered, same remote id
                continue
            picks = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3))
            item = Item(f"r{len(sent)}", tuple(picks))
            sent.append(item)
            items.append(item)
        batches.append((source, items))
    return batches


@dataclass
class Kept:
    """A distinct receipt as stored: the first arrival of its dedupe key."""

    receipt: Rcpt
    arrival: int
    source: str
    received_at: str


def expected_status(batches: list[tuple[int, list[Item]]]) -> list[tuple[Any, ...]]:
    """``message_status`` rows computed from the rule, without SQL."""
    journaled: set[tuple[str, str]] = set()
    kept: dict[tuple[Any, ...], Kept] = {}
    arrival = 0
    for n, (source_index, items) in enumerate(batches):
        source, scope = SOURCES[source_index]
        now = iso(T0 + timedelta(seconds=n))
        for item in items:
            if (source, item.remote_id) in journaled:
                continue  # the journal knows it: not parsed or stored again
            journaled.add((source, item.remote_id))
            for r in item.receipts:
                key = (scope, r.message_id, r.state, r.done_iso, r.error_code)
                if key not in kept:
                    kept[key] = Kept(r, arrival, source, now)
                    arrival += 1
    by_message: dict[tuple[str, str], list[Kept]] = {}
    for (scope, mid, *_rest), k in kept.items():
        by_message.setdefault((scope, mid), []).append(k)
    out: list[tuple[Any, ...]] = []
    for (scope, mid), ks in sorted(by_message.items()):
        ks.sort(key=lambda k: k.arrival)
        finals = [k for k in ks if k.receipt.final]
        if finals:
            gov = finals[0]
        else:
            gov = max(ks, key=lambda k: (k.receipt.done_iso or "", k.arrival))
        r = gov.receipt
        conflict = int(len({k.receipt.state for k in finals}) > 1)
        out.append(
            (
                scope,
                mid,
                r.state.name,
                r.state.value,
                int(r.final),
                r.done_iso,
                len(ks),
                conflict,
                gov.source,
                r.status,
                r.error_code,
                min(k.received_at for k in ks),
                max(k.received_at for k in ks),
            )
        )
    return out


STATUS_COLUMNS = (
    "scope, message_id, state, state_code, final, done_at, receipts, conflict, "
    "source, provider_status, error_code, first_received_at, last_received_at"
)


def reset(store: Store) -> None:
    """Empty every table: one database serves all of a run's examples."""
    with store.write() as conn:
        for table in ("message_status", "receipts", "raw_messages", "poll_runs"):
            conn.execute(text(f"DELETE FROM {table}"))


def stored_status(
    store: Store, parser: Parser, batches: list[tuple[int, list[Item]]]
) -> tuple[int, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Run the batches through journal, parse and store as a poll does; returns how many
    items were quarantined, the table's rows, and the rule's reference query's rows."""
    quarantined = 0
    for n, (source_index, items) in enumerate(batches):
        source, scope = SOURCES[source_index]
        now = T0 + timedelta(seconds=n)
        raws = [i.raw() for i in items]
        if source == "soap":  # items of a SOAP response: parsed, then journaled with them
            pairs = [(raw, parser.parse(0, raw)) for raw in raws]
            _new, counts = store.journal_and_store(source, scope, pairs, now, durable=False)
            quarantined += counts.quarantined
            continue
        entries = store.journal(source, raws, now)
        parsed: list[ParsedRaw] = [parser.parse(e.raw_id, e.item) for e in entries if e.new]
        if parsed:
            quarantined += store.store_parsed(source, scope, parsed, now).quarantined
    with store.reader() as conn:
        table = conn.execute(
            text(f"SELECT {STATUS_COLUMNS} FROM message_status ORDER BY scope, message_id")
        ).all()
        reference = conn.execute(
            text(f"SELECT {STATUS_COLUMNS} FROM ({MESSAGE_STATUS_QUERY}) AS v ORDER BY 1, 2")
        ).all()
    return quarantined, [tuple(r) for r in table], [tuple(r) for r in reference]


@pytest.fixture(scope="module", params=["sql-fold", "returned-rows-fold", "postgresql"])
def status_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    """One database per way of keeping ``message_status``, emptied before each example:
    SQLite's own, the returned rows' on SQLite, and PostgreSQL (the returned rows')."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_urls")()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('dlrprop') / 'dlr.sqlite'}"
    store = Store(url, busy_timeout=5)
    if request.param == "returned-rows-fold":
        store._receipts = Receipts(store, serialized=False)
    yield store
    store.close()


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(batches=scenarios())
def test_message_status_follows_the_final_state_rule(
    status_store: Store, batches: list[tuple[int, list[Item]]]
) -> None:
    parser = Parser(PROFILE, UTC)
    reset(status_store)
    quarantined, table, reference = stored_status(status_store, parser, batches)
    assert quarantined == 0
    assert table == expected_status(batches)
    assert table == reference


def test_a_late_intermediate_never_moves_a_final_status(status_store: Store) -> None:
    """The rule's core, spelled out: DELIVERED (final) then a later ENROUTE with a later
    done date, then a conflicting final UNDELIVERABLE: DELIVERED stays, with conflict."""
    m = "M1"
    batches = [
        (0, [Item("a", (Rcpt(m, State.ENROUTE, False, "2401011200", None, False),))]),
        (0, [Item("b", (Rcpt(m, State.DELIVERED, True, "2401011300", "000", False),))]),
        (1, [Item("c", (Rcpt(m, State.ENROUTE, False, "2401020000", None, False),))]),
        (2, [Item("d", (Rcpt(m, State.UNDELIVERABLE, True, None, "0B1", False),))]),
        (1, [Item("e", (Rcpt(m, State.UNDELIVERABLE, True, None, "0B1", False),))]),
    ]
    parser = Parser(PROFILE, UTC)
    reset(status_store)
    _q, table, reference = stored_status(status_store, parser, batches)
    shared = [row for row in table if row[0] == "shared"]
    assert [(r[2], r[4], r[6], r[7], r[8]) for r in shared] == [("DELIVERED", 1, 4, 1, "soap")]
    assert table == expected_status(batches) == reference
