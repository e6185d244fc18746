"""One logged-in POP3 session: fetch new messages window by window, delete what the
journal holds, ``QUIT``.

In DESIGN.md's order::

    CAPA, LIST, UIDL                (message numbers, sizes, stable ids: listing.py)
    per window of ``pipeline_window`` messages:
        known(ids)                  which are already journaled (not fetched again)
        RETR new ones               pipelined when the server announces PIPELINING;
                                    TOP n 0 for messages over ``max_size``
        → Batch                     the poller journals (commits), parses and stores it
        acknowledge(batch)          DELE the batch's messages and the known ones
                                    (``delete = "after-store"`` only)
    QUIT                            the server applies the deletes here, not before

While the poller works on one batch, the first ``RETR``s of the next are already sent
(``_READ_AHEAD``, :meth:`Wire.send_ahead`), so the server prepares them meanwhile.

Memory is bounded by a window (and by ``_BATCH_BYTES``), never by the mailbox. A message
whose download was cut off is never handed over, so it cannot be journaled half-read; it
stays on the server for the next poll. A session that fails simply ends, and the DELEs
already sent (all for committed messages) take effect only if its ``QUIT`` goes through.
"""

from __future__ import annotations

import logging
import poplib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dlrpoll.config import Pop3SourceConfig
from dlrpoll.errors import SourceError, SourceProtocolError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.base import Batch, KnownIds
from dlrpoll.sources.pop3.client import close
from dlrpoll.sources.pop3.errors import IO_ERRORS, human_size, map_error, text_of
from dlrpoll.sources.pop3.listing import Entry, header_keys, scan
from dlrpoll.sources.pop3.wire import Response, Wire

__all__ = ["Pop3Session"]

log = logging.getLogger(__name__)

#: A batch holds at most this many bytes of messages (by LIST size), whatever the window.
_BATCH_BYTES = 16 * 1024 * 1024
#: Upper bound for a LIST or UIDL answer (100,000 messages take about 3 MB).
_LISTING_LIMIT = 256 * 1024 * 1024
#: Commands of the next chunk sent before the current batch is handed over (small: the
#: answers wait in socket buffers while the poller works).
_READ_AHEAD = 256


@dataclass(slots=True)
class _Unit:
    """One batch to be: new messages to fetch, journaled ones to acknowledge with them."""

    new: list[Entry]
    old: list[Entry]


class Pop3Session:
    """One logged-in POP3 session (see the module docstring)."""

    def __init__(self, cfg: Pop3SourceConfig, client: poplib.POP3) -> None:
        self._cfg = cfg
        self.name = cfg.name
        self._client = client
        self._wire = Wire(client.sock, client.file)
        try:
            caps = client.capa()
        except poplib.error_proto:
            caps = {}  # a server without CAPA (RFC 1939 only): no pipelining, no promises
        except IO_ERRORS as exc:
            raise self._error("CAPA", exc) from exc
        self.pipelining = "PIPELINING" in caps
        self._depth = self._cfg.pipeline_window if self.pipelining else 1
        self._limit = 2 * self._cfg.max_size + 64 * 1024
        #: message number → the UIDL it shares with others (keyed by UIDL and header hash)
        self._dup_prefix: dict[int, str] = {}
        #: a wire operation failed: the connection's state is unknown, only closing is safe
        self._broken = False

    def _error(self, what: str, exc: BaseException) -> SourceError:
        self._broken = True
        return map_error(self.name, what, exc, self._cfg.timeout)

    # -- exchanges (listing.Conn) ----------------------------------------------------------
    def listing(self, command: bytes) -> Response:
        """One listing command (``LIST``, ``UIDL``), answered in full."""
        try:
            [resp] = self._wire.exchange([command], multiline=True, limit=_LISTING_LIMIT, depth=1)
        except IO_ERRORS as exc:
            raise self._error(command.decode(), exc) from exc
        return resp

    def run(self, commands: Sequence[bytes], what: str, *, multiline: bool) -> list[Response]:
        """Send ``commands`` (pipelined when allowed) and read every answer."""
        try:
            return list(
                self._wire.exchange(
                    commands, multiline=multiline, limit=self._limit, depth=self._depth
                )
            )
        except IO_ERRORS as exc:
            raise self._error(f"{what} ({len(commands)} command(s))", exc) from exc

    # -- fetching --------------------------------------------------------------------------
    def _commands(self, entries: Sequence[Entry]) -> list[bytes]:
        max_size = self._cfg.max_size
        return [b"RETR %d" % e.num if e.size <= max_size else b"TOP %d 0" % e.num for e in entries]

    def _send_ahead(self, entries: Sequence[Entry]) -> None:
        """Send the first commands of the next chunk before its batch is asked for, so the
        server prepares those messages while the poller journals and stores this one."""
        if not self.pipelining or not entries:
            return
        ahead = self._commands(entries[: min(_READ_AHEAD, self._depth)])
        try:
            self._wire.send_ahead(ahead, multiline=True, limit=self._limit)
        except IO_ERRORS as exc:
            raise self._error(f"RETR ({len(ahead)} command(s))", exc) from exc

    def _collect_ahead(self) -> None:
        """Read the answers to commands sent ahead, before any other exchange (``DELE``)."""
        try:
            self._wire.collect_ahead()
        except IO_ERRORS as exc:
            raise self._error(f"RETR ({self._wire.ahead} command(s))", exc) from exc

    def _fetch(self, entries: Sequence[Entry]) -> list[RawItem]:
        commands = self._commands(entries)
        try:
            answers = self._wire.take_ahead()
        except IO_ERRORS as exc:
            raise self._error(f"RETR ({self._wire.ahead} command(s))", exc) from exc
        rest = commands[len(answers) :]
        answers += self.run(rest, "RETR", multiline=True) if rest else []
        max_size = self._cfg.max_size
        items: list[RawItem] = []
        for entry, resp in zip(entries, answers, strict=True):
            assert entry.key is not None
            if not resp.ok:
                cmd = "RETR" if entry.size <= max_size else "TOP"
                raise SourceProtocolError(
                    self.name,
                    f"{cmd} {entry.num} (UIDL {entry.key}) refused: "
                    f"{resp.status.decode('utf-8', 'replace')}; the message stays on the "
                    "server and is tried again at the next poll",
                )
            if entry.size <= max_size:
                items.append(RawItem(entry.key, resp.body, RawFormat.EMAIL, ack=entry.num))
            else:
                reason = (
                    f"message is {human_size(entry.size)}, over max_size "
                    f"{human_size(max_size)}; only its headers were kept (raise max_size "
                    "to fetch such messages whole)"
                )
                log.warning("source %s: message %s: %s", self.name, entry.key, reason)
                items.append(
                    RawItem(
                        entry.key,
                        resp.body,
                        RawFormat.EMAIL_HEADERS,
                        parse_error=reason,
                        ack=entry.num,
                    )
                )
        return items

    def _plan(self, entries: list[Entry], known: KnownIds) -> Iterator[_Unit]:
        """What to fetch, window by window: chunks of new messages (bounded in bytes), each
        with the already-journaled messages to acknowledge along with it."""
        cfg = self._cfg
        budget = cfg.max_messages
        for start in range(0, len(entries), cfg.pipeline_window):
            if budget <= 0:
                log.info(
                    "source %s: max_messages (%d) reached; the rest waits for the next poll",
                    self.name,
                    cfg.max_messages,
                )
                return
            window = entries[start : start + cfg.pipeline_window]
            header_keys(self, window, self._dup_prefix)
            seen = known([e.key for e in window if e.key is not None])
            old = [e for e in window if e.key in seen]
            new = [e for e in window if e.key not in seen][:budget]
            budget -= len(new)
            for chunk in _by_size(new, _BATCH_BYTES, cfg.max_size):
                yield _Unit(chunk, old)
                old = []
            if old:
                yield _Unit([], old)

    def batches(self, known: KnownIds) -> Iterator[Batch]:
        """Batches of new messages, a window at a time; each batch also names the already
        journaled messages of its window (``Batch.known``) so they can be deleted."""
        listing = scan(self)
        entries = listing.entries
        self._dup_prefix = listing.dup_prefix
        log.debug("source %s: %d message(s) in the mailbox", self.name, len(entries))
        fetched = 0
        plan = self._plan(entries, known)
        unit = next(plan, None)
        while unit is not None:
            items = self._fetch(unit.new) if unit.new else []
            fetched += len(items)
            # planning the next unit may need TOP (no UIDL): do it while the wire is idle,
            # then send the next RETRs ahead and hand this batch over
            unit_next = next(plan, None)
            if unit_next is not None:
                self._send_ahead(unit_next.new)
            yield self._batch(items, unit.old)
            unit = unit_next
        log.debug("source %s: fetched %d message(s)", self.name, fetched)

    @staticmethod
    def _batch(items: list[RawItem], old: Sequence[Entry]) -> Batch:
        nums = [int(i.ack) for i in items] + [e.num for e in old]
        return Batch(items=items, known=[e.key for e in old if e.key is not None], ack=nums)

    # -- acknowledging and ending ----------------------------------------------------------
    def acknowledge(self, batch: Batch) -> None:
        """``DELE`` the batch's messages (new and known), under ``delete = "after-store"``.
        The poller calls this only after the batch is committed to the journal; the server
        removes them at ``QUIT``."""
        if self._cfg.delete != "after-store":
            return
        nums = batch.ack if isinstance(batch.ack, list) else []
        if not nums:
            return
        self._collect_ahead()  # their answers come first on the wire
        answers = self.run([b"DELE %d" % n for n in nums], "DELE", multiline=False)
        refused = [(n, r.status) for n, r in zip(nums, answers, strict=True) if not r.ok]
        if refused:
            num, status = refused[0]
            raise SourceProtocolError(
                self.name,
                f"DELE refused for {len(refused)} message(s), e.g. {num}: "
                f"{status.decode('utf-8', 'replace')}; they are journaled and will be "
                "deleted at a later poll",
            )

    def quit(self) -> None:
        """End the session with ``QUIT``; the server applies the deletes now."""
        try:
            if self._wire.ahead and not self._broken:
                self._collect_ahead()  # the caller stopped early: drop what was read ahead
            if not self._wire.clean:
                raise SourceProtocolError(
                    self.name, "the session ended in the middle of an exchange"
                )
            self._client.quit()
        except IO_ERRORS as exc:
            raise self._error("QUIT (deleting the acknowledged messages)", exc) from exc
        finally:
            close(self._client)

    def abort(self) -> None:
        """End after an error: ``QUIT`` when the connection is at a response boundary (the
        DELEs sent were all for committed messages, so applying them is right), otherwise
        just close, and the server forgets the session's deletes."""
        try:
            if self._wire.ahead and not self._broken:
                self._collect_ahead()
            if self._wire.clean:
                self._client.quit()
        except (*IO_ERRORS, SourceError) as exc:
            log.info("source %s: QUIT after an error failed: %s", self.name, text_of(exc))
        finally:
            close(self._client)


def _by_size(entries: Sequence[Entry], max_bytes: int, max_size: int) -> Iterator[list[Entry]]:
    """Consecutive chunks of ``entries`` whose (LIST) sizes add up to at most ``max_bytes``;
    a single message is a chunk of its own whatever its size. Oversize messages count as
    their headers only."""
    chunk: list[Entry] = []
    total = 0
    for entry in entries:
        size = entry.size if entry.size <= max_size else 64 * 1024
        if chunk and total + size > max_bytes:
            yield chunk
            chunk, total = [], 0
        chunk.append(entry)
        total += size
    if chunk:
        yield chunk
