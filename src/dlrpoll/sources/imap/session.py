"""One IMAP session of a poll: select, list, fetch in batches, then act on exactly the
journaled messages (see :mod:`dlrpoll.sources.imap` for the order and the safety argument)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlrpoll.config import ImapSourceConfig, format_size
from dlrpoll.errors import SourceError, SourceProtocolError
from dlrpoll.rawitem import RawFormat, RawItem
from dlrpoll.sources.base import Batch, KnownIds
from dlrpoll.sources.imap.client import Connection, logout
from dlrpoll.sources.imap.errors import IO_ERRORS, broken, map_error, server_text
from dlrpoll.sources.imap.uids import by_bytes, remote_id, uid_set, windows

__all__ = ["ImapSession"]

log = logging.getLogger(__name__)

#: A batch holds at most this many bytes of messages (by RFC822.SIZE), whatever fetch_batch.
BATCH_BYTES = 16 * 1024 * 1024
#: UIDs per ``UID SEARCH``: keeps each answer line far below imaplib's 1 MB line limit.
SEARCH_SPAN = 50_000
#: Messages in a row the server fails to return before the fault is taken to be the server's
#: or the network's, not a message's: the poll then ends with that error.
MAX_FAILURES = 3

SEEN = b"\\Seen"
DELETED = b"\\Deleted"

#: UIDVALIDITY last seen per mailbox folder, in this process (to notice a change).
_last_uidvalidity: dict[tuple[str, str, int, str, str], int] = {}
_last_lock = threading.Lock()


@dataclass
class _Ack:
    """What to do to the server for one batch: act per ``after_store`` on ``uids``; under
    the copy-and-expunge fallback, ``expunge`` holds journaled messages copied already
    (marked ``\\Deleted`` by an earlier, interrupted poll) that only need expunging."""

    uids: list[int] = field(default_factory=list)
    expunge: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.uids or self.expunge)


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
        self._reconnect = reconnect
        self._policy = cfg.after_store
        self._move = "MOVE" in conn.caps
        self._check_policy(conn.caps)
        self.uidvalidity, self._info = self._select()
        #: (old, new) when this session found the folder's UIDVALIDITY changed
        self.uidvalidity_changed: tuple[int, int] | None = self._note_uidvalidity()
        if self._policy == "move":
            self._ensure_folder()

    # -- setting up ------------------------------------------------------------------------
    def _error(self, what: str, exc: BaseException) -> SourceError:
        return map_error(self.name, what, exc, self._cfg.timeout)

    def _check_policy(self, caps: frozenset[str]) -> None:
        policy = self._policy
        if policy == "move" and ("MOVE" in caps or "UIDPLUS" in caps):
            return
        if policy == "delete" and "UIDPLUS" in caps:
            return
        if policy in ("move", "delete"):
            need = "MOVE or UIDPLUS" if policy == "move" else "UIDPLUS"
            raise SourceProtocolError(
                self.name,
                f'after_store = "{policy}" needs {need}, which {self._cfg.host} does not '
                "offer: without UIDPLUS's UID EXPUNGE, removing messages would also remove any "
                "other message marked \\Deleted in the folder, including ones dlrpoll has not "
                'journaled. Nothing was fetched; use after_store = "flag" or "keep"',
            )

    def _select(self) -> tuple[int, dict[bytes, Any]]:
        cfg = self._cfg
        readonly = self._policy == "keep"  # EXAMINE: not even \Recent changes
        try:
            info: dict[bytes, Any] = self._client.select_folder(cfg.folder, readonly=readonly)
        except IO_ERRORS as exc:
            if broken(exc):
                raise self._error(f"selecting folder {cfg.folder!r}", exc) from exc
            raise SourceProtocolError(
                self.name,
                f"cannot open folder {cfg.folder!r} ({server_text(exc)}); check folder"
                f"{self._folder_hint()}",
            ) from exc
        uidvalidity = info.get(b"UIDVALIDITY")
        if not isinstance(uidvalidity, int):
            raise SourceProtocolError(
                self.name,
                f"the server gives no UIDVALIDITY for {cfg.folder!r}, so its UIDs cannot name "
                "messages safely across sessions; dlrpoll will not read this folder",
            )
        if not readonly and not info.get(b"READ-WRITE"):
            raise SourceProtocolError(
                self.name,
                f"folder {cfg.folder!r} is read-only for {cfg.username!r}; give the user write "
                f'access, or set after_store = "keep"',
            )
        return uidvalidity, info

    def _folder_hint(self) -> str:
        try:
            names = [str(f[2]) for f in self._client.list_folders()][:12]
        except IO_ERRORS:
            return ""
        return f" (the server has: {', '.join(names)})" if names else ""

    def _note_uidvalidity(self) -> tuple[int, int] | None:
        cfg = self._cfg
        key = (self.name, cfg.host, cfg.effective_port, cfg.username, cfg.folder)
        with _last_lock:
            old = _last_uidvalidity.get(key)
            _last_uidvalidity[key] = self.uidvalidity
        if old is None or old == self.uidvalidity:
            return None
        log.warning(
            "source %s: UIDVALIDITY of %s changed from %d to %d: the server renumbered the "
            "folder (a rebuilt or restored mailbox). Every message still in it is fetched "
            "again under its new UID; receipts already stored are recognised by their content "
            "and counted as duplicates, not stored twice",
            self.name,
            cfg.folder,
            old,
            self.uidvalidity,
        )
        return old, self.uidvalidity

    def _ensure_folder(self) -> None:
        dest = self._cfg.move_to
        assert dest is not None
        try:
            if not self._client.folder_exists(dest):
                self._client.create_folder(dest)
                log.info("source %s: created folder %r for processed messages", self.name, dest)
        except IO_ERRORS as exc:
            raise self._error(f"making sure folder {dest!r} (move_to) exists", exc) from exc

    # -- listing ---------------------------------------------------------------------------
    def _search(self, criteria: Any) -> list[int]:
        try:
            return [int(u) for u in self._client.search(criteria)]
        except IO_ERRORS as exc:
            raise self._error(f"UID SEARCH {criteria} in {self._cfg.folder!r}", exc) from exc

    def _all_uids(self) -> list[int]:
        if not self._info.get(b"EXISTS"):
            return []
        uidnext = self._info.get(b"UIDNEXT")
        if isinstance(uidnext, int) and uidnext > SEARCH_SPAN:
            found: list[int] = []
            for low in range(1, uidnext, SEARCH_SPAN):
                found += self._search(["UID", f"{low}:{low + SEARCH_SPAN - 1}"])
        else:
            found = self._search("ALL")
        return sorted(set(found))

    # -- fetching --------------------------------------------------------------------------
    def _recover(self, exc: BaseException) -> None:
        """After a failed command: sign in again if the connection is gone."""
        if not broken(exc):
            return
        log.info("source %s: connection lost (%s); signing in again", self.name, server_text(exc))
        try:
            self._client.shutdown()
        except IO_ERRORS:
            pass
        self._client = self._reconnect().client
        before = self.uidvalidity
        self.uidvalidity, self._info = self._select()
        if self.uidvalidity != before:
            raise SourceProtocolError(
                self.name,
                f"UIDVALIDITY of {self._cfg.folder!r} changed during the poll ({before} → "
                f"{self.uidvalidity}); what was journaled is kept, the rest waits for the next "
                "poll",
            )

    def _fetch_once(self, uids: Sequence[int], attrs: list[str]) -> dict[int, dict[bytes, Any]]:
        # a failed command leaves its untagged FETCHes behind: never take them for this one's
        self._client._imap.untagged_responses.pop("FETCH", None)
        data: dict[int, dict[bytes, Any]] = self._client.fetch(list(uids), attrs)
        return data

    def _fetch(
        self, uids: Sequence[int], attrs: list[str]
    ) -> tuple[dict[int, dict[bytes, Any]], dict[int, str]]:
        """``UID FETCH`` of ``attrs`` for ``uids``: the answers, and the messages the server
        failed to return with its reason. When the whole command fails, the messages are
        fetched one at a time (signing in again where the server hung up), so one bad message
        costs only itself; :data:`MAX_FAILURES` failures in a row end the poll."""
        what = f"UID FETCH {' '.join(attrs)} of {len(uids)} message(s)"
        try:
            return self._fetch_once(uids, attrs), {}
        except IO_ERRORS as exc:
            log.warning(
                "source %s: %s failed (%s); fetching them one at a time",
                self.name,
                what,
                server_text(exc),
            )
            self._recover(exc)
        data: dict[int, dict[bytes, Any]] = {}
        failed: dict[int, str] = {}
        streak = 0
        for uid in uids:
            try:
                data.update(self._fetch_once([uid], attrs))
                streak = 0
            except IO_ERRORS as exc:
                failed[uid] = server_text(exc)
                streak += 1
                if streak >= MAX_FAILURES:
                    raise self._error(f"{what} ({streak} in a row failed)", exc) from exc
                self._recover(exc)
        return data, failed

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

    def _bodies(self, chunk: Sequence[int]) -> tuple[list[RawItem], list[str]]:
        data, failed = self._fetch(chunk, ["BODY.PEEK[]"])
        items: list[RawItem] = []
        held: list[str] = []
        for uid in chunk:
            if uid in failed:
                held.append(self._unreadable(uid, failed[uid]))
                continue
            body = data.get(uid, {}).get(b"BODY[]")
            if not isinstance(body, bytes):
                held.append(self._unreadable(uid, "the server listed it but returned no body"))
                continue
            items.append(RawItem(remote_id(self.uidvalidity, uid), body, RawFormat.EMAIL, ack=uid))
        return items, held

    def _window(self, new: list[int], old: list[str], ack_old: _Ack) -> Iterator[Batch]:
        """The batches of one window: its new messages fetched (a batch per
        :data:`BATCH_BYTES`), the first batch also carrying the window's journaled messages
        to acknowledge and its oversize ones."""
        cfg = self._cfg
        held: list[str] = []
        chunks: list[list[int]] = []
        if new:
            answers, failed = self._fetch(new, ["RFC822.SIZE"])
            sizes: dict[int, int] = {}
            for uid in new:
                size = answers.get(uid, {}).get(b"RFC822.SIZE")
                if uid in failed:
                    held.append(self._unreadable(uid, failed[uid]))
                elif not isinstance(size, int):
                    log.info("source %s: UID %d is gone (expunged meanwhile)", self.name, uid)
                elif size > cfg.max_size:
                    held.append(self._held(uid, (
                        f"is {format_size(size)}, over max_size {format_size(cfg.max_size)}; it "
                        f"stays on the server: raise max_size to fetch it, or move it out of "
                        f"{cfg.folder}"
                    )))  # fmt: skip
                else:
                    sizes[uid] = size
            chunks = list(by_bytes(list(sizes), sizes, BATCH_BYTES))
        first = True
        for chunk in chunks or [[]]:
            items, bad = self._bodies(chunk) if chunk else ([], [])
            ack = _Ack([int(i.ack) for i in items])
            batch = Batch(items=items, held=bad, ack=ack)
            if first:
                ack.uids += ack_old.uids
                ack.expunge += ack_old.expunge
                batch.known, batch.held = old, held + bad
                first = False
            if batch.items or batch.held or ack:
                yield batch

    def _old_to_ack(self, old: list[int], unseen: set[int], deleted: set[int]) -> _Ack:
        policy = self._policy
        if policy == "keep":
            return _Ack()
        if policy == "flag":
            return _Ack([u for u in old if u in unseen])
        if policy == "move" and not self._move:
            return _Ack([u for u in old if u not in deleted], [u for u in old if u in deleted])
        return _Ack(list(old))

    def batches(self, known: KnownIds) -> Iterator[Batch]:
        """New messages in batches, oldest first, each batch also naming the window's
        journaled messages still to acknowledge (``Batch.known``); oversize and unreadable
        messages go to ``Batch.held``."""
        cfg = self._cfg
        uids = self._all_uids()
        log.debug("source %s: %d message(s) in %s", self.name, len(uids), cfg.folder)
        unseen = set(self._search("UNSEEN")) if uids and self._policy == "flag" else set()
        fallback = self._policy == "move" and not self._move
        deleted = set(self._search("DELETED")) if uids and fallback else set()
        budget = cfg.max_messages
        told = False
        for window in windows(uids, cfg.fetch_batch):
            if budget <= 0 and self._policy == "keep":
                break  # no new message may be fetched, and journaled ones need nothing
            ids = {remote_id(self.uidvalidity, u): u for u in window}
            journaled = known(list(ids))
            old = [u for rid, u in ids.items() if rid in journaled]
            new = [u for rid, u in ids.items() if rid not in journaled]
            if len(new) > budget:
                if not told:
                    log.info(
                        "source %s: max_messages (%d) reached; the rest waits for the next poll",
                        self.name,
                        cfg.max_messages,
                    )
                    told = True
                new = new[:budget]
            budget -= len(new)
            ack_old = self._old_to_ack(old, unseen, deleted)
            yield from self._window(new, [remote_id(self.uidvalidity, u) for u in old], ack_old)

    # -- acknowledging and ending ----------------------------------------------------------
    def acknowledge(self, batch: Batch) -> None:
        """Act per ``after_store`` on the batch's messages. The poller calls this only after
        every item of the batch is committed to the journal, and the batch names only
        messages journaled whole (fetched in this session, or found in the journal)."""
        ack = batch.ack
        if not isinstance(ack, _Ack) or not ack or self._policy == "keep":
            return
        cfg, client = self._cfg, self._client
        what = f'after_store = "{self._policy}" of {len(ack.uids) + len(ack.expunge)} message(s)'
        try:
            if self._policy == "flag":
                client.add_flags(uid_set(ack.uids), [SEEN], silent=True)
            elif self._policy == "move" and self._move:
                client.move(uid_set(ack.uids), cfg.move_to)
            else:
                if self._policy == "move" and ack.uids:
                    client.copy(uid_set(ack.uids), cfg.move_to)
                both = uid_set(ack.uids + ack.expunge)
                client.add_flags(both, [DELETED], silent=True)
                client.uid_expunge(both)
        except IO_ERRORS as exc:
            raise self._error(
                f"{what} (they are journaled; the next poll tries again)", exc
            ) from exc

    def quit(self) -> None:
        """End the session (``LOGOUT``)."""
        logout(self._client)

    def abort(self) -> None:
        """End after an error. Every action already taken was on journaled messages; IMAP
        applies them as they come, so there is nothing to take back."""
        logout(self._client)
