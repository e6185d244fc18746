"""A fault-injecting TCP proxy for reliability tests and ``scripts/chaos``.

It listens on 127.0.0.1 (a free port) in front of one upstream ``host:port`` and relays
bytes both ways. The fault applies to what flows from the upstream to the client (the
server's answers), which is where a poll meets the network's failures:

======================  =====================================================================
``passthrough()``       relay unchanged
``latency(s)``          every chunk from the upstream is held ``s`` seconds before delivery
``stall()``             accept the connection and never answer (no upstream connection)
``reset_after(n)``      deliver ``n`` bytes, then abort with a TCP RST (``SO_LINGER`` 0)
``cut_after(n)``        deliver ``n`` bytes, then close cleanly (FIN): a response cut short
``trickle(k, s)``       deliver ``k`` bytes every ``s`` seconds
======================  =====================================================================

A fault is taken when a connection is accepted, so switching modes never changes a
connection in flight. ``times=N`` limits a fault to the next ``N`` connections, after which
the proxy passes through again. ``reset_after``/``cut_after`` fire only when the upstream has
more than ``n`` bytes to send; a shorter exchange ends normally and counts no fault.

Each connection runs in its own thread with one ``select`` loop over both sockets and a wake
socket, so :meth:`FaultProxy.stop` ends every connection promptly, stalled or not.

    with FaultProxy("127.0.0.1", dovecot_port) as proxy:
        proxy.reset_after(200, times=1)
        ...  # poll through ("127.0.0.1", proxy.port)
        assert proxy.faults == 1
"""

from __future__ import annotations

import collections
import select
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

__all__ = ["Fault", "FaultProxy"]

_CHUNK = 65536
#: Per-call send timeout; a client that never reads cannot block a connection thread longer
#: than this before it looks at the stop flag again.
_SEND_SLICE = 0.2


@dataclass(frozen=True)
class Fault:
    """One fault mode. Build with the class methods, or use the proxy's shortcuts."""

    kind: str = "passthrough"
    after: int = 0
    delay: float = 0.0
    chunk: int = 0
    interval: float = 0.0

    @classmethod
    def passthrough(cls) -> Fault:
        return cls()

    @classmethod
    def latency(cls, seconds: float) -> Fault:
        return cls("latency", delay=seconds)

    @classmethod
    def stall(cls) -> Fault:
        return cls("stall")

    @classmethod
    def reset_after(cls, nbytes: int) -> Fault:
        return cls("reset", after=nbytes)

    @classmethod
    def cut_after(cls, nbytes: int) -> Fault:
        return cls("cut", after=nbytes)

    @classmethod
    def trickle(cls, nbytes: int, interval: float) -> Fault:
        if nbytes < 1 or interval <= 0:
            raise ValueError("trickle needs at least 1 byte per tick and a positive interval")
        return cls("trickle", chunk=nbytes, interval=interval)

    def __str__(self) -> str:
        if self.kind in ("reset", "cut"):
            return f"{self.kind} after {self.after} B"
        if self.kind == "latency":
            return f"latency {self.delay:g}s"
        if self.kind == "trickle":
            return f"trickle {self.chunk} B every {self.interval:g}s"
        return self.kind


class _Aborted(Exception):
    """The proxy is stopping, or a peer went away while we were sending to it."""


class FaultProxy:
    """A threaded TCP proxy on 127.0.0.1 whose fault mode can be switched at run time."""

    def __init__(self, upstream_host: str, upstream_port: int, *, connect_timeout: float = 5.0):
        if upstream_host not in ("127.0.0.1", "localhost", "::1"):
            # tests and the soak talk to loopback servers only
            raise ValueError(f"upstream must be on loopback, not {upstream_host!r}")
        self.upstream = (upstream_host, upstream_port)
        self.connect_timeout = connect_timeout
        self.host = "127.0.0.1"
        self.port = 0
        self._lock = threading.Condition()
        self._fault = Fault()
        self._times: int | None = None
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        # counters, read under the lock (or as plain ints: each is written under it)
        self.connections = 0
        self.active = 0
        self.faults = 0
        self.faults_by_kind: collections.Counter[str] = collections.Counter()
        self.upstream_errors = 0
        self.bytes_down = 0
        self.bytes_up = 0

    # -- life cycle ---------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        """Bind a free port on 127.0.0.1 and start accepting."""
        if self._listener is not None:
            raise RuntimeError("proxy already started")
        self._stopping.clear()
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, name=f"faultproxy-{self.port}", daemon=True
        )
        self._accept_thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, end every connection, join the threads. Idempotent."""
        if self._listener is None:
            return
        self._stopping.set()
        assert self._wake_w is not None
        try:
            # level-triggered: never drained, so every select loop sees it from now on
            self._wake_w.send(b"x")
        except OSError:
            pass
        deadline = time.monotonic() + timeout
        if self._accept_thread is not None:
            self._accept_thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            threads = list(self._threads)
        for t in threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            stuck = [t.name for t in self._threads if t.is_alive()]
        for sock in (self._listener, self._wake_r, self._wake_w):
            if sock is not None:
                sock.close()
        self._listener = self._wake_r = self._wake_w = None
        self._accept_thread = None
        if stuck:
            raise RuntimeError(f"fault proxy threads did not stop within {timeout}s: {stuck}")

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    # -- modes --------------------------------------------------------------------------------
    def set_fault(self, fault: Fault, *, times: int | None = None) -> None:
        """Apply ``fault`` to new connections: all of them, or the next ``times`` only."""
        with self._lock:
            self._fault = fault
            self._times = times

    @property
    def fault(self) -> Fault:
        with self._lock:
            return self._fault

    def passthrough(self) -> None:
        self.set_fault(Fault.passthrough())

    def latency(self, seconds: float, *, times: int | None = None) -> None:
        self.set_fault(Fault.latency(seconds), times=times)

    def stall(self, *, times: int | None = None) -> None:
        self.set_fault(Fault.stall(), times=times)

    def reset_after(self, nbytes: int, *, times: int | None = None) -> None:
        self.set_fault(Fault.reset_after(nbytes), times=times)

    def cut_after(self, nbytes: int, *, times: int | None = None) -> None:
        self.set_fault(Fault.cut_after(nbytes), times=times)

    def trickle(self, nbytes: int, interval: float, *, times: int | None = None) -> None:
        self.set_fault(Fault.trickle(nbytes, interval), times=times)

    # -- waiting ------------------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[FaultProxy], bool], timeout: float) -> bool:
        """Wait until ``predicate(self)`` holds (checked on every counter change)."""
        with self._lock:
            return self._lock.wait_for(lambda: predicate(self), timeout)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {
                "connections": self.connections,
                "active": self.active,
                "faults": self.faults,
                "upstream_errors": self.upstream_errors,
                "bytes_down": self.bytes_down,
                "bytes_up": self.bytes_up,
            }

    # -- internals ----------------------------------------------------------------------------
    def _bump(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)
            self._lock.notify_all()

    def _fault_fired(self, kind: str) -> None:
        with self._lock:
            self.faults += 1
            self.faults_by_kind[kind] += 1
            self._lock.notify_all()

    def _take_fault(self) -> Fault:
        with self._lock:
            fault = self._fault
            if self._times is not None:
                self._times -= 1
                if self._times <= 0:
                    self._fault, self._times = Fault(), None
            return fault

    def _accept_loop(self) -> None:
        assert self._listener is not None and self._wake_r is not None
        while not self._stopping.is_set():
            ready, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                client, _addr = self._listener.accept()
            except OSError:
                continue
            fault = self._take_fault()
            with self._lock:
                self.connections += 1
                self.active += 1
                self._lock.notify_all()
            t = threading.Thread(
                target=self._serve,
                args=(client, fault),
                name=f"faultproxy-{self.port}-conn{self.connections}",
                daemon=True,
            )
            with self._lock:
                self._threads.add(t)
            t.start()

    def _serve(self, client: socket.socket, fault: Fault) -> None:
        upstream: socket.socket | None = None
        abort = False  # close the client with RST instead of FIN
        try:
            if fault.kind == "stall":
                self._fault_fired("stall")
                self._stall(client)
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=self.connect_timeout)
            except OSError:
                self._bump(upstream_errors=1)
                abort = True
                return
            # non-blocking: the select loop decides when to read and write; no Nagle: a
            # request written in two pieces (HTTP headers, then body) must not wait for a
            # delayed ACK at the proxy, or every call would gain 40 ms that is not a fault
            for sock in (client, upstream):
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            abort = self._relay(client, upstream, fault)
        except _Aborted:
            pass
        finally:
            if abort:
                _set_rst_on_close(client)
            _close(client)
            if upstream is not None:
                _close(upstream)
            with self._lock:
                self.active -= 1
                self._threads.discard(threading.current_thread())
                self._lock.notify_all()

    def _stall(self, client: socket.socket) -> None:
        """Hold the connection open, read and drop what the client sends, answer nothing."""
        assert self._wake_r is not None
        while True:
            ready, _, _ = select.select([client, self._wake_r], [], [])
            if self._wake_r in ready:
                return
            try:
                if not client.recv(_CHUNK):
                    return
            except OSError:
                return

    def _relay(self, client: socket.socket, upstream: socket.socket, fault: Fault) -> bool:
        """Relay until either side ends or the fault fires. Returns True to abort with RST."""
        assert self._wake_r is not None
        # (ready_at, bytes) from the upstream, waiting for delivery to the client
        pending: collections.deque[tuple[float, bytes]] = collections.deque()
        delivered = 0
        next_tick = 0.0  # trickle: when the next slice may go
        upstream_eof = False
        fired_slow = False
        while not self._stopping.is_set():
            now = time.monotonic()
            # 1. deliver what is due to the client
            if pending and pending[0][0] <= now and next_tick <= now:
                ready_at, data = pending[0]
                size = len(data)
                if fault.kind in ("reset", "cut"):
                    room = fault.after - delivered
                    if room <= 0:
                        # more is coming than the fault lets through: fire it
                        self._fault_fired(fault.kind)
                        return fault.kind == "reset"
                    size = min(size, room)
                elif fault.kind == "trickle":
                    size = min(size, fault.chunk)
                    next_tick = now + fault.interval
                try:
                    self._send_all(client, data[:size])
                except _Aborted:
                    return False
                delivered += size
                self._bump(bytes_down=size)
                if size == len(data):
                    pending.popleft()
                else:
                    pending[0] = (ready_at, data[size:])
                continue
            if upstream_eof and not pending:
                return False
            # 2. wait for input, or until the next delivery is due
            timeout: float | None = None
            if pending:
                timeout = max(0.0, max(pending[0][0], next_tick) - now)
            watch = [client, self._wake_r] + ([] if upstream_eof else [upstream])
            ready, _, _ = select.select(watch, [], [], timeout)
            if self._wake_r in ready:
                return False
            if client in ready:
                try:
                    data = client.recv(_CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    return False
                if not data:
                    return False  # the client hung up
                try:
                    self._send_all(upstream, data)
                except _Aborted:
                    return False
                self._bump(bytes_up=len(data))
            if upstream in ready and not upstream_eof:
                try:
                    data = upstream.recv(_CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if data:
                    if fault.kind in ("latency", "trickle") and not fired_slow:
                        # counted when the first answer is held back, whether or not the
                        # client is still there to receive it
                        fired_slow = True
                        self._fault_fired(fault.kind)
                    delay = fault.delay if fault.kind == "latency" else 0.0
                    pending.append((time.monotonic() + delay, data))
                else:
                    upstream_eof = True
        return False

    def _send_all(self, sock: socket.socket, data: bytes) -> None:
        """Send everything, but give up when the proxy stops or the peer is gone."""
        assert self._wake_r is not None
        view = memoryview(data)
        while view:
            _, writable, _ = select.select([self._wake_r], [sock], [], _SEND_SLICE)
            if self._stopping.is_set():
                raise _Aborted
            if not writable:
                continue
            try:
                sent = sock.send(view)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                raise _Aborted from exc
            view = view[sent:]


def _set_rst_on_close(sock: socket.socket) -> None:
    try:
        # l_onoff=1, l_linger=0: close() discards the send queue and sends RST
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass


def _close(sock: socket.socket) -> None:
    try:
        sock.close()
    except OSError:
        pass
