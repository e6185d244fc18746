"""PHP's SoapServer in rpc/encoded mode, for real (issue 11, behaviour 3): its WSDL imports
the SOAP-encoding and WSDL schemas by their URLs, as NuSOAP writes it, and loads with the
copies dlrpoll ships; its answers are ``SOAP-ENC:Array``s of ``Receipt`` structs (``item``
members with ``xsi:type``), and a poll in either mode stores every receipt once."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from dlrpoll.sources.soap import chosen_port, transport
from tests.soap.conftest import RELAY_ACCOUNT, RELAY_KEY, relay_toml, smpp
from tests.support.php_soap import PhpRelay

N = 7
ARGS = 'args = { account = "acme", apiKey = { env = "DLRPOLL_TEST_RELAY_KEY" }, limit = 3 }'
FIELDS = 'fields = { remote_id = "ref", body = "text", sender = "origin", received_at = "at" }'
DESTRUCTIVE = f"""
operation = "pullReceipts"
{ARGS}
batch_limit = 3
items = ""
{FIELDS}
profile = "smpp"
"""
TWO_PHASE = f"""
mode = "two-phase"
operation = "pullReceipts"
peek_operation = "peekReceipt"
peek_items = ""
ack_operation = "confirmReceipt"
ack_arg = "ref"
{ARGS}
items = ""
{FIELDS}
profile = "smpp"
"""
SCHEMAS = ("http://schemas.xmlsoap.org/soap/encoding/", "http://schemas.xmlsoap.org/wsdl/")


@pytest.fixture
def rpc_relay() -> Iterator[PhpRelay]:
    with PhpRelay.start(account=RELAY_ACCOUNT, api_key=RELAY_KEY, rpc=True) as server:
        yield server


def test_the_rpc_wsdl_loads_with_the_shipped_standard_schemas(
    rpc_relay: PhpRelay, deploy: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with urllib.request.urlopen(rpc_relay.wsdl_url, timeout=10) as resp:
        served = resp.read().decode()
    for url in SCHEMAS:
        assert f'schemaLocation="{url}"' in served
    assert 'style="rpc"' in served and 'use="encoded"' in served

    shipped: list[str] = []
    real = transport.standard_schema

    def spy(url: str) -> bytes | None:
        found = real(url)
        if found is not None:
            shipped.append(url)
        return found

    monkeypatch.setattr(transport, "standard_schema", spy)
    dep = deploy(relay_toml(rpc_relay, DESTRUCTIVE))
    choice = chosen_port(dep.config, dep.cfg)
    assert (choice.service, choice.port, choice.protocol) == (
        "ReceiptRelayRpc",
        "RelayRpcPort",
        "SOAP 1.1",
    )
    assert set(SCHEMAS) <= set(shipped)


@pytest.mark.parametrize("mode", ["destructive", "two-phase"])
def test_an_rpc_encoded_poll_stores_every_receipt_once(
    mode: str, rpc_relay: PhpRelay, deploy: Any
) -> None:
    refs = rpc_relay.load(smpp(n) for n in range(N))
    dep = deploy(relay_toml(rpc_relay, DESTRUCTIVE if mode == "destructive" else TWO_PHASE))

    result = dep.poll()

    assert (result.outcome, result.fetched, result.stored) == ("ok", N, N), result.error
    assert rpc_relay.pending() == 0 and rpc_relay.read_refs() == set(refs)
    rows = dep.query(
        "SELECT remote_id, sender, received_at FROM raw_messages WHERE format = 'text' ORDER BY id"
    )
    assert [r[0] for r in rows] == refs
    assert {r[1] for r in rows} == {"RELAY"} and all(r[2] for r in rows)
    assert sorted(dep.message_ids()) == [f"M{n:07d}" for n in range(N)]
    envelopes = [bytes(r[1]) for r in dep.journal("soap-envelope")]
    if mode == "destructive":
        # 3, 3, 1: SOAP-encoded arrays of Receipt structs
        assert len(envelopes) == 3
        assert b'SOAP-ENC:arrayType="ns2:Receipt[3]"' in envelopes[0]
        assert b'<item xsi:type="ns2:Receipt">' in envelopes[0]
    else:
        assert len(envelopes) == N  # one peek per receipt; the last peek's nil is empty
    assert dep.query("SELECT count(*) FROM raw_messages WHERE parse_error IS NOT NULL") == [(0,)]

    again = dep.poll()  # an empty array, or a nil peek: recognisably empty
    assert (again.outcome, again.fetched, again.stored) == ("ok", 0, 0), again.error
    assert len(dep.message_ids()) == N


def test_an_rpc_fault_for_bad_credentials_marks_nothing(rpc_relay: PhpRelay, deploy: Any) -> None:
    refs = rpc_relay.load(smpp(n) for n in range(2))
    wrong = DESTRUCTIVE.replace('account = "acme"', 'account = "someone-else"')
    result = deploy(relay_toml(rpc_relay, wrong)).poll()
    assert result.outcome == "error"
    assert "unknown account or wrong apiKey" in (result.error or "")
    assert rpc_relay.pending() == len(refs)
