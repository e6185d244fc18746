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

Switches of :meth:`NodeSoap.start` (see ``server.js``): which ports the WSDL lists (SOAP 1.1
at ``/events``, SOAP 1.2 at ``/events12``, or both, 1.2 first); an unqualified schema
(node-soap then writes the reply's children in no namespace); how an empty reply is
written; HTTP Basic credentials and an ``X-Api-Key`` the server requires.

The package comes from ``npm ci`` in ``node_soap/`` (``scripts/setup-node-soap``, run by
``scripts/test``), pinned by ``package-lock.json``; without it :meth:`NodeSoap.start` fails
saying so. Readiness is a served ``?wsdl``. Facts from the shared note
"independent-soap-node".
"""

from __future__ import annotations

import base64
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
    path: str = ""  # the request's path: /events (SOAP 1.1) or /events12 (SOAP 1.2)


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

    def __init__(
        self, root: Path, port: int, client_id: str, passphrase: str, ports: str = "11"
    ) -> None:
        super().__init__(root)
        self.port = port
        self.client_id = client_id
        self.passphrase = passphrase
        self.ports = ports
        self.headers: dict[str, str] = {}  # what the test's own GETs of the WSDL send

    @classmethod
    @retry_port_clash
    def start(
        cls,
        *,
        client_id: str = "feed-client",
        passphrase: str = "feed-passphrase",
        max_batch: int = 100,
        soap12: bool = False,
        ports: str | None = None,
        qualified: bool = True,
        empty_as: str = "list",
        basic: tuple[str, str] | None = None,
        api_key: str | None = None,
        timeout: float = READY_TIMEOUT,
    ) -> NodeSoap:
        """Start the service on a free port (about 0.2 s); raises :class:`NodeSoapError`.
        ``ports``: the WSDL's ports in order, ``"11"``, ``"12"`` or ``"12,11"`` (``soap12``
        is ``ports="12"``); ``qualified=False`` leaves ``elementFormDefault`` out;
        ``empty_as``: ``"list"``, ``"absent"`` or ``"nil"``; ``basic`` (user, password) and
        ``api_key`` are required of every request but the test's ``/control``."""
        if not os.path.exists(NODE):
            raise NodeSoapError(
                f"node is missing: run scripts/setup-system as root; {INSTALL_HINT}"
            )
        if not (HERE / "node_modules" / "soap" / "package.json").exists():
            raise NodeSoapError(f"the npm package soap is not installed: {INSTALL_HINT}")
        ports = ports or ("12" if soap12 else "11")
        service = cls(private_dir("node"), free_port(), client_id, passphrase, ports)
        with service.starting():
            env = {
                "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                "PORT": str(service.port),
                "CLIENT_ID": client_id,
                "PASSPHRASE": passphrase,
                "MAX_BATCH": str(max_batch),
                "PORTS": ports,
                "QUALIFIED": "1" if qualified else "0",
                "EMPTY_AS": empty_as,
            }
            if basic is not None:
                env["BASIC_USER"], env["BASIC_PASSWORD"] = basic
                token = base64.b64encode(":".join(basic).encode()).decode()
                service.headers["Authorization"] = f"Basic {token}"
            if api_key is not None:
                env["API_KEY"] = service.headers["X-Api-Key"] = api_key
            service.spawn([NODE, str(HERE / "server.js")], log="node.log", env=env, cwd=HERE)
            service.wait_until(service._wsdl_served, what="GET ?wsdl", timeout=timeout)
        return service

    def _wsdl_served(self) -> bool:
        request = urllib.request.Request(self.wsdl_url, headers=self.headers)
        with urllib.request.urlopen(request, timeout=2) as resp:
            body = resp.read()
        if b"EventFeed" in body:
            return True
        raise NodeSoapError(f"GET {self.wsdl_url} answered without EventFeed: {body[:200]!r}")

    def wsdl_text(self) -> str:
        """The WSDL as the service serves it (for a test's local copy)."""
        request = urllib.request.Request(self.wsdl_url, headers=self.headers)
        with urllib.request.urlopen(request, timeout=10) as resp:
            return str(resp.read().decode("utf-8"))

    @property
    def url(self) -> str:
        """The SOAP 1.1 port's address (also where the WSDL is served)."""
        return f"http://127.0.0.1:{self.port}/events"

    @property
    def url12(self) -> str:
        """The SOAP 1.2 port's address."""
        return f"http://127.0.0.1:{self.port}/events12"

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

    def rejected(self) -> int:
        """Requests refused for their HTTP credentials (Basic, X-Api-Key)."""
        return int(self._control("state")["rejected"])

    def exchanges(self) -> list[Exchange]:
        """Every request so far with its reply, in order."""
        out: list[Exchange] = []
        pending: tuple[str, str] | None = None  # (request, path)
        for entry in self._control("exchanges"):
            path = str(entry.get("path", "")).partition("?")[0]
            if entry["type"] == "received":
                if pending is not None:
                    out.append(Exchange(_operation(pending[0]), pending[0], "", path=pending[1]))
                pending = (entry["xml"], path)
            elif entry["type"] == "replied":
                request = pending[0] if pending else ""
                out.append(Exchange(_operation(request), request, entry["xml"], path=path))
                pending = None
            else:  # node-soap failed on the request
                request = pending[0] if pending else ""
                out.append(Exchange(_operation(request), request, "", entry["xml"], path))
                pending = None
        if pending is not None:
            out.append(Exchange(_operation(pending[0]), pending[0], "", path=pending[1]))
        return out

    def calls(self) -> list[str]:
        """The operations called so far, in order."""
        return [e.operation for e in self.exchanges()]
