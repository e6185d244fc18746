"""POP3 responses read straight off a logged-in ``poplib`` connection, many at a time.

``poplib`` sends one command and reads its answer line by line before sending the next;
over a mailbox of thousands of messages the round trips and per-line Python calls are the
cost, not the bytes. When the server announces ``PIPELINING`` (RFC 2449) a client may send
many commands before reading the answers, which come back in order. :class:`Wire` does
that: it sends a queue of commands ahead of the answers (a bounded number in flight) and
cuts whole multi-line answers out of a byte buffer (``\\r\\n.\\r\\n`` terminator, dot
unstuffing), never line by line.

It also owns the read-ahead state: commands sent before their batch is asked for
(:meth:`Wire.send_ahead`), so that the server prepares the next messages while the poller
journals the current ones; their answers are read (:meth:`Wire.take_ahead`) before any other
exchange, so a ``DELE`` never overtakes them on the wire.

It reads through the connection's own buffered file, so nothing ``poplib`` buffered is
lost, and it leaves that file at a response boundary, so ``poplib`` can carry on (``QUIT``).
Socket errors and timeouts propagate as they are (``OSError``, ``TimeoutError``); the
caller maps them. A response that ends before its terminator raises :class:`WireEOF`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import BinaryIO, Protocol

_TERM = b"\r\n.\r\n"
_CHUNK = 256 * 1024
#: Longest status line we accept (RFC 2449 allows 512 octets).
MAX_STATUS = 4096
#: Commands sent per write once the pipeline is primed: small writes, few syscalls.
_REFILL = 64


class WireEOF(ConnectionError):
    """The server closed the connection in the middle of a response."""


class WireTooLong(ValueError):
    """A response exceeded the limit the caller set (a hostile or broken server)."""


class _Sender(Protocol):
    def sendall(self, data: bytes, /) -> None: ...


@dataclass(frozen=True, slots=True)
class Response:
    """One answer: ``ok`` for ``+OK``; ``status`` is the first line without CRLF; ``body``
    the unstuffed multi-line data (with CRLF line ends), or ``b""`` for one-line answers."""

    ok: bool
    status: bytes
    body: bytes = b""


class Wire:
    """Pipelined command/response exchange on an established, logged-in POP3 connection."""

    def __init__(self, sock: _Sender, file: BinaryIO) -> None:
        self._sock = sock
        self._file = file
        self._buf = bytearray()
        self._pos = 0
        self.in_flight = 0
        #: commands sent ahead whose answers are not yet taken, the answers read so far,
        #: and how to read them
        self._ahead = 0
        self._early: list[Response] = []
        self._ahead_read = (True, 0)

    @property
    def clean(self) -> bool:
        """No command awaits its answer and no unread byte is buffered: the connection is at
        a response boundary, fit for another command (``QUIT``)."""
        return self.in_flight == 0 and self._pos == len(self._buf)

    # -- reading ---------------------------------------------------------------------------
    def _fill(self) -> None:
        read1 = getattr(self._file, "read1", None)
        chunk = read1(_CHUNK) if read1 is not None else self._file.read(1)
        if not chunk:
            raise WireEOF("the server closed the connection in the middle of a response")
        self._buf += chunk

    def _status(self) -> tuple[bytes, int]:
        """The status line (without CRLF) and the index of its CRLF in the buffer."""
        start = self._pos
        scan = start
        while True:
            eol = self._buf.find(b"\r\n", scan)
            if eol >= 0:
                return bytes(self._buf[start:eol]), eol
            if len(self._buf) - start > MAX_STATUS:
                raise WireTooLong("status line too long")
            scan = max(start, len(self._buf) - 1)
            self._fill()

    def read(self, multiline: bool, limit: int) -> Response:
        """Read the next answer. ``multiline`` answers (``RETR``, ``TOP``, ``UIDL``, ``LIST``)
        carry a body after ``+OK``; ``limit`` bounds the body's size."""
        if self._pos > _CHUNK:  # drop what was consumed; only here, where no index is held
            del self._buf[: self._pos]
            self._pos = 0
        status, eol = self._status()
        self.in_flight -= 1
        ok = status.startswith(b"+OK")
        if not ok and not status.startswith(b"-ERR"):
            raise WireTooLong(f"not a POP3 answer: {status[:80]!r}")
        if not (ok and multiline):
            self._pos = eol + 2
            return Response(ok, status)
        # search from the status line's CRLF: an empty body is "\r\n.\r\n" right there
        scan = eol
        while True:
            end = self._buf.find(_TERM, scan)
            if end >= 0:
                break
            if len(self._buf) - eol > limit:
                raise WireTooLong(f"response longer than {limit} bytes")
            scan = max(eol, len(self._buf) - len(_TERM) + 1)
            self._fill()
        body = bytes(self._buf[eol + 2 : end + 2]) if end > eol else b""
        self._pos = end + len(_TERM)
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        return Response(True, status, _unstuff(body))

    # -- pipelining ------------------------------------------------------------------------
    def send(self, commands: Sequence[bytes]) -> None:
        """Send ``commands`` now; their answers are read later with :meth:`read`, in order,
        before any other exchange."""
        self._sock.sendall(b"".join(c + b"\r\n" for c in commands))
        self.in_flight += len(commands)

    def exchange(
        self, commands: Sequence[bytes], *, multiline: bool, limit: int, depth: int
    ) -> Iterator[Response]:
        """Send ``commands`` (each without CRLF) with at most ``depth`` unanswered at a time,
        and yield their answers in order. ``depth=1`` is the classic lock-step exchange.

        The caller must read every answer (exhaust the iterator) to keep the connection at a
        response boundary; if it stops early, :attr:`clean` is false."""
        depth = max(1, depth)
        sent = 0
        total = len(commands)
        while sent < total or self.in_flight:
            room = depth - self.in_flight
            # prime with a full window, then refill in small groups once answers drain
            if sent < total and (self.in_flight == 0 or room >= min(_REFILL, depth)):
                n = min(room, total - sent)
                self._sock.sendall(b"".join(c + b"\r\n" for c in commands[sent : sent + n]))
                sent += n
                self.in_flight += n
            yield self.read(multiline, limit)

    # -- read-ahead ------------------------------------------------------------------------
    @property
    def ahead(self) -> int:
        """How many commands were sent ahead and not taken yet."""
        return self._ahead

    def send_ahead(self, commands: Sequence[bytes], *, multiline: bool, limit: int) -> None:
        """Send ``commands`` now; :meth:`take_ahead` returns their answers later."""
        if self._ahead:
            raise RuntimeError("commands sent ahead must be taken before more are sent")
        if not commands:
            return
        self.send(commands)
        self._ahead = len(commands)
        self._ahead_read = (multiline, limit)

    def collect_ahead(self) -> None:
        """Read the answers to the commands sent ahead (they come before anything else)."""
        multiline, limit = self._ahead_read
        while len(self._early) < self._ahead:
            self._early.append(self.read(multiline, limit))

    def take_ahead(self) -> list[Response]:
        """The answers to the commands sent ahead, in order; the read-ahead is empty after."""
        self.collect_ahead()
        answers, self._early, self._ahead = self._early, [], 0
        return answers


def _unstuff(body: bytes) -> bytes:
    """Undo RFC 1939 byte-stuffing: a line starting with ``..`` starts with ``.``."""
    if body.startswith(b".."):
        body = body[1:]
    if b"\r\n.." in body:
        body = body.replace(b"\r\n..", b"\r\n.")
    return body
