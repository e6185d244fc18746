"""A small POP3 server whose misbehaviour a test chooses: the bugs of real servers that
Dovecot cannot show (bare LF line ends, broken pipelining, ``-ERR`` to one ``RETR``, no
UIDL or shared UIDLs, LIST sizes that lie, a lock named only in words, ``+ERR`` to PASS,
no ``+OK`` after QUIT).

It speaks RFC 1939 (with CAPA, RFC 2449) over a real socket on 127.0.0.1, so the source
under test runs unchanged, and it applies deletions at QUIT as a server must. It is a test
double for protocol quirks, never the source of truth on POP3: Dovecot (and a second real
server) is.

    with ScriptedPop3(Script(messages, eol=b"\\n")) as server:
        ...                                  # POP3 to 127.0.0.1:server.port, user "u", "pw"
        assert server.remaining() == []
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

__all__ = ["Script", "ScriptedPop3"]

USER = "u"
PASSWORD = "pw"


@dataclass
class Script:
    """What the server holds and how it misbehaves.

    ``uidl``: ``"unique"`` (``m1``, ``m2``, …), ``"none"`` (no UIDL command), ``"shared"``
    (one UIDL for every message), or one UIDL per message as bytes. ``list_sizes``: what
    LIST reports (default the true sizes). ``retr_error``: message number → the ``-ERR``
    line its RETR gets. ``pipelining``: ``None`` (not announced), ``"ok"``, ``"reverse"``
    (answers to commands that arrive together go out in reverse order) or ``"interleave"``
    (their answers are written half and half, mixed, as a racing server does), for the
    commands in ``broken_verbs`` only.
    ``quit``: ``"ok"``; ``"silent-apply"`` (deletes, then closes without a word);
    ``"silent-drop"`` (closes without a word, deleting nothing). ``locked_logins``: that
    many logins are refused with ``-ERR Your mailbox is already locked``. ``pass_answer``
    replaces PASS's ``+OK`` (e.g. ``+ERR``)."""

    messages: list[bytes]
    eol: bytes = b"\r\n"
    uidl: Literal["unique", "none", "shared"] | list[bytes] = "unique"
    list_sizes: list[int] | None = None
    retr_error: dict[int, bytes] = field(default_factory=dict)
    pipelining: Literal["ok", "reverse", "interleave"] | None = "ok"
    broken_verbs: tuple[bytes, ...] = (b"RETR", b"TOP", b"DELE", b"LIST", b"UIDL")
    quit: Literal["ok", "silent-apply", "silent-drop"] = "ok"
    locked_logins: int = 0
    pass_answer: bytes | None = None


@dataclass
class Session:
    """What one connection did: its commands, and whether it ended with QUIT."""

    commands: list[bytes] = field(default_factory=list)
    quit: bool = False

    def count(self, verb: bytes) -> int:
        return sum(1 for c in self.commands if c.split(b" ", 1)[0].upper() == verb)


class ScriptedPop3:
    """The server: one thread accepting, one per connection; ``close()`` stops them."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self._lock = threading.Lock()
        sizes = script.list_sizes or [_octets(m) for m in script.messages]
        #: the mailbox: (message, uidl, LIST size); deletions applied at QUIT
        self._box: list[tuple[bytes, bytes | None, int]] = list(
            zip(script.messages, self._uidls(script), sizes, strict=True)
        )
        self.sessions: list[Session] = []
        self._logins_refused = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accept = threading.Thread(target=self._serve, name="scripted-pop3", daemon=True)
        self._accept.start()

    @staticmethod
    def _uidls(script: Script) -> list[bytes | None]:
        n = len(script.messages)
        if script.uidl == "unique":
            return [b"m%d" % i for i in range(1, n + 1)]
        if script.uidl == "none":
            return [None] * n
        if script.uidl == "shared":
            return [b"same"] * n
        assert len(script.uidl) == n
        return list(script.uidl)

    # -- lifecycle ------------------------------------------------------------------------
    def remaining(self) -> list[bytes]:
        """The messages still in the mailbox."""
        with self._lock:
            return [m for m, _u, _s in self._box]

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._accept.join(5)
        for t in self._threads:
            t.join(5)

    def __enter__(self) -> ScriptedPop3:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(t)
            t.start()

    # -- one connection -------------------------------------------------------------------
    def _handle(self, conn: socket.socket) -> None:
        session = Session()
        with self._lock:
            self.sessions.append(session)
        with self._lock:
            state = _State(list(self._box))
        eol = self.script.eol
        try:
            conn.sendall(b"+OK scripted POP3 ready" + eol)
            buf = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buf += data
                lines = buf.split(b"\n")
                buf = lines.pop()
                answers: list[tuple[bytes, bytes | None]] = []
                verbs: list[bytes] = []
                for raw in lines:
                    line = raw.rstrip(b"\r")
                    session.commands.append(line)
                    answer = self._answer(line, state, session)
                    if answer is None:  # QUIT or a refused login: answer, then hang up
                        conn.sendall(b"".join(self._order(answers, verbs)))
                        self._hang_up(line, state, session, conn)
                        return
                    answers.append(answer)
                    verbs.append(line.split(b" ", 1)[0].upper())
                conn.sendall(b"".join(self._order(answers, verbs)))
        except OSError:
            return
        finally:
            conn.close()

    def _order(self, answers: list[tuple[bytes, bytes | None]], verbs: list[bytes]) -> list[bytes]:
        """The answers' bytes, in the order (and mix) the script's pipelining says."""
        eol = self.script.eol
        whole = [status + eol + (body or b"") for status, body in answers]
        mode = self.script.pipelining
        broken = all(v in self.script.broken_verbs for v in verbs)
        if len(answers) < 2 or mode in ("ok", None) or not broken:
            return whole
        if mode == "reverse":
            return whole[::-1]
        halves = [(w[: len(w) // 2], w[len(w) // 2 :]) for w in whole]
        return [h for h, _t in halves] + [t for _h, t in halves]

    def _hang_up(self, line: bytes, state: _State, session: Session, conn: socket.socket) -> None:
        eol = self.script.eol
        if line.upper() != b"QUIT":
            conn.sendall(b"-ERR Your mailbox is already locked" + eol)
            return
        session.quit = True
        mode = self.script.quit
        if mode in ("ok", "silent-apply") and state.authed:
            gone = {id(state.box[i - 1]) for i in state.deleted}
            with self._lock:
                self._box = [entry for entry in self._box if id(entry) not in gone]
        if mode == "ok":
            conn.sendall(b"+OK bye" + eol)

    def _answer(
        self, line: bytes, state: _State, session: Session
    ) -> tuple[bytes, bytes | None] | None:
        script = self.script
        verb, _, arg = line.partition(b" ")
        verb = verb.upper()
        if verb == b"QUIT":
            return None
        if verb == b"CAPA":
            caps = [b"USER", b"TOP"] + ([b"UIDL"] if script.uidl != "none" else [])
            caps += [b"PIPELINING"] if script.pipelining else []
            return b"+OK capabilities", self._multi(caps)
        if verb == b"USER":
            state.user = arg.decode()
            return b"+OK", None
        if verb == b"PASS":
            if state.user != USER or arg.decode() != PASSWORD:
                return b"-ERR [AUTH] invalid credentials", None
            with self._lock:
                if self._logins_refused < script.locked_logins:
                    self._logins_refused += 1
                    return None
            state.authed = True
            return script.pass_answer or b"+OK logged in", None
        if not state.authed:
            return b"-ERR log in first", None
        return self._transaction(verb, arg, state)

    def _transaction(self, verb: bytes, arg: bytes, state: _State) -> tuple[bytes, bytes | None]:
        script = self.script
        live = [i for i in range(1, len(state.box) + 1) if i not in state.deleted]
        if verb == b"NOOP":
            return b"+OK", None
        if verb == b"STAT":
            return b"+OK %d %d" % (len(live), sum(state.box[i - 1][2] for i in live)), None
        if verb == b"LIST" and not arg:
            return b"+OK", self._multi([b"%d %d" % (i, state.box[i - 1][2]) for i in live])
        if verb == b"UIDL" and script.uidl == "none":
            return b"-ERR unknown command", None
        if verb == b"UIDL" and not arg:
            rows = [b"%d %s" % (i, state.box[i - 1][1] or b"") for i in live]
            return b"+OK", self._multi(rows)
        num = int(arg.split()[0]) if arg.split() and arg.split()[0].isdigit() else 0
        if num not in live:
            return b"-ERR no such message", None
        message = state.box[num - 1][0]
        if verb == b"RETR":
            if num in script.retr_error:
                return script.retr_error[num], None
            return b"+OK %d octets" % _octets(message), self._body(message)
        if verb == b"TOP":
            head = message.split(b"\r\n\r\n", 1)[0] + b"\r\n"
            return b"+OK", self._body(head)
        if verb == b"DELE":
            state.deleted.add(num)
            return b"+OK deleted", None
        return b"-ERR unknown command", None

    def _multi(self, lines: list[bytes]) -> bytes:
        eol = self.script.eol
        return b"".join(line + eol for line in lines) + b"." + eol

    def _body(self, message: bytes) -> bytes:
        lines = message.replace(b"\r\n", b"\n").split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        return self._multi([b"." + ln if ln.startswith(b".") else ln for ln in lines])


@dataclass
class _State:
    """One connection's view: the mailbox as it was at login, and its marks."""

    box: list[tuple[bytes, bytes | None, int]]
    user: str = ""
    authed: bool = False
    deleted: set[int] = field(default_factory=set)


def _octets(message: bytes) -> int:
    return len(message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
