"""The node ``soap`` event feed: it serves its WSDL, drains, peeks and acknowledges through
zeep, faults on bad credentials, records every exchange, and stops."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import zeep
import zeep.exceptions

import tests.support.node_soap as node_soap_module
from tests.support.node_soap import NodeSoap, NodeSoapError


def client(feed: NodeSoap) -> tuple[zeep.Client, dict[str, str]]:
    return zeep.Client(feed.wsdl_url), {"clientId": feed.client_id, "passphrase": feed.passphrase}


def test_wsdl_names_its_own_address(node_soap: NodeSoap) -> None:
    zc, _creds = client(node_soap)
    [service] = zc.wsdl.services.values()
    [port] = service.ports.values()
    assert port.binding_options["address"] == node_soap.url
    assert set(port.binding._operations) == {"DrainEvents", "PeekEvent", "AckEvent"}


def test_drain_marks_read_as_it_answers_in_batches(node_soap: NodeSoap) -> None:
    keys = node_soap.load([f"text {n}" for n in range(150)], sender="+15550199")
    zc, creds = client(node_soap)
    first = zc.service.DrainEvents(**creds, batchSize=500)  # capped at max_batch (100)
    assert (first.summary.delivered, first.summary.remaining) == (100, 50)
    assert [e.header.eventKey for e in first.events.event] == keys[:100]
    assert first.events.event[0].header.origin.msisdn == "+15550199"
    assert first.events.event[0].content.body == "text 0"
    assert node_soap.pending() == keys[100:] and node_soap.read() == keys[:100]
    second = zc.service.DrainEvents(**creds)
    assert len(second.events.event) == 50
    assert zc.service.DrainEvents(**creds).events is None  # zeep: an empty list is None
    assert node_soap.pending() == [] and set(node_soap.served().values()) == {1}


def test_peek_leaves_unread_until_acknowledged(node_soap: NodeSoap) -> None:
    keys = node_soap.load(["a", "b"])
    zc, creds = client(node_soap)
    for _ in range(2):
        peeked = zc.service.PeekEvent(**creds)
        assert (peeked.waiting, peeked.head.event.header.eventKey) == (2, keys[0])
    assert zc.service.AckEvent(**creds, eventKey=keys[0]) is True
    assert zc.service.AckEvent(**creds, eventKey=keys[0]) is True  # idempotent
    assert zc.service.AckEvent(**creds, eventKey="EV-nope") is False
    assert node_soap.pending() == [keys[1]] and node_soap.served() == {keys[0]: 2}
    assert node_soap.calls() == ["PeekEvent", "PeekEvent", "AckEvent", "AckEvent", "AckEvent"]
    [request, reply] = [node_soap.exchanges()[2].request, node_soap.exchanges()[2].reply]
    assert keys[0] in request and "acknowledged>true</" in reply


def test_bad_credentials_are_a_client_fault(node_soap: NodeSoap) -> None:
    node_soap.load(["kept"])
    zc, creds = client(node_soap)
    with pytest.raises(zeep.exceptions.Fault, match="Authentication failed") as info:
        zc.service.DrainEvents(clientId=creds["clientId"], passphrase="wrong")
    assert info.value.code == "soap:Client"
    assert len(node_soap.pending()) == 1


def test_soap12_envelopes(tmp_path: Path) -> None:
    with NodeSoap.start(soap12=True) as feed:
        feed.load(["twelve"])
        zc, creds = client(feed)
        reply = zc.service.DrainEvents(**creds)
        [exchange] = feed.exchanges()
    assert reply.events.event[0].content.body == "twelve"
    assert "http://www.w3.org/2003/05/soap-envelope" in exchange.reply


def test_stops_and_frees_its_port() -> None:
    feed = NodeSoap.start()
    port, root = feed.port, feed.root
    feed.stop()
    assert not root.exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_missing_install_fails_with_the_command_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(node_soap_module, "HERE", tmp_path)
    with pytest.raises(NodeSoapError, match="scripts/setup-node-soap"):
        NodeSoap.start()
