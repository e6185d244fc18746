"""One poll's calls to a SOAP inbox, in one of its two modes.

``destructive``
    Call ``operation`` (it marks what it returns as read); a full batch (``batch_limit``
    items) means more are waiting, so call again, up to ``max_batches`` times. Only failures
    to connect are retried. A response lost after the request was sent (read timeout, reset)
    is :class:`~dlrpoll.errors.PossibleLossError`: the server may have marked receipts read
    that never reached the journal. A truncated or oversize response is journaled as far as
    it arrived, with the reason.
``two-phase``
    Peek at one message (``peek_operation``), hand it over, and set its read flag
    (``ack_operation``) only when the poller says it is committed. Everything before the
    read flag is retried; a crash in between re-reads the message and dedupe drops it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import zeep.exceptions

from dlrpoll.config import Secret
from dlrpoll.errors import SourceError, SourceProtocolError, SourceResponseError
from dlrpoll.rawitem import RawItem
from dlrpoll.sources.base import Batch, KnownIds
from dlrpoll.sources.soap import wsdl
from dlrpoll.sources.soap.envelope import fault_text, soap_body
from dlrpoll.sources.soap.failures import Stage, error, fault_stage, problem
from dlrpoll.sources.soap.transport import HttpFailure, Reply
from dlrpoll.sources.soap.xmlread import journal_form, read_tree

if TYPE_CHECKING:
    from dlrpoll.sources.soap.source import ArgValue, SoapSource

log = logging.getLogger(__name__)


class SoapSession:
    """One poll's calls to a SOAP inbox. Built by :meth:`SoapSource.open`."""

    def __init__(self, source: SoapSource, client: Any, proxy: Any) -> None:
        self.source = source
        self.cfg = source.cfg
        self.name = source.name
        self._client = client
        self._proxy = proxy

    # -- one call --------------------------------------------------------------------------
    def _call(self, operation: str, extra: Mapping[str, ArgValue], *, consuming: bool) -> Reply:
        inputs = wsdl.input_names(self.source.service(), operation)
        args = dict(self.source.args)
        if operation != self.cfg.operation:
            # peek and ack operations take only what their signature names
            args = {k: v for k, v in args.items() if k in inputs}
        args.update(extra)
        revealed = {k: v.reveal() if isinstance(v, Secret) else v for k, v in args.items()}
        try:
            with self._client.settings(raw_response=True):
                response = self._proxy[operation](**revealed)
        except HttpFailure as failure:
            return self._failed(operation, failure, consuming=consuming)
        except TypeError as exc:
            raise error(
                self.name,
                Stage.ARGS,
                consuming=consuming,
                where=self.cfg.where(),
                operation=operation,
                given=sorted(args),
                takes=sorted(inputs),
            ) from exc
        except (zeep.exceptions.Error, ValueError) as exc:
            detail = self.source.redact(str(exc))
            raise error(
                self.name, Stage.REQUEST, consuming=consuming, operation=operation, detail=detail
            ) from exc
        ctype = response.headers.get("Content-Type", "")
        reply = Reply(response.status_code, response.content, content_type=ctype)
        return self._checked(operation, reply, consuming)

    def _failed(self, operation: str, failure: HttpFailure, *, consuming: bool) -> Reply:
        reason = problem(
            self.name,
            failure.stage,
            consuming=consuming,
            operation=operation,
            detail=failure.detail,
            kept=len(failure.prefix),
        )
        return Reply(200, failure.prefix, reason, failure.content_type)

    def _checked(self, operation: str, reply: Reply, consuming: bool) -> Reply:
        if reply.status == 200:
            return reply
        fault = None
        try:
            fmt, data = journal_form(reply.content_type, reply.content)
            fault = fault_text(soap_body(self.name, read_tree(self.name, data, fmt)))
        except SourceError:
            pass
        if fault is not None:
            code, text = fault[0], self.source.redact(fault[1])
            stage = fault_stage(code, text)
            raise error(
                self.name, stage, consuming=consuming, operation=operation, code=code, text=text
            )
        stage = Stage.HTTP_5XX if reply.status >= 500 else Stage.HTTP_STATUS
        raise error(self.name, stage, consuming=consuming, operation=operation, status=reply.status)

    def _fetch(self, operation: str, extra: Mapping[str, ArgValue], consuming: bool) -> Reply:
        return self.source.retry.call(
            self.name, operation, lambda: self._call(operation, extra, consuming=consuming)
        )

    # -- the Session protocol --------------------------------------------------------------
    def batches(self, known: KnownIds) -> Iterator[Batch]:
        """Response envelopes, each to be journaled before its items are split out."""
        if self.cfg.mode == "two-phase":
            yield from self._peeks(known)
        else:
            yield from self._destructive()

    def _envelope(self, reply: Reply) -> RawItem:
        fmt, data = journal_form(reply.content_type, reply.content)
        return RawItem(None, data, fmt, parse_error=reply.problem)

    def _destructive(self) -> Iterator[Batch]:
        op = self.cfg.operation
        for n in range(1, self.cfg.max_batches + 1):
            envelope = self._envelope(self._fetch(op, {}, consuming=True))
            try:
                _items, count = self.source.split_cached(envelope)
            except SourceError:
                yield Batch(envelope=envelope)  # journaled as-is; the poller's split says why
                return
            yield Batch(envelope=envelope)
            if count < self.cfg.batch_limit:
                return
            if n == self.cfg.max_batches:
                log.info(
                    "source %s: %d full batches fetched (max_batches); the rest waits for "
                    "the next poll",
                    self.name,
                    n,
                )

    def _peeks(self, known: KnownIds) -> Iterator[Batch]:
        op = self.cfg.peek_operation
        previous: list[str] = []
        for _ in range(self.cfg.batch_limit * self.cfg.max_batches):
            envelope = self._envelope(self._fetch(op, {}, consuming=False))
            try:
                items, _count = self.source.split_cached(envelope)
            except SourceError:
                yield Batch(envelope=envelope)
                return
            if not items:
                return
            ids = [i.remote_id for i in items if i.remote_id]
            if len(ids) != len(items):
                raise SourceResponseError(
                    self.name,
                    f"{op} returned a message without {self.cfg.fields.get('remote_id')!r}; "
                    "two-phase mode needs it to set the read flag",
                )
            if ids == previous:
                raise SourceProtocolError(
                    self.name,
                    f"{self.cfg.ack_operation} did not mark {ids[0]} read: {op} returned it "
                    "again; check ack_operation and ack_arg",
                )
            previous = ids
            seen = known(ids)
            if seen.issuperset(ids):
                # journaled by a poll that stopped before the read flag: only flag it now
                yield Batch(known=ids, ack=ids)
            else:
                yield Batch(envelope=envelope, ack=ids)

    def acknowledge(self, batch: Batch) -> None:
        """Two-phase mode: set the read flag of each committed message. Destructive mode has
        nothing to do (the fetch marked them)."""
        if self.cfg.mode != "two-phase" or not isinstance(batch.ack, list):
            return
        for remote_id in batch.ack:
            # setting a read flag twice is harmless, so this is retried like a peek
            self._fetch(self.cfg.ack_operation, {self.cfg.ack_arg: str(remote_id)}, False)
