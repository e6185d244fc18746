"""POP3 responses read straight off a logged-in ``poplib`` connection, many at a time.

``poplib`` sends one command and reads its answer line by line before sending the next;
over a mailbox of thousands of messages the round trips and per-line Python calls are the
cost, not the bytes. When the server announces ``PIPELINING`` (RFC 2449) a client may send
many commands before reading the answers, which come back in order. :class:`Wire` does
that: it sends a queue of commands ahead of the answers (a bounded number in flight) and
cuts whole multi-line answers out of a byte buffer (a line of just ``.`` ends one; dot
unstuffing), never line by line. Lines may end in CRLF or, as some servers send them, a
bare LF; a body larger than the caller's cut is streamed to its end and only its headers
are kept (:class:`Response`), so no message, however large, is ever held whole.

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

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

_CHUNK = 256 * 1024
#: Longest status line we accept (RFC 2449 allows 512 octets).
MAX_STATUS = 4096
#: Of a body over its cut, this many bytes at most are kept (its header section).
HEADER_KEEP = 64 * 1024
#: Commands sent per write once the pipeline is primed: small writes, few syscalls.
_REFILL = 64


class WireEOF(ConnectionError):
    """The server closed the connection in the middle of a response."""


class WireTooLong(ValueError):
    """A response exceeded the limit the caller set (a hostile or broken server)."""


class WireGarbled(WireTooLong):
    """Where an answer should start, something else came: a server that is not POP3, or
    one whose pipelined answers came out of order or mixed (the stream is out of step)."""


class _Sender(Protocol):
    def sendall(self, data: bytes, /) -> None: ...


@dataclass(frozen=True, slots=True)
class Response:
    """One answer: ``ok`` for ``+OK``; ``status`` is the first line without its line end;
    ``body`` the unstuffed multi-line data (line ends as the server sent them), or ``b""``
    for one-line answers. ``size`` is the body's length on the wire.

    ``over`` is set when the body was longer than the ``cut`` the caller gave: it was read
    to its end but not kept; ``body`` then holds only its header section (at most
    :data:`HEADER_KEEP` bytes) and ``digest`` the SHA-256 of its bytes on the wire."""

    ok: bool
    status: bytes
    body: bytes = b""
    size: int = 0
    over: bool = False
    digest: str = ""


class Wire:
    """Pipelined command/response exchange on an established, logged-in POP3 connection."""

    def __init__(self, sock: _Sender, file: BinaryIO) -> None:
        self._sock = sock
        self._file = file
        self._buf = bytearray()
        self._pos = 0
        self.in_flight = 0
        #: commands sent ahead whose answers are not yet taken, the answers read so far,
        #: and how to read them (multiline, limit, cut)
        self._ahead = 0
        self._early: list[Response] = []
        self._ahead_read: tuple[bool, int, int | None] = (True, 0, None)

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
        """The status line (without its line end) and the index of its LF in the buffer.
        Lines may end in CRLF or, on some servers, a bare LF (poplib accepts both)."""
        start = self._pos
        scan = start
        while True:
            eol = self._buf.find(b"\n", scan)
            if eol >= 0:
                end = eol - 1 if eol > start and self._buf[eol - 1] == 0x0D else eol
                return bytes(self._buf[start:end]), eol
            if len(self._buf) - start > MAX_STATUS:
                raise WireTooLong("status line too long")
            scan = len(self._buf)
            self._fill()

    def _find_end(self, scan: int) -> tuple[int, int]:
        """Search from ``scan`` (a LF or later) for the line that ends a multi-line body,
        ``.`` alone, after a CRLF or bare LF line end. ``(body_end, after)`` when found (the
        body runs up to ``body_end``, the next answer starts at ``after``), else
        ``(-1, resume)``: search again from ``resume`` once more bytes have come."""
        buf = self._buf
        while True:
            i = buf.find(b"\n.", scan)
            if i < 0:
                return -1, max(scan, len(buf) - 1)
            j = i + 2
            if j >= len(buf):
                return -1, i
            c = buf[j]
            if c == 0x0A:
                return i + 1, j + 1
            if c == 0x0D:
                if j + 1 >= len(buf):
                    return -1, i
                if buf[j + 1] == 0x0A:
                    return i + 1, j + 2
            scan = j  # a stuffed ".." line (or a stray "."): not the end

    def read(self, multiline: bool, limit: int, cut: int | None = None) -> Response:
        """Read the next answer. ``multiline`` answers (``RETR``, ``TOP``, ``UIDL``, ``LIST``)
        carry a body after ``+OK``; ``limit`` bounds the body's size (beyond it,
        :class:`WireTooLong`). A body longer than ``cut`` is read to its end without being
        kept (see :class:`Response`), so memory stays bounded whatever its size."""
        if self._pos > _CHUNK:  # drop what was consumed; only here, where no index is held
            del self._buf[: self._pos]
            self._pos = 0
        status, eol = self._status()
        self.in_flight -= 1
        ok = status.startswith(b"+OK")
        if not ok and not status.startswith(b"-ERR"):
            raise WireGarbled(f"not a POP3 answer: {status[:80]!r}")
        if not (ok and multiline):
            self._pos = eol + 1
            return Response(ok, status)
        # search from the status line's LF: an empty body is "\n.\r\n" right there
        scan = eol
        keep = limit if cut is None else min(cut, limit)
        while True:
            end, scan = self._find_end(scan)
            if end >= 0:
                break
            # past the body may wait the start of its terminator (".\r"): 2 bytes of slack
            if len(self._buf) - eol - 1 > keep + 2:
                if cut is not None and keep == cut:
                    return self._discard(status, eol + 1, scan, limit)
                raise WireTooLong(f"response longer than {limit} bytes")
            self._fill()
        start = eol + 1
        if end - start > keep:
            if cut is not None and keep == cut:
                whole = self._buf[start:end]
                self._pos = scan
                return _over(status, whole, hashlib.sha256(whole), len(whole))
            raise WireTooLong(f"response longer than {limit} bytes")
        body = bytes(self._buf[start:end])
        self._pos = scan
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        return Response(True, status, _unstuff(body), len(body))

    def _lines(self, n: int) -> list[Response]:
        """The next ``n`` one-line answers: every whole line the buffer holds is cut at
        once; :meth:`read` (with its limits) waits for the rest."""
        out: list[Response] = []
        while len(out) < n:
            if self._pos > _CHUNK:
                del self._buf[: self._pos]
                self._pos = 0
            want = n - len(out)
            rest = bytes(self._buf[self._pos :])
            lines = rest.split(b"\n", want)
            whole = lines[:-1] if len(lines) <= want else lines[:want]
            if not whole:
                out.append(self.read(False, 0))  # waits for more bytes, limits the line
                continue
            for line in whole:
                status = line[:-1] if line.endswith(b"\r") else line
                ok = status.startswith(b"+OK")
                if not ok and not status.startswith(b"-ERR"):
                    raise WireGarbled(f"not a POP3 answer: {status[:80]!r}")
                out.append(Response(ok, status))
                self._pos += len(line) + 1
                self.in_flight -= 1
        if self._pos == len(self._buf):
            self._buf.clear()
            self._pos = 0
        return out

    def _discard(self, status: bytes, start: int, scan: int, limit: int) -> Response:
        """Read the rest of a body that is over its cut, keeping only its header section,
        a running digest and its size; the buffer never holds more than a chunk of it."""
        buf = self._buf
        head = bytearray()
        digest = hashlib.sha256()
        size = 0
        while True:
            end, scan = self._find_end(scan)
            stop = end if end >= 0 else scan
            piece = buf[start:stop]
            digest.update(piece)
            size += len(piece)
            if len(head) < HEADER_KEEP and b"\n\n" not in head and b"\n\r\n" not in head:
                head += piece[: HEADER_KEEP - len(head)]
            if end >= 0:
                self._pos = scan
                return _over(status, head, digest, size)
            del buf[start:stop]  # only the few bytes past ``stop`` move
            scan = start
            if size > limit:
                raise WireTooLong(f"response longer than {limit} bytes")
            self._fill()

    # -- pipelining ------------------------------------------------------------------------
    def send(self, commands: Sequence[bytes]) -> None:
        """Send ``commands`` now; their answers are read later with :meth:`read`, in order,
        before any other exchange."""
        self._sock.sendall(b"".join(c + b"\r\n" for c in commands))
        self.in_flight += len(commands)

    def exchange(
        self,
        commands: Sequence[bytes],
        *,
        multiline: bool,
        limit: int,
        depth: int,
        cut: int | None = None,
    ) -> Iterator[Response]:
        """Send ``commands`` (each without CRLF) with at most ``depth`` unanswered at a time,
        and yield their answers in order. ``depth=1`` is the classic lock-step exchange.

        The caller must read every answer (exhaust the iterator) to keep the connection at a
        response boundary; if it stops early, :attr:`clean` is false."""
        depth = max(1, depth)
        sent = 0
        total = len(commands)
        if not multiline:
            # one-line answers (DELE) are tiny: send a window, then cut its answers from
            # the buffer together instead of one read() each
            for start in range(0, total, depth):
                group = commands[start : start + depth]
                self.send(group)
                yield from self._lines(len(group))
            return
        while sent < total or self.in_flight:
            room = depth - self.in_flight
            # prime with a full window, then refill in small groups once answers drain
            if sent < total and (self.in_flight == 0 or room >= min(_REFILL, depth)):
                n = min(room, total - sent)
                self._sock.sendall(b"".join(c + b"\r\n" for c in commands[sent : sent + n]))
                sent += n
                self.in_flight += n
            yield self.read(multiline, limit, cut)

    # -- read-ahead ------------------------------------------------------------------------
    @property
    def ahead(self) -> int:
        """How many commands were sent ahead and not taken yet."""
        return self._ahead

    def send_ahead(
        self, commands: Sequence[bytes], *, multiline: bool, limit: int, cut: int | None = None
    ) -> None:
        """Send ``commands`` now; :meth:`take_ahead` returns their answers later."""
        if self._ahead:
            raise RuntimeError("commands sent ahead must be taken before more are sent")
        if not commands:
            return
        self.send(commands)
        self._ahead = len(commands)
        self._ahead_read = (multiline, limit, cut)

    def collect_ahead(self) -> None:
        """Read the answers to the commands sent ahead (they come before anything else)."""
        multiline, limit, cut = self._ahead_read
        while len(self._early) < self._ahead:
            self._early.append(self.read(multiline, limit, cut))

    def take_ahead(self) -> list[Response]:
        """The answers to the commands sent ahead, in order; the read-ahead is empty after."""
        self.collect_ahead()
        answers, self._early, self._ahead = self._early, [], 0
        return answers


def _over(status: bytes, start: bytes | bytearray, digest: Any, size: int) -> Response:
    """The answer for a body over its cut: its header section (as far as ``start``, the
    body's first bytes, holds it), digest and size."""
    head = bytes(start[:HEADER_KEEP])
    crlf, lf = head.find(b"\r\n\r\n"), head.find(b"\n\n")
    ends = ([crlf + 2] if crlf >= 0 else []) + ([lf + 1] if lf >= 0 else [])
    head = head[: min(ends)] if ends else head[: head.rfind(b"\n") + 1]
    return Response(True, status, _unstuff(head), size, over=True, digest=digest.hexdigest())


def _unstuff(body: bytes) -> bytes:
    """Undo RFC 1939 byte-stuffing: a line starting with ``..`` starts with ``.``."""
    if body.startswith(b".."):
        body = body[1:]
    if b"\n.." in body:
        body = body.replace(b"\n..", b"\n.")
    return body
