"""One base for the private servers tests start on 127.0.0.1 (Dovecot, PostgreSQL, PHP and
node SOAP services, popa3d).

A :class:`Server` owns a root directory (made directly under ``/tmp``: unix socket paths
must stay under 108 bytes, which a deep pytest ``tmp_path`` breaks), the child processes it
spawns there (each in its own session, its output captured in a log file under the root),
and any extra clean-up (threads, listeners). Starting follows one pattern:

    server = MyServer(private_dir("my"), ...)
    with server.starting():                    # on any failure: stop() and re-raise
        server.spawn([...], log="my.log")
        server.wait_until(greeting("127.0.0.1", port, b"+OK"), what="the greeting")
    return server

:meth:`Server.wait_until` polls a readiness probe (an open port is not readiness: probe
what a client needs, a greeting or an HTTP answer) and, between tries, waits on the main
process, so a server that dies at start fails at once with its log's tail, and one that
never gets ready fails after ``timeout`` seconds. Nothing here ever skips a test: a server
that cannot start raises :class:`ServerError` (or the subclass's ``error`` class).

:meth:`Server.stop` is idempotent and always safe to call: it signals each process
(``stop_signal``, to the whole process group by default), waits up to ``stop_timeout``
seconds, then SIGKILLs the group, runs the clean-ups in reverse order and removes the root.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar, NoReturn, ParamSpec, Self, TypeVar

__all__ = [
    "READY_TIMEOUT",
    "Server",
    "ServerError",
    "free_port",
    "greeting",
    "http_ok",
    "private_dir",
    "retry_port_clash",
]

#: How long a fresh server may take to become ready (seconds). Generous: the machine runs
#: several test sessions on two cores; a healthy start takes 0.03-2 s.
READY_TIMEOUT = 20.0
#: How long a process may take to exit after its stop signal before it is SIGKILLed.
STOP_TIMEOUT = 10.0
_POLL = 0.02


class ServerError(RuntimeError):
    """A private test server would not start or died; the message carries its log's tail."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


_P = ParamSpec("_P")
_T = TypeVar("_T")
_PORT_CLASH = re.compile(r"address already in use|EADDRINUSE", re.IGNORECASE)


def retry_port_clash(start: Callable[_P, _T]) -> Callable[_P, _T]:
    """Decorate a server's ``start``: when it fails because a port :func:`free_port` chose
    was taken before the server bound it (another test run on the machine got there first),
    start again with new ports, up to three times in all. Other failures raise at once."""

    @functools.wraps(start)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        for attempt in range(3):
            try:
                return start(*args, **kwargs)
            except ServerError as exc:
                if attempt == 2 or not _PORT_CLASH.search(str(exc)):
                    raise
        raise AssertionError("unreachable")

    return wrapper


def private_dir(prefix: str, mode: int = 0o755, *, parent: str = "/tmp") -> Path:
    """A new directory directly under ``parent`` (short paths), ``mode`` 0755 by default
    so servers that drop privileges can traverse it."""
    root = Path(tempfile.mkdtemp(prefix=f"dlrpoll-{prefix}-", dir=parent))
    root.chmod(mode)
    return root


def greeting(
    host: str,
    port: int,
    prefix: bytes,
    *,
    tls: ssl.SSLContext | None = None,
    server_hostname: str = "localhost",
) -> Callable[[], bool]:
    """A probe: connect (through ``tls`` if given), read one line, ready when it starts
    with ``prefix`` (``b"+OK"`` for POP3, ``b"* OK"`` for IMAP)."""

    def probe() -> bool:
        # a short timeout: whatever holds the port may never speak (the process that
        # should have bound it died: the next check notices)
        raw = socket.create_connection((host, port), timeout=1)
        with tls.wrap_socket(raw, server_hostname=server_hostname) if tls else raw as sock:
            with sock.makefile("rb") as reader:
                line = reader.readline()
        if line.startswith(prefix):
            return True
        raise ServerError(f"unexpected greeting {line!r} on port {port}")

    return probe


def http_ok(url: str, contains: bytes = b"") -> Callable[[], bool]:
    """A probe: ``GET url`` answers 200 and its body holds ``contains``."""

    def probe() -> bool:
        with urllib.request.urlopen(url, timeout=2) as resp:
            body = resp.read()
        if contains in body:
            return True
        raise ServerError(f"GET {url} answered without {contains!r}: {body[:200]!r}")

    return probe


@dataclass
class _Child:
    proc: subprocess.Popen[bytes]
    argv: Sequence[str]
    log: Path
    stop_signal: int
    signal_group: bool
    stop_timeout: float


class Server:
    """Base class of the private test servers: see the module's docstring."""

    #: raised by :meth:`fail` (and so by :meth:`wait_until`); subclasses narrow it
    error: ClassVar[type[ServerError]] = ServerError
    host = "127.0.0.1"

    def __init__(self, root: Path) -> None:
        self.root = root
        self._children: list[_Child] = []
        self._cleanups: list[Callable[[], None]] = []
        self._stopped = False

    # -- starting ---------------------------------------------------------------------------
    @contextmanager
    def starting(self) -> Iterator[Self]:
        """Wrap a start: any exception stops what was started and removes the root."""
        try:
            yield self
        except BaseException:
            self.stop()
            raise

    def spawn(
        self,
        argv: Sequence[str],
        *,
        log: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        user: str | int | None = None,
        group: str | int | None = None,
        stop_signal: int = signal.SIGTERM,
        signal_group: bool = True,
        stop_timeout: float = STOP_TIMEOUT,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in its own session with stdout and stderr going to ``root/log``.

        ``user``/``group`` run it as another account (we are root; PostgreSQL refuses to run
        as root). At :meth:`stop`, ``stop_signal`` goes to the process group (or only to the
        process when ``signal_group`` is false). Raises :attr:`error` if it cannot be
        executed at all."""
        path = self.root / log
        with open(path, "ab") as out:
            try:
                proc = subprocess.Popen(
                    list(argv),
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    cwd=cwd or self.root,
                    env=dict(env) if env is not None else None,
                    user=user,
                    group=group,
                    start_new_session=True,
                )
            except OSError as exc:
                raise self.error(f"cannot run {argv[0]}: {exc}") from exc
        self._children.append(
            _Child(proc, list(argv), path, stop_signal, signal_group, stop_timeout)
        )
        return proc

    def on_stop(self, cleanup: Callable[[], None]) -> None:
        """Run ``cleanup`` at :meth:`stop` (in reverse order of registration, after the
        processes have ended)."""
        self._cleanups.append(cleanup)

    def wait_until(
        self, probe: Callable[[], object], *, what: str, timeout: float = READY_TIMEOUT
    ) -> None:
        """Call ``probe`` until it returns a true value. ``OSError`` (refused, reset,
        timeout) and :class:`ServerError` from the probe mean "not yet". Raises
        :attr:`error` with the logs' tail when a spawned process exits or ``timeout``
        seconds pass."""
        deadline = time.monotonic() + timeout
        last: BaseException | None = None
        while True:
            self.check_alive()
            try:
                if probe():
                    return
            except (OSError, ServerError, urllib.error.URLError) as exc:
                last = exc
            if time.monotonic() > deadline:
                self.fail(f"not ready within {timeout:g} s: {what} (last: {last})")
            # waiting on the main process doubles as the pause between tries and notices
            # one that exits (a bad config) at once
            if self._children:
                try:
                    self._children[0].proc.wait(timeout=_POLL)
                except subprocess.TimeoutExpired:
                    pass
            else:
                threading.Event().wait(_POLL)

    def check_alive(self) -> None:
        """Raise :attr:`error` if a spawned process has exited."""
        for child in self._children:
            code = child.proc.poll()
            if code is not None:
                self.fail(f"{child.argv[0]} exited with status {code}")

    def fail(self, message: str) -> NoReturn:
        raise self.error(f"{type(self).__name__}: {message}\n--- logs ---\n{self.log_tail()}")

    # -- stopping ---------------------------------------------------------------------------
    def stop(self) -> None:
        """End every process, run the clean-ups, remove the root. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        try:
            for child in reversed(self._children):
                _end(child)
        finally:
            for cleanup in reversed(self._cleanups):
                cleanup()
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- observing --------------------------------------------------------------------------
    def log_files(self) -> list[Path]:
        """Log files to show when something fails: the spawned processes' by default."""
        return [c.log for c in self._children]

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of each log file, each under its name."""
        parts = []
        for path in dict.fromkeys(self.log_files()):
            try:
                text = path.read_text(errors="replace")
            except OSError:
                continue
            parts.append(f"[{path.name}]\n" + "\n".join(text.splitlines()[-lines:]))
        return "\n".join(parts) or "(no log output)"


def _end(child: _Child) -> None:
    proc = child.proc
    if proc.poll() is None:
        try:
            if child.signal_group:
                os.killpg(proc.pid, child.stop_signal)
            else:
                proc.send_signal(child.stop_signal)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=child.stop_timeout)
        except subprocess.TimeoutExpired:
            pass
    # whatever is left of its session (a master's children, a hung child) goes too
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if proc.poll() is None:
        proc.wait(timeout=STOP_TIMEOUT)
