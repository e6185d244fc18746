"""The fault proxy itself, against a tiny loopback line server: every mode is observable
from a raw socket client, with socket timeouts instead of sleeps."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.faultproxy import Fault, FaultProxy

GREETING = b"+OK ready\r\n"


class _LineHandler(socketserver.StreamRequestHandler):
    """Greets, then answers ``ECHO text`` with the text and ``BIG n`` with n bytes."""

    server: _LineServer

    def handle(self) -> None:
        with self.server.lock:
            self.server.accepted += 1
        self.wfile.write(GREETING)
        for line in self.rfile:
            word, _, arg = line.strip().partition(b" ")
            if word == b"BIG":
                self.wfile.write(b"x" * int(arg) + b"\r\n")
            elif word == b"QUIT":
                self.wfile.write(b"+OK bye\r\n")
                return
            else:
                self.wfile.write(arg + b"\r\n")


class _LineServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LineHandler)
        self.lock = threading.Lock()
        self.accepted = 0


@pytest.fixture
def line_server() -> Iterator[_LineServer]:
    server = _LineServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def proxy(line_server: _LineServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", line_server.server_address[1]) as p:
        yield p


def _connect(proxy: FaultProxy, timeout: float = 2.0) -> socket.socket:
    return socket.create_connection(proxy.address, timeout=timeout)


def _read_until(sock: socket.socket, end: bytes) -> bytes:
    data = b""
    while not data.endswith(end):
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _read_to_close(sock: socket.socket) -> tuple[bytes, BaseException | None]:
    """Everything the peer sent before it closed, and the error the close raised (if any)."""
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except OSError as exc:
        return data, exc
    return data, None


def test_passthrough_relays_both_ways(proxy: FaultProxy, line_server: _LineServer) -> None:
    with _connect(proxy) as c:
        assert _read_until(c, b"\r\n") == GREETING
        c.sendall(b"ECHO hello\r\n")
        assert _read_until(c, b"\r\n") == b"hello\r\n"
        c.sendall(b"BIG 100000\r\n")
        assert len(_read_until(c, b"\r\n")) == 100002
    assert proxy.wait_for(lambda p: p.active == 0, 2)
    assert proxy.connections == 1
    assert proxy.faults == 0
    assert line_server.accepted == 1
    assert proxy.bytes_down == len(GREETING) + 7 + 100002


def test_latency_holds_each_answer(proxy: FaultProxy) -> None:
    proxy.latency(0.3)
    with _connect(proxy) as c:
        started = time.monotonic()
        assert _read_until(c, b"\r\n") == GREETING
        c.sendall(b"ECHO late\r\n")
        assert _read_until(c, b"\r\n") == b"late\r\n"
        elapsed = time.monotonic() - started
    # two answers, each held at least 0.3 s
    assert elapsed >= 0.6
    assert proxy.faults_by_kind["latency"] == 1


def test_stall_accepts_and_never_answers(proxy: FaultProxy, line_server: _LineServer) -> None:
    proxy.stall()
    with _connect(proxy, timeout=0.3) as c:
        c.sendall(b"ECHO anyone\r\n")
        with pytest.raises(TimeoutError):
            c.recv(1)
        assert proxy.active == 1
        assert proxy.faults_by_kind["stall"] == 1
        # stop() ends even a stalled connection promptly; the client then sees the close
        proxy.stop(timeout=2)
        c.settimeout(2)
        data, _err = _read_to_close(c)
        assert data == b""
    assert line_server.accepted == 0  # the upstream never heard of it


def test_reset_after_n_bytes_sends_rst(proxy: FaultProxy) -> None:
    proxy.reset_after(5)
    with _connect(proxy) as c:
        data, err = _read_to_close(c)
    assert data == GREETING[:5]
    assert isinstance(err, ConnectionResetError)
    assert proxy.faults_by_kind["reset"] == 1


def test_reset_in_the_middle_of_a_large_response(proxy: FaultProxy) -> None:
    proxy.reset_after(len(GREETING) + 50_000)
    with _connect(proxy) as c:
        assert _read_until(c, b"\r\n") == GREETING
        c.sendall(b"BIG 200000\r\n")
        data, err = _read_to_close(c)
    assert len(data) == 50_000
    assert isinstance(err, ConnectionResetError)


def test_cut_after_n_bytes_closes_cleanly(proxy: FaultProxy) -> None:
    proxy.cut_after(5)
    with _connect(proxy) as c:
        data, err = _read_to_close(c)
    assert (data, err) == (GREETING[:5], None)
    assert proxy.faults_by_kind["cut"] == 1


def test_reset_does_not_fire_when_the_exchange_is_shorter(proxy: FaultProxy) -> None:
    proxy.reset_after(10_000)
    with _connect(proxy) as c:
        assert _read_until(c, b"\r\n") == GREETING
        c.sendall(b"QUIT\r\n")
        data, err = _read_to_close(c)
    assert (data, err) == (b"+OK bye\r\n", None)
    assert proxy.faults == 0


def test_trickle_defeats_a_per_read_timeout(proxy: FaultProxy) -> None:
    # 2 bytes every 50 ms: each recv returns well within its 1 s timeout, yet the whole
    # greeting takes at least 5 intervals; only an overall deadline bounds a trickle
    proxy.trickle(2, 0.05)
    with _connect(proxy, timeout=1.0) as c:
        started = time.monotonic()
        chunks = []
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = c.recv(4096)
            assert chunk
            chunks.append(chunk)
            data += chunk
        elapsed = time.monotonic() - started
    assert data == GREETING
    assert elapsed >= 0.25
    assert max(len(ch) for ch in chunks) <= 2 * len(chunks)  # never more than was released
    assert len(chunks) >= 2
    assert proxy.faults_by_kind["trickle"] == 1


def test_times_limits_a_fault_to_the_next_connections(proxy: FaultProxy) -> None:
    proxy.cut_after(0, times=1)
    with _connect(proxy) as c:
        assert _read_to_close(c) == (b"", None)
    with _connect(proxy) as c:
        assert _read_until(c, b"\r\n") == GREETING
    assert proxy.fault == Fault.passthrough()
    assert (proxy.connections, proxy.faults) == (2, 1)


def test_switching_modes_leaves_connections_in_flight_alone(proxy: FaultProxy) -> None:
    with _connect(proxy) as first:
        assert _read_until(first, b"\r\n") == GREETING
        proxy.cut_after(0)
        with _connect(proxy) as second:
            assert _read_to_close(second) == (b"", None)
        first.sendall(b"ECHO still here\r\n")
        assert _read_until(first, b"\r\n") == b"still here\r\n"


def test_unreachable_upstream_is_refused_and_counted() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    with FaultProxy("127.0.0.1", port, connect_timeout=1) as p:
        # the RST may come before connect() returns (a loaded machine) or at the first read
        with pytest.raises(ConnectionResetError):
            with _connect(p) as c:
                data, err = _read_to_close(c)
                assert data == b""
                if err is not None:
                    raise err
        assert p.wait_for(lambda q: q.upstream_errors == 1, 2)


def test_stop_is_prompt_with_slow_connections_open(proxy: FaultProxy) -> None:
    proxy.trickle(1, 10.0)
    with _connect(proxy) as c:
        assert c.recv(10) == b"+"
        started = time.monotonic()
        proxy.stop(timeout=3)
        assert time.monotonic() - started < 3
        c.settimeout(2)
        _data, _err = _read_to_close(c)
    assert proxy.active == 0


def test_only_loopback_upstreams() -> None:
    with pytest.raises(ValueError, match="loopback"):
        FaultProxy("192.0.2.1", 110)
