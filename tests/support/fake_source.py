"""The one fake source for unit tests of the poller and the scheduler (protocol tests use
real servers). It serves queued batches of raw items, records what the poller did with them,
and declares the source interface's facts (``consumes``, ``fetch_headroom``, ``containers``,
``records``) as the test sets them, so a test can play any kind of source."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from dlrpoll.errors import SourceConnectError, SourceResponseError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources import Batch, KnownIds


class FakeSession:
    def __init__(self, source: FakeSource) -> None:
        self.source = source

    def batches(self, known: KnownIds) -> Iterator[Batch]:
        for batch in self.source.queue:
            if isinstance(batch, Batch):
                self.source.events.append(("fetch", len(batch.items)))
                yield batch
                continue
            ids = [i.remote_id for i in batch if i.remote_id is not None]
            seen = known(ids)
            new = [i for i in batch if i.remote_id not in seen]
            self.source.events.append(("fetch", len(new)))
            yield Batch(items=new, known=sorted(seen))
            if self.source.fail_after_first:
                raise SourceConnectError(self.source.name, "connection reset by peer")

    def acknowledge(self, batch: Batch) -> None:
        self.source.events.append(("ack", len(batch.items) + len(batch.known)))
        self.source.acked.extend(i.remote_id for i in batch.items)
        self.source.acknowledged.extend([i.remote_id for i in batch.items] + list(batch.known))


@dataclass
class FakeSource:
    """``queue``: batches to serve, each a list of raw items or a ready :class:`Batch`.
    ``on_open``: called at every session start (count polls, or raise to fail the login).
    An envelope's items are its payload's lines; an envelope starting ``<bad`` is unreadable.
    """

    name: str = "fake"
    queue: list[list[RawItem] | Batch] = field(default_factory=list)
    fail_after_first: bool = False
    on_open: Callable[[FakeSource], None] | None = None
    consumes: bool = False
    fetch_headroom: int = 0
    containers: frozenset[RawFormat] = frozenset({RawFormat.SOAP_ENVELOPE})
    records: frozenset[RawFormat] = frozenset()
    events: list[tuple[str, int]] = field(default_factory=list)
    acked: list[str | None] = field(default_factory=list)
    #: every id acknowledged, fetched or already journaled
    acknowledged: list[str | None] = field(default_factory=list)
    opened: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def open(self) -> Iterator[FakeSession]:
        with self.lock:
            self.opened += 1
        if self.on_open is not None:
            self.on_open(self)
        yield FakeSession(self)

    def split(self, envelope: RawItem) -> list[RawItem]:
        if envelope.payload.startswith(b"<bad"):
            raise SourceResponseError(self.name, "expected NewSMSMessage items")
        return [
            RawItem(f"env-{n}", line, RawFormat.TEXT)
            for n, line in enumerate(envelope.payload.splitlines())
        ]
