"""A tiny POP3 server on 127.0.0.1, good enough for ``dlrpoll demo`` and quick tests.

RFC 1939 with ``USER``/``PASS``, ``STAT``, ``LIST``, ``UIDL``, ``RETR``, ``TOP``, ``DELE``,
``RSET``, ``NOOP``, ``QUIT`` and ``CAPA`` (RFC 2449); no TLS, so a source using it needs
``tls = "none"`` and ``allow_plaintext = true``. Deletions take effect at ``QUIT`` (the
UPDATE state), as in a real server; a connection that drops without ``QUIT`` deletes
nothing. The protocol tests run against Dovecot, not this.

    with Pop3Sandbox(user="dlr", password="secret") as box:
        box.add(b"From: ...\\r\\n\\r\\nid:1 stat:DELIVRD ...")
        ... connect to 127.0.0.1:box.port ...
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import socketserver
import threading
from dataclasses import dataclass

from dlrpoll.sandbox.server import SandboxServer

log = logging.getLogger(__name__)


@dataclass
class _Message:
    uid: str
    data: bytes


class _Mailbox:
    """The messages; shared by every session, guarded by a lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[_Message] = []
        self._ids = itertools.count(1)

    def add(self, data: bytes, uid: str | None) -> str:
        with self.lock:
            n = next(self._ids)
            uid = uid or f"{n:08d}-" + hashlib.sha1(data).hexdigest()[:12]
            self.messages.append(_Message(uid, data))
            return uid

    def remove(self, uids: set[str]) -> None:
        with self.lock:
            self.messages = [m for m in self.messages if m.uid not in uids]


def _stuff(data: bytes) -> bytes:
    """A message as a multi-line response body: CRLF line ends, leading dots doubled."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = [b"." + line if line.startswith(b".") else line for line in lines]
    return b"".join(line + b"\r\n" for line in out)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def send(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.wfile.write(data + b"\r\n")

    def multi(self, first: str, body: bytes) -> None:
        self.wfile.write(first.encode() + b"\r\n" + body + b".\r\n")

    def handle(self) -> None:
        box = self.server.mailbox
        self.send("+OK dlrpoll sandbox POP3 ready")
        user: str | None = None
        authed = False
        view: list[_Message] = []
        deleted: set[int] = set()
        while True:
            raw = self.rfile.readline(4096)
            if not raw:
                return  # dropped without QUIT: nothing is deleted
            parts = raw.decode("latin-1").strip().split()
            if not parts:
                self.send("-ERR empty command")
                continue
            cmd, args = parts[0].upper(), parts[1:]
            if cmd == "QUIT":
                if authed and deleted:
                    box.remove({view[i].uid for i in deleted})
                self.send("+OK bye")
                return
            if cmd == "CAPA":
                self.multi("+OK capabilities", b"USER\r\nUIDL\r\nTOP\r\nPIPELINING\r\n")
                continue
            if cmd == "NOOP":
                self.send("+OK")
                continue
            if not authed:
                if cmd == "USER" and args:
                    user = args[0]
                    self.send("+OK send PASS")
                elif cmd == "PASS" and user is not None:
                    given = raw.decode("latin-1").strip()[5:]
                    if user == self.server.user and given == self.server.password:
                        authed = True
                        with box.lock:
                            view = list(box.messages)
                        self.send(f"+OK {len(view)} messages")
                    else:
                        user = None
                        self.send("-ERR [AUTH] invalid user name or password")
                else:
                    self.send("-ERR authenticate first (USER, PASS)")
                continue
            live = [i for i in range(len(view)) if i not in deleted]
            if cmd == "STAT":
                size = sum(len(view[i].data) for i in live)
                self.send(f"+OK {len(live)} {size}")
            elif cmd in ("LIST", "UIDL"):
                values = [m.uid if cmd == "UIDL" else str(len(m.data)) for m in view]
                if args:
                    i = self._number(args[0], view, deleted)
                    if i is not None:
                        self.send(f"+OK {i + 1} {values[i]}")
                else:
                    body = b"".join(f"{i + 1} {values[i]}\r\n".encode() for i in live)
                    self.multi("+OK", body)
            elif cmd == "RETR" and args:
                i = self._number(args[0], view, deleted)
                if i is not None:
                    self.server.maybe_hold(i + 1)
                    self.multi(f"+OK {len(view[i].data)} octets", _stuff(view[i].data))
            elif cmd == "TOP" and len(args) == 2 and args[1].isdigit():
                i = self._number(args[0], view, deleted)
                if i is not None:
                    head, sep, rest = view[i].data.replace(b"\r\n", b"\n").partition(b"\n\n")
                    lines = rest.split(b"\n")[: int(args[1])] if sep else []
                    text = head + b"\n\n" + b"\n".join(lines) if sep else head
                    self.multi("+OK top of message follows", _stuff(text))
            elif cmd == "DELE" and args:
                i = self._number(args[0], view, deleted)
                if i is not None:
                    deleted.add(i)
                    self.send(f"+OK message {i + 1} deleted")
            elif cmd == "RSET":
                deleted.clear()
                self.send("+OK")
            else:
                self.send(f"-ERR unknown command or missing argument: {cmd}")

    def _number(self, arg: str, view: list[_Message], deleted: set[int]) -> int | None:
        if not arg.isdigit() or not 1 <= int(arg) <= len(view) or int(arg) - 1 in deleted:
            self.send(f"-ERR no such message: {arg}")
            return None
        return int(arg) - 1


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, owner: Pop3Sandbox) -> None:
        self.mailbox = owner.mailbox
        self.user = owner.user
        self.password = owner.password
        self.maybe_hold = owner.maybe_hold
        super().__init__((owner.host, owner.port), _Handler)


class Pop3Sandbox(SandboxServer):
    """A POP3 mailbox served from a thread on 127.0.0.1; ``port=0`` picks a free port."""

    label = "sandbox POP3 server"

    def __init__(self, *, user: str = "dlr", password: str = "sandbox", port: int = 0) -> None:
        super().__init__("127.0.0.1", port)
        self.user = user
        self.password = password
        self.mailbox = _Mailbox()
        self._hold_at: int | None = None
        self._held = threading.Event()
        self._resumed = threading.Event()

    def make_server(self) -> _Server:
        return _Server(self)

    def add(self, data: bytes, uid: str | None = None) -> str:
        """Put a message (RFC 5322 bytes) in the mailbox; returns its UIDL."""
        return self.mailbox.add(data, uid)

    def hold_retr(self, number: int) -> threading.Event:
        """Make the answer to ``RETR number`` wait until :meth:`resume` (a poll frozen
        mid-fetch, for shutdown tests); returns an event set when the hold begins."""
        self._hold_at = number
        self._held.clear()
        self._resumed.clear()
        return self._held

    def maybe_hold(self, number: int) -> None:
        if number == self._hold_at and not self._resumed.is_set():
            self._held.set()
            self._resumed.wait(60)

    def resume(self) -> None:
        """Let a held ``RETR`` answer."""
        self._resumed.set()

    release = resume

    def uids(self) -> list[str]:
        """The UIDLs of the messages in the mailbox."""
        with self.mailbox.lock:
            return [m.uid for m in self.mailbox.messages]

    def count(self) -> int:
        """Messages in the mailbox (deletions count after the session's ``QUIT``)."""
        with self.mailbox.lock:
            return len(self.mailbox.messages)
