"""The base of the private test servers: start in a session, wait for readiness, fail loudly
with the log, always stop (the whole process group) and clean up."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.support.server import Server, ServerError, free_port, greeting, private_dir

# a one-connection-at-a-time greeter that also leaves a grandchild behind in its session
GREETER = """
import socket, subprocess, sys
port = int(sys.argv[1])
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("grandchild", child.pid, flush=True)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen()
while True:
    c, _ = s.accept(); c.sendall(b"+OK hello\\r\\n"); c.close()
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def test_starts_answers_and_stops_with_its_whole_session() -> None:
    port = free_port()
    server = Server(private_dir("base"))
    with server.starting():
        proc = server.spawn([sys.executable, "-c", GREETER, str(port)], log="greeter.log")
        server.wait_until(greeting("127.0.0.1", port, b"+OK"), what="greeting", timeout=10)
    assert greeting("127.0.0.1", port, b"+OK")()
    grandchild = int((server.root / "greeter.log").read_text().split()[1])
    assert os.getpgid(grandchild) == proc.pid  # its own session, grandchild included
    root = server.root

    server.stop()
    server.stop()  # idempotent

    assert proc.returncode == -signal.SIGTERM
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not _alive(grandchild)
    assert not root.exists()


def test_a_process_that_dies_fails_at_once_with_its_output() -> None:
    server = Server(private_dir("base"))
    started = time.monotonic()
    with pytest.raises(ServerError) as info, server.starting():
        server.spawn(
            [sys.executable, "-c", "import sys; print('bad config line 3'); sys.exit(3)"],
            log="dying.log",
        )
        server.wait_until(lambda: False, what="never", timeout=30)
    assert time.monotonic() - started < 10
    assert "exited with status 3" in str(info.value)
    assert "bad config line 3" in str(info.value)
    assert not server.root.exists()  # starting() stopped and cleaned up


def test_a_server_that_never_gets_ready_fails_after_the_timeout() -> None:
    server = Server(private_dir("base"))
    with (
        pytest.raises(ServerError, match=r"not ready within 0.3 s: the greeting"),
        server.starting(),
    ):
        server.spawn([sys.executable, "-c", "import time; time.sleep(60)"], log="idle.log")
        server.wait_until(greeting("127.0.0.1", free_port(), b"+OK"), what="the greeting",
                          timeout=0.3)  # fmt: skip
    assert server._children[0].proc.returncode is not None


def test_a_missing_program_is_a_server_error() -> None:
    with Server(private_dir("base")) as server:
        with pytest.raises(ServerError, match="cannot run /nonexistent/server"):
            server.spawn(["/nonexistent/server"], log="x.log")


def test_cleanups_run_after_the_processes_in_reverse_order() -> None:
    order: list[str] = []
    with Server(private_dir("base")) as server:
        server.on_stop(lambda: order.append("first registered"))
        server.on_stop(lambda: order.append("second registered"))
    assert order == ["second registered", "first registered"]
