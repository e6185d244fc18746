"""IMAP commands sent ahead of their answers: the next batch's ``UID FETCH`` goes out before
the poller journals, parses and stores the current batch, and ``UID MOVE`` (or the ``\\Seen``
``UID STORE``) goes out without waiting; their answers are read, in order, with the next
exchange. The server then prepares and moves messages while dlrpoll parses and stores, on
the other core, instead of each side waiting for the other.

IMAP allows it: a client may send commands without waiting for the completion of earlier
ones, and UID commands may be pipelined with commands that expunge (RFC 3501 §5.5, §7.4.1;
UID MOVE answers with EXPUNGE responses, RFC 6851). Only UID commands go through here.

IMAPClient (pinned) has no pipelining of its own, so this module drives the imaplib
instance inside it the way IMAPClient's own ``fetch`` does (``_command``, then
``_command_complete`` and ``_untagged_response``), and parses answers with IMAPClient's
``parse_fetch_response``: nothing here parses IMAP by hand. imaplib keeps the completion of
any tag it reads while waiting for another, which is what makes reading them later work.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

from imapclient import IMAPClient
from imapclient import exceptions as imap_exc
from imapclient.imapclient import join_message_ids, seq_to_parenstr_upper
from imapclient.response_parser import parse_fetch_response

__all__ = ["Pipeline"]

#: Untagged answers nobody reads (MOVE's EXPUNGEs, COPYUID, RECENT): dropped after each
#: exchange, or 100,000 moved messages would pile up 100,000 EXPUNGE lines in imaplib.
_NOISE = ("EXPUNGE", "RECENT", "EXISTS", "OK", "VANISHED", "FLAGS")


class Pipeline:
    """Commands of one IMAPClient connection whose answers are read later. ``acks`` are the
    acknowledgements (MOVE, STORE) still unanswered, with what each was for."""

    def __init__(self, client: IMAPClient) -> None:
        self.client = client
        self._imap: Any = client._imap
        self.acks: deque[tuple[str, str]] = deque()

    def send_fetch(self, uids: Sequence[int], attrs: Sequence[str]) -> str:
        """Send ``UID FETCH uids (attrs)``; returns its tag, for :meth:`receive_fetch`."""
        # a failed command leaves its untagged FETCHes behind: never take them for this one's
        self._imap.untagged_responses.pop("FETCH", None)
        tag: str = self._imap._command(
            "UID", "FETCH", join_message_ids(list(uids)), seq_to_parenstr_upper(list(attrs))
        )
        return tag

    def receive_fetch(self, tag: str, uids: Sequence[int]) -> dict[int, dict[bytes, Any]]:
        """The answers to a fetch sent with :meth:`send_fetch`, by UID. Raises IMAPClient's
        errors (``IMAPClientError`` for NO/BAD, ``IMAPClientAbortError`` and ``OSError`` when
        the connection is lost)."""
        typ, data = self._imap._command_complete("FETCH", tag)
        if typ != "OK":
            raise imap_exc.IMAPClientError(f"FETCH failed: {_text(data)}")
        typ, data = self._imap._untagged_response(typ, data, "FETCH")
        parsed = parse_fetch_response(data, self.client.normalise_times, True)
        self._forget_noise()
        wanted = set(uids)
        return {uid: parsed[uid] for uid in parsed if uid in wanted}

    def send_ack(self, what: str, command: str, *args: str | bytes) -> None:
        """Send ``UID command args`` and read its answer later (:meth:`settle`)."""
        tag: str = self._imap._command("UID", command, *args)
        self.acks.append((tag, what))

    def run(self, command: str, *args: str | bytes) -> str | None:
        """Send ``UID command args`` and wait for its answer: ``None`` when OK, else the
        server's text. (IMAPClient's own methods would go through ``imaplib.uid``, which
        takes every untagged FETCH it finds, a fetch sent ahead's included.)"""
        tag = self._imap._command("UID", command, *args)
        typ, data = self._imap._command_complete("UID", tag)
        return None if typ == "OK" else _text(data)

    def folder(self, name: str) -> bytes:
        """A folder name as IMAPClient writes it in commands (modified UTF-7, quoted)."""
        folder: bytes = self.client._normalise_folder(name)
        return folder

    def settle(self, *, wait: bool) -> list[tuple[str, str]]:
        """Collect the answers of the acknowledgements sent: every one (``wait``), or those
        already read. Returns ``(what, server text)`` for each that the server refused."""
        refused: list[tuple[str, str]] = []
        while self.acks:
            tag, what = self.acks[0]
            if not wait and self._imap.tagged_commands.get(tag) is None:
                break
            self.acks.popleft()
            typ, data = self._imap._command_complete("UID", tag)
            if typ != "OK":
                refused.append((what, _text(data)))
        self._forget_noise()
        return refused

    def abandon(self) -> None:
        """The connection is gone: unanswered commands will never be answered."""
        self.acks.clear()

    def _forget_noise(self) -> None:
        for key in _NOISE:
            self._imap.untagged_responses.pop(key, None)


def _text(data: object) -> str:
    if isinstance(data, list) and data:
        data = data[-1]
    if isinstance(data, bytes):
        return data.decode("utf-8", "replace")
    return str(data)
