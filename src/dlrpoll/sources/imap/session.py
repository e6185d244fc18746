"""One IMAP session of a poll: select, list, fetch in batches, then act on exactly the
journaled messages (see :mod:`dlrpoll.sources.imap` for the order and the safety argument)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from imapclient import exceptions as imap_exc

from dlrpoll.config import ImapSourceConfig, format_size
from dlrpoll.errors import SourceError, SourceProtocolError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.base import Batch, KnownIds
from dlrpoll.sources.imap.client import Connection, logout
from dlrpoll.sources.imap.errors import IO_ERRORS, broken, map_error, server_text
from dlrpoll.sources.imap.folder import check_policy, ensure_move_to, note_uidvalidity, select
from dlrpoll.sources.imap.pipeline import Pipeline
from dlrpoll.sources.imap.plan import Ack, Classify, Limits, Sizes, Unit, plan
from dlrpoll.sources.imap.uids import remote_id, uid_set

__all__ = ["ImapSession"]

log = logging.getLogger(__name__)

#: UIDs per ``UID SEARCH``: keeps each answer line far below imaplib's 1 MB line limit.
SEARCH_SPAN = 50_000
#: Messages in a row the server fails to return before the fault is taken to be the server's
#: or the network's, not a message's: the poll then ends with that error.
MAX_FAILURES = 3
#: MOVEs (or \\Seen STOREs) are sent for this many messages at a time: a server pays for
#: each command (Dovecot about 50 ms) besides each message.
ACK_GROUP = 2000
#: What is fetched of each message: the whole of it, without setting \Seen. (Its size is
#: known already, from the server's RFC822.SIZE; asking again would only lengthen every
#: answer line, which IMAPClient reads character by character.)
FETCH = ["BODY.PEEK[]"]


class ImapSession:
    """A signed-in session on one folder. ``reconnect`` signs in again after the server or
    the network dropped the connection while fetching (so one unreadable message, which
    makes some servers hang up, does not end the poll)."""

    def __init__(
        self, cfg: ImapSourceConfig, conn: Connection, reconnect: Callable[[], Connection]
    ) -> None:
        self.name = cfg.name
        self._cfg = cfg
        self._client = conn.client
        self._pipe = Pipeline(conn.client)
        self._reconnect = reconnect
        self._policy = cfg.after_store
        #: UIDs of committed batches whose MOVE / \\Seen STORE is not sent yet
        self._gathered: list[int] = []
        self._limits = Limits(
            cfg.after_store, cfg.fetch_batch, cfg.max_messages, cfg.max_size, "MOVE" in conn.caps
        )
        check_policy(cfg, conn.caps)
        self.uidvalidity, self._info = select(self._client, cfg)
        #: (old, new) when this session found the folder's UIDVALIDITY changed
        self.uidvalidity_changed = note_uidvalidity(cfg, self.uidvalidity)
        if self._policy == "move":
            ensure_move_to(self._client, cfg)

    def _error(self, what: str, exc: BaseException) -> SourceError:
        return map_error(self.name, what, exc, self._cfg.timeout)

    # -- listing ---------------------------------------------------------------------------
    def _search(self, *criteria: Any) -> list[int]:
        """``UID SEARCH`` over the whole folder, in spans of :data:`SEARCH_SPAN` UIDs."""
        try:
            return self._search_raw(*criteria)
        except IO_ERRORS as exc:
            raise self._error(f"UID SEARCH {' '.join(map(str, criteria)) or 'ALL'}", exc) from exc

    def _search_raw(self, *criteria: Any) -> list[int]:
        if not self._info.get(b"EXISTS"):
            return []
        uidnext = self._info.get(b"UIDNEXT")
        spans: list[list[Any]] = [list(criteria) or ["ALL"]]
        if isinstance(uidnext, int) and uidnext > SEARCH_SPAN:
            spans = [
                ["UID", f"{low}:{low + SEARCH_SPAN - 1}", *criteria]
                for low in range(1, uidnext, SEARCH_SPAN)
            ]
        found: set[int] = set()
        for span in spans:
            found.update(int(u) for u in self._client.search(span))
        return sorted(found)

    def _plan(self, known: KnownIds) -> Iterator[Unit]:
        uids = self._search()
        log.debug("source %s: %d message(s) in %s", self.name, len(uids), self._cfg.folder)
        if not uids:
            return iter(())
        flag, fallback = self._policy == "flag", self._policy == "move" and not self._limits.move
        return plan(
            uids,
            known,
            self.uidvalidity,
            self._limits,
            classify=self._classifier(),
            unseen=set(self._search("UNSEEN")) if flag else set(),
            deleted=set(self._search("DELETED")) if fallback else set(),
            source=self.name,
        )

    def _classifier(self) -> Classify:
        """How to learn new messages' sizes (RFC822.SIZE, the server's count): one
        ``UID SEARCH LARGER`` for the whole folder finds the few that are not small, and only
        theirs are fetched. When the server cannot search by size (it must read a damaged
        message to know its size), every window's sizes are fetched instead, message by
        message where needed, so an unreadable message costs only itself."""
        limits = self._limits
        try:
            candidates = set(self._search_raw("LARGER", min(limits.small, limits.max_size)))
        except IO_ERRORS as exc:
            log.info(
                "source %s: the server could not search by size (%s); asking each window's "
                "sizes instead",
                self.name,
                server_text(exc),
            )
            self._recover(exc)  # some servers hang up on a message they cannot read
            return self._sizes_by_fetch

        def by_search(uids: list[int]) -> Sizes:
            bigger = [u for u in uids if u in candidates]
            return self._sizes_by_fetch(bigger) if bigger else Sizes()

        return by_search

    def _sizes_by_fetch(self, uids: list[int]) -> Sizes:
        data, failed = self._fetch_now(uids, ["RFC822.SIZE"])
        sizes = Sizes(unreadable=failed)
        for uid in uids:
            size = data.get(uid, {}).get(b"RFC822.SIZE")
            if isinstance(size, int) and size > self._limits.max_size:
                sizes.oversize[uid] = size
            elif isinstance(size, int) and size > self._limits.small:
                sizes.large.add(uid)
        return sizes

    # -- fetching --------------------------------------------------------------------------
    def _recover(self, exc: BaseException) -> None:
        """After a failed command: sign in again if the connection is gone. Whatever was
        sent and not answered on the old connection is forgotten: acknowledgements it may
        not have carried out are repeated by the next poll (their messages are journaled)."""
        if not broken(exc):
            return
        log.info("source %s: connection lost (%s); signing in again", self.name, server_text(exc))
        self._pipe.abandon()
        try:
            self._client.shutdown()
        except IO_ERRORS:
            pass
        self._client = self._reconnect().client
        self._pipe = Pipeline(self._client)
        before = self.uidvalidity
        self.uidvalidity, self._info = select(self._client, self._cfg)
        if self.uidvalidity != before:
            self._gathered = []  # these UIDs name other messages now, or none
            raise SourceProtocolError(
                self.name,
                f"UIDVALIDITY of {self._cfg.folder!r} changed during the poll ({before} → "
                f"{self.uidvalidity}); what was journaled is kept, the rest waits for the next "
                "poll",
            )

    def _send(self, unit: Unit | None) -> str | None:
        """Send the fetch of ``unit`` ahead; its answer is read by :meth:`_receive`."""
        if unit is None or not unit.fetch:
            return None
        try:
            return self._pipe.send_fetch(unit.fetch, FETCH)
        except IO_ERRORS as exc:
            self._recover(exc)
            return None  # _receive fetches them one by one

    def _fetch_now(
        self, uids: Sequence[int], attrs: list[str]
    ) -> tuple[dict[int, dict[bytes, Any]], dict[int, str]]:
        """``UID FETCH attrs`` of ``uids`` and wait: the answers, and the UIDs the server
        failed to return with its reason."""
        try:
            return self._pipe.receive_fetch(self._pipe.send_fetch(uids, attrs), uids), {}
        except IO_ERRORS as exc:
            return self._one_by_one(uids, exc, attrs)

    def _one_by_one(
        self, uids: Sequence[int], first: BaseException, attrs: list[str] = FETCH
    ) -> tuple[dict[int, dict[bytes, Any]], dict[int, str]]:
        """Fetch ``uids`` one at a time after ``first`` failed the batch (signing in again
        where the server hung up), so one bad message costs only itself;
        :data:`MAX_FAILURES` failures in a row end the poll."""
        log.warning(
            "source %s: UID FETCH of %d message(s) failed (%s); fetching them one at a time",
            self.name,
            len(uids),
            server_text(first),
        )
        self._recover(first)
        data: dict[int, dict[bytes, Any]] = {}
        failed: dict[int, str] = {}
        streak = 0
        for uid in uids:
            try:
                data.update(self._pipe.receive_fetch(self._pipe.send_fetch([uid], attrs), [uid]))
                streak = 0
            except IO_ERRORS as exc:
                failed[uid] = server_text(exc)
                streak += 1
                if streak >= MAX_FAILURES:
                    raise self._error(
                        f"UID FETCH ({streak} messages in a row failed)", exc
                    ) from exc
                self._recover(exc)
        return data, failed

    def _receive(self, unit: Unit, tag: str | None) -> tuple[list[RawItem], list[str]]:
        if not unit.fetch:
            return [], []
        failed: dict[int, str] = {}
        try:
            if tag is None:
                raise SourceProtocolError(self.name, "the fetch could not be sent")
            data = self._pipe.receive_fetch(tag, unit.fetch)
        except (OSError, imap_exc.IMAPClientError, SourceProtocolError) as exc:
            data, failed = self._one_by_one(unit.fetch, exc)
        items: list[RawItem] = []
        held: list[str] = []
        max_size = self._cfg.max_size
        for uid in unit.fetch:
            got = data.get(uid)
            if uid in failed:
                held.append(self._unreadable(uid, failed[uid]))
            elif got is None:
                log.info("source %s: UID %d is gone (expunged meanwhile)", self.name, uid)
            elif not isinstance(got.get(b"BODY[]"), bytes):
                held.append(self._unreadable(uid, "the server returned no body for it"))
            elif len(got[b"BODY[]"]) > max_size:
                # the server's size search missed it: never journal more than max_size
                held.append(self._oversize(uid, len(got[b"BODY[]"])))
            else:
                body: bytes = got[b"BODY[]"]
                items.append(
                    RawItem(remote_id(self.uidvalidity, uid), body, RawFormat.EMAIL, ack=uid)
                )
        return items, held

    def _held(self, uid: int, why: str) -> str:
        text = f"UID {uid} in {self._cfg.folder} {why}"
        log.warning("source %s: %s", self.name, text)
        return text

    def _unreadable(self, uid: int, reason: str) -> str:
        return self._held(
            uid,
            f"could not be fetched ({reason}); it stays on the server and is tried again at "
            "every poll; the server's log may say why (a damaged message?)",
        )

    def _oversize(self, uid: int, size: int) -> str:
        cfg = self._cfg
        return self._held(
            uid,
            f"is {format_size(size)}, over max_size {format_size(cfg.max_size)}; it stays on "
            f"the server: raise max_size to fetch it, or move it out of {cfg.folder}",
        )

    def _left_alone(self, unit: Unit | None) -> list[str]:
        """Describe a unit's oversize and unreadable messages."""
        if unit is None:
            return []
        held = [self._unreadable(uid, why) for uid, why in unit.unreadable.items()]
        return held + [self._oversize(uid, size) for uid, size in unit.oversize.items()]

    def batches(self, known: KnownIds) -> Iterator[Batch]:
        """New messages in batches, oldest first, each batch also naming the window's
        journaled messages still to acknowledge (``Batch.known``); oversize and unreadable
        messages go to ``Batch.held``. The next batch's fetch is sent before this one is
        handed over (see :mod:`dlrpoll.sources.imap.pipeline`)."""
        units = self._plan(known)
        unit = next(units, None)
        held = self._left_alone(unit)
        tag = self._send(unit)
        while unit is not None:
            items, bad = self._receive(unit, tag)
            self._settle(wait=False)
            after = next(units, None)
            held_after = self._left_alone(after)
            tag = self._send(after)
            yield Batch(
                items=items,
                known=unit.known,
                held=held + bad,
                ack=Ack([int(i.ack) for i in items] + unit.ack.uids, unit.ack.expunge),
            )
            unit, held = after, held_after

    # -- acknowledging and ending ----------------------------------------------------------
    def _settle(self, *, wait: bool) -> None:
        try:
            refused = self._pipe.settle(wait=wait)
        except IO_ERRORS as exc:
            raise self._error("reading the answers to after_store commands", exc) from exc
        if refused:
            what, text = refused[0]
            raise SourceProtocolError(
                self.name,
                f"{what} refused by the server ({text}); those messages are journaled and "
                "the next poll tries again",
            )

    def acknowledge(self, batch: Batch) -> None:
        """Act per ``after_store`` on the batch's messages. The poller calls this only after
        every item of the batch is committed to the journal, and the batch names only
        messages journaled whole (fetched in this session, or found in the journal).

        MOVE and the \\Seen STORE are gathered over batches and sent for
        :data:`ACK_GROUP` messages at a time without waiting (a server pays for every command
        as well as for every message; their answers are read with the next exchange); the
        rest go out when the session ends. The copy fallback runs at once and waits for each
        step, as each depends on the one before."""
        ack = batch.ack
        if not isinstance(ack, Ack) or not ack or self._policy == "keep":
            return
        if self._policy == "flag" or (self._policy == "move" and self._limits.move):
            self._gathered += ack.uids
            if len(self._gathered) >= ACK_GROUP:
                self._send_gathered()
            return
        cfg = self._cfg
        what = f'after_store = "{self._policy}" of {len(ack.uids) + len(ack.expunge)} message(s)'
        # copy, then \Deleted, then UID EXPUNGE of exactly these: each step only once the
        # one before succeeded
        both = uid_set(ack.uids + ack.expunge)
        steps: list[tuple[str, tuple[str | bytes, ...]]] = [
            ("STORE", (both, "+FLAGS.SILENT", r"(\Deleted)")),
            ("EXPUNGE", (both,)),
        ]
        if self._policy == "move" and ack.uids:
            assert cfg.move_to is not None
            steps.insert(0, ("COPY", (uid_set(ack.uids), self._pipe.folder(cfg.move_to))))
        try:
            self._settle(wait=True)
            for command, args in steps:
                refused = self._pipe.run(command, *args)
                if refused is not None:
                    raise SourceProtocolError(
                        self.name,
                        f"{what}: UID {command} refused by the server ({refused}); those "
                        "messages are journaled and the next poll tries again",
                    )
        except IO_ERRORS as exc:
            what += " (they are journaled; the next poll tries again)"
            raise self._error(what, exc) from exc

    def _send_gathered(self) -> None:
        """Send the gathered MOVE or \\Seen STORE (all for journaled messages)."""
        uids, self._gathered = self._gathered, []
        if not uids:
            return
        what = f'after_store = "{self._policy}" of {len(uids)} message(s)'
        try:
            if self._policy == "flag":
                self._pipe.send_ack(what, "STORE", uid_set(uids), "+FLAGS.SILENT", r"(\Seen)")
            else:
                assert self._cfg.move_to is not None
                folder = self._pipe.folder(self._cfg.move_to)
                self._pipe.send_ack(what, "MOVE", uid_set(uids), folder)
        except IO_ERRORS as exc:
            what += " (they are journaled; the next poll tries again)"
            raise self._error(what, exc) from exc

    def quit(self) -> None:
        """Send what is gathered, read the answers still due (a refused MOVE is an error),
        then ``LOGOUT``."""
        try:
            self._send_gathered()
            self._settle(wait=True)
        finally:
            logout(self._client)

    def abort(self) -> None:
        """End after an error. What is gathered is for journaled messages (the poller
        acknowledges only committed batches), so it is still sent if the connection allows;
        IMAP applies commands as they come: there is nothing to take back."""
        try:
            self._send_gathered()
            self._pipe.settle(wait=True)
        except (OSError, imap_exc.IMAPClientError, SourceError):
            pass
        logout(self._client)
