"""One logged-in POP3 session: fetch new messages window by window, delete only what the
journal holds whole, ``QUIT``.

In DESIGN.md's order::

    CAPA, LIST, UIDL                (numbers and keys: listing.py)
    per window of ``pipeline_window`` messages:
        known(keys)                 which are journaled already (deleted, not fetched again)
        RETR new ones               pipelined when the server announces PIPELINING; a
                                    message over ``max_size`` (by the bytes received, never
                                    by LIST) is streamed past, its headers kept as a record
        → Batch                     the poller journals (commits), parses and stores it
        acknowledge(batch)          DELE the messages journaled whole, new and known
                                    (``delete = "after-store"`` only)
    QUIT                            the server applies the deletes here, not before

The rule: ``DELE`` only a message whose complete bytes are committed to the journal. A
message over ``max_size``, or one whose ``RETR`` the server refuses, stays on the server;
it is named in ``Batch.held`` (the poll ends ``partial``) and the rest goes on.

Pipelined answers are matched to commands by order alone. A server that breaks that
(answers out of order or mixed, RFC 2449 notwithstanding) is caught two ways: an answer
that is not one (the stream is out of step), and, whenever a pipelined window holds an
answer that leaves a message on the server, a second, one-command-at-a-time reading of
that window, which must agree (else a refusal or a record could be pinned on the wrong
message and the right one deleted). Either way the session goes on one command at a time,
on a new connection when the old one is out of step; DELEs sent on that one are forgotten
by the server and sent again once the mailbox is listed anew.

While the poller works on one batch, the first ``RETR``s of the next are already sent
(:meth:`Wire.send_ahead`), so the server prepares them meanwhile. Memory is bounded by a
batch, never by the mailbox or by one message's size: ``fetch.BATCH_BYTES`` by LIST size,
and at worst (LIST sizes far too small) ``pipeline_window`` messages of at most
``max_size`` each; a message over ``max_size`` takes a read chunk and its headers. A
message whose download was cut off is never handed over. A session that fails simply
ends, and the DELEs already sent (all for committed messages) take effect only if its
``QUIT`` goes through.
"""

from __future__ import annotations

import logging
import poplib
from collections.abc import Callable, Iterator, Sequence

from dlrpoll.config import Pop3SourceConfig
from dlrpoll.errors import SourceError, SourceProtocolError
from dlrpoll.sources.base import Batch, KnownIds
from dlrpoll.sources.pop3.client import close
from dlrpoll.sources.pop3.errors import IO_ERRORS, map_error, text_of
from dlrpoll.sources.pop3.fetch import Fetched, Unit, fingerprint, leaves, plan_window, sort_answers
from dlrpoll.sources.pop3.listing import Entry, scan
from dlrpoll.sources.pop3.wire import Response, Wire, WireGarbled

__all__ = ["Pop3Session"]

log = logging.getLogger(__name__)

#: Upper bound for a LIST or UIDL answer (100,000 messages take about 3 MB).
_LISTING_LIMIT = 256 * 1024 * 1024
#: A message is streamed past (not kept) above max_size; above this it is a runaway server.
_RUNAWAY = 4 * 1024**3
#: Commands of the next chunk sent before the current batch is handed over (small: the
#: answers wait in socket buffers while the poller works).
_READ_AHEAD = 256

#: Sources already told (in this process) that their server's pipelining is broken.
_warned_pipelining: set[str] = set()


class _Desync(Exception):
    """Pipelined answers came out of step (internal: the session falls back and goes on)."""


class Pop3Session:
    """One logged-in POP3 session (see the module docstring). ``reconnect`` logs in anew
    (with the source's retries) when pipelining breaks the connection's step."""

    def __init__(
        self,
        cfg: Pop3SourceConfig,
        client: poplib.POP3,
        reconnect: Callable[[], poplib.POP3] | None = None,
    ) -> None:
        self._cfg = cfg
        self.name = cfg.name
        self._client = client
        self._reconnect = reconnect
        self._wire = Wire(client.sock, client.file)
        try:
            caps = client.capa()
        except poplib.error_proto:
            caps = {}  # a server without CAPA (RFC 1939 only): no pipelining, no promises
        except IO_ERRORS as exc:
            raise self._error("CAPA", exc) from exc
        self.pipelining = "PIPELINING" in caps
        self._depth = cfg.pipeline_window if self.pipelining else 1
        self._known: KnownIds = lambda ids: set()
        self._budget = cfg.max_messages
        #: DELEs the server accepted on this connection (for the word after QUIT)
        self._deleted = 0
        #: pipelined answers came out of step while acknowledging: reconnect, then go on
        self._desync: _Desync | None = None
        #: a wire operation failed: the connection's state is unknown, only closing is safe
        self._broken = False

    def _error(self, what: str, exc: BaseException, *, pipelined: bool = True) -> Exception:
        """The error to raise for ``exc``: :class:`_Desync` when pipelined answers came out of
        step (or stopped coming while several were due), else ours, mapped."""
        self._broken = True
        if pipelined and self._depth > 1:
            if isinstance(exc, WireGarbled):
                return _Desync(f"{what}: {text_of(exc)}")
            if isinstance(exc, TimeoutError) and self._wire.in_flight > 0:
                return _Desync(f"{what}: no answer within {self._cfg.timeout:g} s")
        return map_error(self.name, what, exc, self._cfg.timeout)

    # -- exchanges -------------------------------------------------------------------------
    def listing(self, command: bytes) -> Response:
        """One listing command (``LIST``, ``UIDL``), answered in full (``listing.Conn``)."""
        try:
            [resp] = self._wire.exchange([command], multiline=True, limit=_LISTING_LIMIT, depth=1)
        except IO_ERRORS as exc:
            raise self._error(command.decode(), exc, pipelined=False) from exc
        return resp

    def _run(
        self, commands: Sequence[bytes], what: str, *, multiline: bool, depth: int | None = None
    ) -> list[Response]:
        """Send ``commands`` (pipelined unless ``depth`` is 1) and read every answer;
        multi-line answers are ``RETR``s, cut at ``max_size``."""
        depth = self._depth if depth is None else depth
        try:
            return list(
                self._wire.exchange(
                    commands,
                    multiline=multiline,
                    limit=_RUNAWAY,
                    depth=depth,
                    cut=self._cfg.max_size if multiline else None,
                )
            )
        except IO_ERRORS as exc:
            raise self._error(f"{what} ({len(commands)} command(s))", exc) from exc

    def _take_ahead(self) -> list[Response]:
        """The answers to the RETRs sent ahead (read before any other exchange)."""
        try:
            return self._wire.take_ahead()
        except IO_ERRORS as exc:
            raise self._error(f"RETR ({self._wire.ahead} command(s))", exc) from exc

    def _send_ahead(self, entries: Sequence[Entry]) -> None:
        """Send the first RETRs of the next chunk before its batch is asked for, so the
        server prepares those messages while the poller journals and stores this one."""
        if self._depth <= 1 or not entries:
            return
        ahead = [b"RETR %d" % e.num for e in entries[: min(_READ_AHEAD, self._depth)]]
        try:
            self._wire.send_ahead(ahead, multiline=True, limit=_RUNAWAY, cut=self._cfg.max_size)
        except IO_ERRORS as exc:
            raise self._error(f"RETR ({len(ahead)} command(s))", exc) from exc

    # -- fetching --------------------------------------------------------------------------
    def _retrieve(self, entries: Sequence[Entry]) -> list[Response]:
        """The ``RETR`` answers for ``entries``, in order, read so that each surely belongs
        to its message (see the module docstring)."""
        commands = [b"RETR %d" % e.num for e in entries]
        answers = self._take_ahead()
        rest = commands[len(answers) :]
        answers += self._run(rest, "RETR", multiline=True) if rest else []
        if self._depth > 1 and len(answers) > 1 and any(map(leaves, answers)):
            again = self._run(commands, "RETR, one at a time", multiline=True, depth=1)
            if [fingerprint(a) for a in answers] != [fingerprint(a) for a in again]:
                self._pipelining_broke("RETR answers differ when the commands go one at a time")
            answers = again
        return answers

    def _fetch(self, entries: Sequence[Entry]) -> Fetched:
        """Download ``entries``: what came whole (and the records of what is left on the
        server), with what may be deleted once it is committed."""
        got = sort_answers(self.name, entries, self._retrieve(entries), self._cfg.max_size)
        for note in got.held:
            log.warning("source %s: %s", self.name, note)
        fresh = len(got.ack)
        if got.by_content:
            # without a UIDL of their own, whether they are journaled shows only now
            seen = self._known([item.remote_id or "" for _n, item in got.by_content])
            for num, item in got.by_content:
                if item.remote_id in seen:
                    got.known_nums.append(num)
                    got.known_keys.append(item.remote_id or "")
                elif fresh < self._budget:
                    got.items.append(item)
                    got.ack.append(num)
                    fresh += 1
                # else: over max_messages, it waits on the server for the next poll
        self._budget -= fresh
        return got

    def _plan(self, entries: list[Entry]) -> Iterator[Unit]:
        """What to fetch, window by window (see :func:`plan_window`), until max_messages."""
        cfg = self._cfg
        for start in range(0, len(entries), cfg.pipeline_window):
            if self._budget <= 0:
                log.info(
                    "source %s: max_messages (%d) reached; the rest waits for the next poll",
                    self.name,
                    cfg.max_messages,
                )
                return
            window = entries[start : start + cfg.pipeline_window]
            yield from plan_window(self.name, window, self._known, cfg.max_size, self._budget)

    def batches(self, known: KnownIds) -> Iterator[Batch]:
        """Batches of new messages, a window at a time; each batch also names the already
        journaled messages of its window (``Batch.known``) so they can be deleted, and the
        messages left on the server (``Batch.held``)."""
        self._known = known
        while True:
            try:
                yield from self._batches()
                return
            except _Desync as exc:
                self._fall_back(exc)

    def _batches(self) -> Iterator[Batch]:
        entries = scan(self)
        log.debug("source %s: %d message(s) in the mailbox", self.name, len(entries))
        plan = self._plan(entries)
        unit = next(plan, None)
        while unit is not None:
            got = self._fetch(unit.new) if unit.new else Fetched()
            batch = Batch(
                items=got.items,
                known=got.known_keys + [e.key for e in unit.old if e.key],
                held=got.held + unit.held,
                ack=got.ack + got.known_nums + [e.num for e in unit.old],
            )
            unit_next = next(plan, None)
            if unit_next is not None:
                self._send_ahead(unit_next.new)
            yield batch
            if self._desync is not None:
                raise self._desync
            unit = unit_next

    def _pipelining_broke(self, reason: str) -> None:
        """Go on one command at a time (on this connection: it is still in step)."""
        self._warn_pipelining(reason)
        self._depth = 1

    def _warn_pipelining(self, reason: str) -> None:
        if self.name in _warned_pipelining:
            log.info("source %s: pipelining failed again (%s)", self.name, reason)
            return
        _warned_pipelining.add(self.name)
        log.warning(
            "source %s: the server announces PIPELINING but its answers to pipelined "
            "commands came out of order or mixed (%s); going on one command at a time for "
            "this session. Set pipeline_window = 1 for this source to avoid this",
            self.name,
            reason,
        )

    def _fall_back(self, exc: _Desync) -> None:
        """The connection is out of step: close it (the server forgets its DELEs), log in
        again and go on one command at a time, from a new listing."""
        self._warn_pipelining(str(exc))
        close(self._client)
        if self._reconnect is None:
            raise SourceProtocolError(
                self.name,
                f"pipelined answers came out of step ({exc}); set pipeline_window = 1",
            ) from exc
        self._client = self._reconnect()
        self._wire = Wire(self._client.sock, self._client.file)
        self._depth = 1
        self._deleted = 0
        self._desync = None
        self._broken = False

    # -- acknowledging and ending ----------------------------------------------------------
    def acknowledge(self, batch: Batch) -> None:
        """``DELE`` the batch's messages journaled whole (new and known), under ``delete =
        "after-store"``. The poller calls this only after the batch is committed to the
        journal; the server removes them at ``QUIT``."""
        if self._cfg.delete != "after-store":
            return
        nums = batch.ack if isinstance(batch.ack, list) else []
        if not nums:
            return
        try:
            self._take_ahead_into_next()
            answers = self._run([b"DELE %d" % n for n in nums], "DELE", multiline=False)
        except _Desync as exc:
            self._desync = exc  # batches() reconnects; the DELEs are sent again after
            return
        refused = [(n, r.status) for n, r in zip(nums, answers, strict=True) if not r.ok]
        self._deleted += len(nums) - len(refused)
        if refused:
            num, status = refused[0]
            raise SourceProtocolError(
                self.name,
                f"DELE refused for {len(refused)} message(s), e.g. {num}: "
                f"{status.decode('utf-8', 'replace')}; they are journaled and will be "
                "deleted at a later poll",
            )

    def _take_ahead_into_next(self) -> None:
        """Read the answers to the RETRs sent ahead (they come first on the wire), and keep
        them for the next chunk."""
        try:
            self._wire.collect_ahead()
        except IO_ERRORS as exc:
            raise self._error(f"RETR ({self._wire.ahead} command(s))", exc) from exc

    def quit(self) -> None:
        """End the session with ``QUIT``; the server applies the deletes now. A server that
        does not confirm is no failure: everything is journaled, and the next poll's listing
        shows what is still there and deletes it again."""
        try:
            try:
                if self._wire.ahead and not self._broken:
                    self._take_ahead_into_next()  # the caller stopped early: drop them
            except _Desync as exc:
                self._desync = exc
            if self._desync is not None:
                # no QUIT on a connection out of step: the server forgets this session's
                # DELEs; the messages are journaled, and the next poll deletes them
                self._warn_pipelining(str(self._desync))
                log.warning(
                    "source %s: the session ended without QUIT; its deletions wait for the "
                    "next poll",
                    self.name,
                )
                return
            if not self._wire.clean:
                raise SourceProtocolError(
                    self.name, "the session ended in the middle of an exchange"
                )
            try:
                answer: bytes | str = self._client.quit()
            except poplib.error_proto as exc:
                # poplib's own "-ERR EOF" is a str; the server's lines are bytes
                answer = exc.args[0] if exc.args else ""
                if isinstance(answer, str):
                    answer = "the connection closed without an answer"
            except OSError as exc:
                answer = f"{type(exc).__name__}: {text_of(exc)}"
            if not (isinstance(answer, bytes) and answer.startswith(b"+OK")):
                self._unconfirmed(answer)
        finally:
            close(self._client)

    def _unconfirmed(self, answer: bytes | str) -> None:
        said = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else answer
        if not self._deleted:
            log.info("source %s: QUIT not confirmed (%s); nothing was deleted", self.name, said)
            return
        log.warning(
            "source %s: the server did not confirm QUIT (%s), so the deletion of %d "
            "journaled message(s) is unconfirmed; the next poll lists the mailbox and deletes "
            "again those still there",
            self.name,
            said or "no answer",
            self._deleted,
        )

    def abort(self) -> None:
        """End after an error: ``QUIT`` when the connection is at a response boundary (the
        DELEs sent were all for committed messages, so applying them is right), otherwise
        just close, and the server forgets the session's deletes."""
        try:
            if self._wire.ahead and not self._broken:
                self._take_ahead_into_next()
            if self._wire.clean:
                self._client.quit()
        except (*IO_ERRORS, SourceError, _Desync) as exc:
            log.info("source %s: QUIT after an error failed: %s", self.name, text_of(exc))
        finally:
            close(self._client)
