"""A second independent SOAP service for tests: node's ``soap`` package, on 127.0.0.1.

``node_soap/server.js`` serves ``node_soap/events.wsdl``, an event feed whose names and
nesting are unlike both the provider's SMS.asmx and the PHP relay (see the WSDL's comment):

    with NodeSoap.start(client_id="feed", passphrase="p") as feed:
        keys = feed.load(["id:1 ... stat:DELIVRD ..."])
        ...                         # point a source at feed.wsdl_url
        assert feed.pending() == [] and feed.read() == keys
        feed.exchanges()            # what went over the wire: requests and replies

``DrainEvents`` marks what it returns read as it answers (destructive, at most
``max_batch`` events per call); ``PeekEvent`` shows the oldest unread event and
``AckEvent(eventKey)`` marks it read (two-phase). The TOML that reads it is
:data:`DESTRUCTIVE_TOML` / :data:`TWO_PHASE_TOML`.

The package comes from ``npm ci`` in ``node_soap/`` (``scripts/setup-node-soap``, run by
``scripts/test``), pinned by ``package-lock.json``; without it :meth:`NodeSoap.start` fails
saying so. Readiness is a served ``?wsdl``. Facts from the shared note
"independent-soap-node".
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from tests.support.server import (
    READY_TIMEOUT,
    Server,
    ServerError,
    free_port,
    http_ok,
    private_dir,
    retry_port_clash,
)

__all__ = ["DESTRUCTIVE_TOML", "TWO_PHASE_TOML", "Exchange", "NodeSoap", "NodeSoapError"]

NODE = shutil.which("node") or "/usr/bin/node"
HERE = Path(__file__).parent / "node_soap"
INSTALL_HINT = "run scripts/setup-node-soap (npm ci in tests/support/node_soap)"

#: the source settings (beside name/kind/wsdl) that read the feed destructively; the
#: passphrase comes from the environment variable DLRPOLL_TEST_NODE_PASSPHRASE
DESTRUCTIVE_TOML = """
operation = "DrainEvents"
args = {{ clientId = "{client_id}", passphrase = {{ env = "DLRPOLL_TEST_NODE_PASSPHRASE" }}, batchSize = {batch} }}
batch_limit = {batch}
items = "events.event"
fields = {{ remote_id = "header.eventKey", body = "content.body", sender = "header.origin.msisdn", received_at = "header.createdAt" }}
profile = "smpp"
"""  # noqa: E501
#: the same, two-phase: peek, journal, then acknowledge each event by its key
TWO_PHASE_TOML = """
mode = "two-phase"
operation = "DrainEvents"
peek_operation = "PeekEvent"
peek_items = "head.event"
ack_operation = "AckEvent"
ack_arg = "eventKey"
args = {{ clientId = "{client_id}", passphrase = {{ env = "DLRPOLL_TEST_NODE_PASSPHRASE" }} }}
items = "events.event"
fields = {{ remote_id = "header.eventKey", body = "content.body", sender = "header.origin.msisdn", received_at = "header.createdAt" }}
profile = "smpp"
"""  # noqa: E501


class NodeSoapError(ServerError):
    """The node service would not start or answer; the message carries its output."""


@dataclass(frozen=True)
class Exchange:
    """One request and what the service answered (``reply`` is empty for requests
    node-soap itself refused, whose error text is then in ``error``)."""

    operation: str
    request: str
    reply: str
    error: str = ""


def _operation(xml: str) -> str:
    """The local name of the SOAP Body's first element."""
    try:
        root = etree.fromstring(xml.encode(), etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError:
        return "?"
    for body in root:
        if etree.QName(body).localname == "Body" and len(body):
            return str(etree.QName(body[0]).localname)
    return "?"


class NodeSoap(Server):
    """A running ``node server.js``; see the module docstring."""

    error = NodeSoapError

    def __init__(self, root: Path, port: int, client_id: str, passphrase: str) -> None:
        super().__init__(root)
        self.port = port
        self.client_id = client_id
        self.passphrase = passphrase

    @classmethod
    @retry_port_clash
    def start(
        cls,
        *,
        client_id: str = "feed-client",
        passphrase: str = "feed-passphrase",
        max_batch: int = 100,
        soap12: bool = False,
        timeout: float = READY_TIMEOUT,
    ) -> NodeSoap:
        """Start the service on a free port (about 0.2 s); raises :class:`NodeSoapError`."""
        if not os.path.exists(NODE):
            raise NodeSoapError(
                f"node is missing: run scripts/setup-system as root; {INSTALL_HINT}"
            )
        if not (HERE / "node_modules" / "soap" / "package.json").exists():
            raise NodeSoapError(f"the npm package soap is not installed: {INSTALL_HINT}")
        service = cls(private_dir("node"), free_port(), client_id, passphrase)
        with service.starting():
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PORT": str(service.port),
                "CLIENT_ID": client_id,
                "PASSPHRASE": passphrase,
                "MAX_BATCH": str(max_batch),
                "SOAP12": "1" if soap12 else "0",
            }
            service.spawn([NODE, str(HERE / "server.js")], log="node.log", env=env, cwd=HERE)
            service.wait_until(
                http_ok(service.wsdl_url, b"EventFeed"), what="GET ?wsdl", timeout=timeout
            )
        return service

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    @property
    def wsdl_url(self) -> str:
        return f"{self.url}?wsdl"

    def toml(self, mode: str = "destructive", *, batch: int = 100) -> str:
        """The source settings that read this service in ``mode`` (see the constants)."""
        template = TWO_PHASE_TOML if mode == "two-phase" else DESTRUCTIVE_TOML
        return template.format(client_id=self.client_id, batch=batch)

    # -- the test's side --------------------------------------------------------------------
    def _control(self, path: str, payload: object | None = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/control/{path}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            return json.loads(resp.read())

    def load(
        self,
        texts: Iterable[str],
        *,
        sender: str = "+15550100",
        created_at: str | None = None,
    ) -> list[str]:
        """Queue one event per text (oldest first); returns their keys, ``EV-0000001`` on."""
        events = [
            {"text": t, "sender": sender, **({"createdAt": created_at} if created_at else {})}
            for t in texts
        ]
        keys: list[str] = self._control("load", {"events": events})["keys"]
        return keys

    def pending(self) -> list[str]:
        """Keys of the events not yet read, oldest first."""
        keys: list[str] = self._control("state")["pending"]
        return keys

    def read(self) -> list[str]:
        """Keys of the events read (drained or acknowledged), in the order they were read."""
        keys: list[str] = self._control("state")["read"]
        return keys

    def served(self) -> dict[str, int]:
        """How many replies carried each event (a peek counts, an acknowledgement not)."""
        counts: dict[str, int] = self._control("state")["served"]
        return counts

    def exchanges(self) -> list[Exchange]:
        """Every request so far with its reply, in order."""
        out: list[Exchange] = []
        pending: str | None = None
        for entry in self._control("exchanges"):
            if entry["type"] == "received":
                if pending is not None:
                    out.append(Exchange(_operation(pending), pending, ""))
                pending = entry["xml"]
            elif entry["type"] == "replied":
                request = pending or ""
                out.append(Exchange(_operation(request), request, entry["xml"]))
                pending = None
            else:  # node-soap failed on the request
                request = pending or ""
                out.append(Exchange(_operation(request), request, "", entry["xml"]))
                pending = None
        if pending is not None:
            out.append(Exchange(_operation(pending), pending, ""))
        return out

    def calls(self) -> list[str]:
        """The operations called so far, in order."""
        return [e.operation for e in self.exchanges()]
