"""An independent SOAP service for tests: PHP's SoapServer under ``php -S``, on 127.0.0.1.

It serves ``php_soap/relay.wsdl`` (names and nesting unlike the provider's SMS.asmx) from a
private copy of ``php_soap/`` with its own state directory, on a free port:

    with PhpRelay.start(account="acme", api_key="k") as relay:
        refs = relay.load(["id:1 ... stat:DELIVRD ..."])
        ...                    # point a source at relay.wsdl_url
        assert relay.pending() == 0

Readiness is a successful ``GET ?wsdl``, not an open port.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["PHP", "PhpRelay", "PhpRelayError"]

PHP = "/usr/bin/php"
HERE = Path(__file__).parent / "php_soap"
READY_TIMEOUT = 15.0
_ref_seq = itertools.count(1)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PhpRelayError(RuntimeError):
    """``php -S`` would not start or serve the WSDL; the message carries its output."""


class PhpRelay:
    """A running ``php -S 127.0.0.1:PORT -t DIR`` serving the relay."""

    def __init__(
        self, root: Path, port: int, proc: subprocess.Popen[bytes], log: IO[bytes]
    ) -> None:
        self.root = root
        self.port = port
        self.proc = proc
        self._log = log

    @classmethod
    def start(cls, *, account: str = "acme", api_key: str = "relay-key") -> PhpRelay:
        """Copy the service to a private directory and serve it; waits until ready."""
        root = Path(tempfile.mkdtemp(prefix="dlrpoll-php-"))
        for name in ("relay.php", "relay.wsdl"):
            shutil.copy(HERE / name, root / name)
        state = root / "state"
        (state / "queue").mkdir(parents=True)
        (state / "read").mkdir()
        (state / "creds.json").write_text(json.dumps({"account": account, "apiKey": api_key}))
        port = _free_port()
        log = open(root / "php.log", "wb")  # noqa: SIM115 - lives as long as the server
        proc = subprocess.Popen(
            [PHP, "-d", "soap.wsdl_cache_enabled=0", "-S", f"127.0.0.1:{port}", "-t", str(root)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        relay = cls(root, port, proc, log)
        try:
            relay._wait_ready()
        except BaseException:
            relay.stop()
            raise
        return relay

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.wsdl_url, timeout=2) as resp:
                    if b"definitions" in resp.read():
                        return
            except (urllib.error.URLError, ConnectionError) as exc:
                last = exc
            # between tries, wait on the child itself: returns at once if it dies
            try:
                self.proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                pass
        out = (self.root / "php.log").read_text(errors="replace")[-2000:]
        raise PhpRelayError(f"php -S did not serve the WSDL ({last}); its output:\n{out}")

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PhpRelay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/relay.php"

    @property
    def wsdl_url(self) -> str:
        return f"{self.url}?wsdl"

    def load(self, texts: Iterable[str], *, origin: str = "RELAY") -> list[str]:
        """Queue one receipt per text; returns their refs (sortable, so FIFO)."""
        refs: list[str] = []
        queue = self.root / "state" / "queue"
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for text in texts:
            ref = f"R{next(_ref_seq):08d}"
            tmp = queue / f".{ref}.tmp"
            tmp.write_text(json.dumps({"ref": ref, "origin": origin, "at": at, "text": text}))
            tmp.rename(queue / f"{ref}.json")
            refs.append(ref)
        return refs

    def pending(self) -> int:
        """Receipts not yet pulled or confirmed."""
        return len(list((self.root / "state" / "queue").glob("*.json")))

    def read_refs(self) -> set[str]:
        """Refs pulled or confirmed."""
        return {p.stem for p in (self.root / "state" / "read").glob("*.json")}
