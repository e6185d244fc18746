"""An independent SOAP service for tests: PHP's SoapServer under ``php -S``, on 127.0.0.1.

It serves ``php_soap/relay.wsdl`` (names and nesting unlike the provider's SMS.asmx) from a
private copy of ``php_soap/`` with its own state directory, on a free port; with
``rpc=True`` the same queue as an rpc/encoded service (``relay_rpc.wsdl``: a SOAP-encoded
array of ``Receipt`` structs, the SOAP-encoding schema imported by its URL):

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
import subprocess
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from tests.support.server import (
    READY_TIMEOUT,
    Server,
    ServerError,
    free_port,
    http_ok,
    private_dir,
    retry_port_clash,
)

__all__ = ["PHP", "PhpRelay", "PhpRelayError"]

PHP = "/usr/bin/php"
HERE = Path(__file__).parent / "php_soap"
_ref_seq = itertools.count(1)


class PhpRelayError(ServerError):
    """``php -S`` would not start or serve the WSDL; the message carries its output."""


class PhpRelay(Server):
    """A running ``php -S 127.0.0.1:PORT -t DIR`` serving the relay."""

    error = PhpRelayError

    def __init__(self, root: Path, port: int, script: str = "relay") -> None:
        super().__init__(root)
        self.port = port
        self.script = script  # relay (document/literal) or relay_rpc (rpc/encoded)

    @classmethod
    @retry_port_clash
    def start(
        cls, *, account: str = "acme", api_key: str = "relay-key", rpc: bool = False
    ) -> PhpRelay:
        """Copy the service to a private directory and serve it; waits until ready.
        Raises :class:`PhpRelayError` with php's output if it does not serve the WSDL."""
        if not os.path.exists(PHP):
            raise PhpRelayError(
                f"{PHP} is missing: run scripts/setup-system as root, or "
                "apt-get install --no-install-recommends php-cli php-soap"
            )
        relay = cls(private_dir("php"), free_port(), "relay_rpc" if rpc else "relay")
        with relay.starting():
            root = relay.root
            for name in ("relay_lib.php", f"{relay.script}.php", f"{relay.script}.wsdl"):
                shutil.copy(HERE / name, root / name)
            state = root / "state"
            (state / "queue").mkdir(parents=True)
            (state / "read").mkdir()
            (state / "creds.json").write_text(json.dumps({"account": account, "apiKey": api_key}))
            relay.spawn(
                [PHP, "-d", "soap.wsdl_cache_enabled=0", "-S", f"127.0.0.1:{relay.port}",
                 "-t", str(root)],
                log="php.log",
            )  # fmt: skip
            relay.wait_until(
                http_ok(relay.wsdl_url, b"definitions"), what="GET ?wsdl", timeout=READY_TIMEOUT
            )
        return relay

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        """The ``php -S`` process."""
        return self._children[0].proc

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.script}.php"

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
